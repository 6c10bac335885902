//! Wills: a wizard of JSON sections, a status machine, versions and payment state.
//! Every status change goes through [`transition`]; nothing else sets a status.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The wizard's sections, in order.
pub const SECTIONS: [&str; 7] = ["personal", "family", "executors", "guardians", "gifts", "residuary", "funeral"];
/// Steps after the sections that `current_section` may also point at.
pub const NAVIGATION_STEPS: [&str; 4] = ["review", "verification", "document", "payment"];
/// Largest section, as JSON: seven of them stay far below DynamoDB's 400 KB item.
pub const MAX_SECTION_BYTES: usize = 32 * 1024;
/// The price of a will, in cents (computed here, never taken from a client).
pub const WILL_PRICE_CENTS: i64 = 9_900;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WillStatus {
    Draft,
    Review,
    Verified,
    Generated,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Will {
    pub id: String,
    pub user_id: String,
    pub sections: BTreeMap<String, Value>,
    pub status: WillStatus,
    pub version: u32,
    pub current_section: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<DateTime<Utc>>,
    /// The latest completed payment (an order id); download tokens are bound to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_payment_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What happens to a will.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WillEvent {
    /// A section was saved; `complete` says whether all sections are now complete.
    EditSection {
        complete: bool,
    },
    Verify,
    Pay,
    Regenerate,
}

#[derive(Debug, PartialEq, Eq)]
pub enum WillPaymentOutcome {
    Recorded,
    /// This order's payment was applied before (a redelivery).
    AlreadyRecorded,
    /// The will was paid through another order: this payment is to be refunded.
    PaidByAnotherOrder,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TransitionError {
    /// Verification needs every section complete.
    Incomplete,
    /// Paying or regenerating needs a verified will.
    NotVerified,
}

/// The status machine: draft → review → verified → generated; an edit after
/// verification or generation goes back to review (or draft if now incomplete).
pub fn transition(status: WillStatus, event: WillEvent, complete: bool) -> Result<WillStatus, TransitionError> {
    use WillStatus::*;
    match (status, event) {
        (_, WillEvent::EditSection { complete: true }) => Ok(Review),
        (_, WillEvent::EditSection { complete: false }) => Ok(Draft),
        (Draft | Review | Verified, WillEvent::Verify) if complete => Ok(Verified),
        (Draft | Review | Verified, WillEvent::Verify) => Err(TransitionError::Incomplete),
        (Generated, WillEvent::Verify) => Ok(Generated),
        (Verified, WillEvent::Pay | WillEvent::Regenerate) => Ok(Generated),
        (_, WillEvent::Pay | WillEvent::Regenerate) => Err(TransitionError::NotVerified),
    }
}

impl Will {
    pub fn new(id: String, user_id: &str, now: DateTime<Utc>) -> Self {
        Will {
            id,
            user_id: user_id.to_owned(),
            sections: BTreeMap::new(),
            status: WillStatus::Draft,
            version: 1,
            current_section: "personal".to_owned(),
            paid_at: None,
            latest_payment_id: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Complete = every section saved (derived, never stored from a client). A section
    /// is validated when it is saved, so a saved one is valid.
    pub fn sections_complete(&self) -> bool {
        self.missing_sections().is_empty()
    }

    pub fn missing_sections(&self) -> Vec<&'static str> {
        SECTIONS.into_iter().filter(|name| !self.sections.contains_key(*name)).collect()
    }

    /// Applies the completed payment of order `order_id`: paid now, and generated if
    /// verified (a will edited since checkout waits for re-verification and
    /// regeneration). A will is paid for once: another order's payment is refused.
    pub fn pay(&mut self, order_id: &str, now: DateTime<Utc>) -> WillPaymentOutcome {
        match (&self.latest_payment_id, self.paid_at) {
            (Some(id), _) if id == order_id => return WillPaymentOutcome::AlreadyRecorded,
            (_, Some(_)) => return WillPaymentOutcome::PaidByAnotherOrder,
            _ => {}
        }
        self.paid_at = Some(now);
        self.latest_payment_id = Some(order_id.to_owned());
        self.status = transition(self.status, WillEvent::Pay, true).unwrap_or(self.status);
        self.updated_at = now.max(self.updated_at + chrono::Duration::microseconds(1));
        WillPaymentOutcome::Recorded
    }

    /// The testator's name, for the document.
    pub fn testator_name(&self) -> Option<&str> {
        self.sections.get("personal")?.get("full_name")?.as_str()
    }
}

pub fn is_section(name: &str) -> bool {
    SECTIONS.contains(&name)
}

pub fn is_valid_current_section(name: &str) -> bool {
    is_section(name) || NAVIGATION_STEPS.contains(&name)
}

type FieldErrors = Vec<(String, String)>;

fn non_empty_text(section: &Value, field: &str, errors: &mut FieldErrors) {
    match section.get(field).and_then(Value::as_str).map(str::trim) {
        Some(text) if !text.is_empty() && text.chars().count() <= 500 => {}
        Some(text) if !text.is_empty() => errors.push((field.into(), "must be at most 500 characters".into())),
        _ => errors.push((field.into(), "is required".into())),
    }
}

/// Each person in a list needs a `full_name`; `min` people at least.
fn people(section: &Value, field: &str, min: usize, errors: &mut FieldErrors) {
    match section.get(field).and_then(Value::as_array) {
        Some(list) if list.len() >= min && list.len() <= 50 => {
            for (i, person) in list.iter().enumerate() {
                let mut inner = Vec::new();
                non_empty_text(person, "full_name", &mut inner);
                errors.extend(inner.into_iter().map(|(f, m)| (format!("{field}[{i}].{f}"), m)));
            }
        }
        Some(_) if min > 0 => errors.push((field.into(), format!("must list at least {min} and at most 50"))),
        Some(_) => errors.push((field.into(), "must list at most 50".into())),
        None => errors.push((field.into(), "must be a list".into())),
    }
}

/// The required fields of each section.
pub fn validate_section(name: &str, section: &Value, today: NaiveDate) -> Result<(), FieldErrors> {
    let mut errors = Vec::new();
    if !section.is_object() {
        return Err(vec![("section".into(), "must be a JSON object".into())]);
    }
    match name {
        "personal" => {
            non_empty_text(section, "full_name", &mut errors);
            non_empty_text(section, "address", &mut errors);
            let dob = section.get("date_of_birth").and_then(Value::as_str).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
            if dob.is_none_or(|d| d >= today) {
                errors.push(("date_of_birth".into(), "must be a past date as YYYY-MM-DD".into()));
            }
        }
        "family" => {
            const STATUSES: [&str; 5] = ["single", "married", "civil_partnership", "divorced", "widowed"];
            if !section.get("marital_status").and_then(Value::as_str).is_some_and(|s| STATUSES.contains(&s)) {
                errors.push(("marital_status".into(), format!("must be one of {}", STATUSES.join(", "))));
            }
            if section.get("children").is_some() {
                people(section, "children", 0, &mut errors);
            }
        }
        "executors" => people(section, "executors", 1, &mut errors),
        "guardians" => people(section, "guardians", 0, &mut errors),
        "gifts" => {
            if !section.get("gifts").is_some_and(Value::is_array) {
                errors.push(("gifts".into(), "must be a list".into()));
            }
        }
        "residuary" => people(section, "beneficiaries", 1, &mut errors),
        "funeral" => {
            if section.get("wishes").is_some_and(|w| !w.is_string()) {
                errors.push(("wishes".into(), "must be text".into()));
            }
        }
        _ => errors.push(("section".into(), "unknown section".into())),
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock
mod tests {
    use serde_json::json;

    use super::WillStatus::*;
    use super::*;

    #[test]
    fn every_allowed_transition() {
        let edit = |complete| WillEvent::EditSection { complete };
        for from in [Draft, Review, Verified, Generated] {
            assert_eq!(transition(from, edit(true), true), Ok(Review), "{from:?}");
            assert_eq!(transition(from, edit(false), false), Ok(Draft), "{from:?}");
        }
        assert_eq!(transition(Draft, WillEvent::Verify, true), Ok(Verified));
        assert_eq!(transition(Review, WillEvent::Verify, true), Ok(Verified));
        assert_eq!(transition(Verified, WillEvent::Verify, true), Ok(Verified));
        assert_eq!(transition(Generated, WillEvent::Verify, true), Ok(Generated));
        assert_eq!(transition(Verified, WillEvent::Pay, true), Ok(Generated));
        assert_eq!(transition(Verified, WillEvent::Regenerate, true), Ok(Generated));
    }

    #[test]
    fn every_refused_transition() {
        assert_eq!(transition(Draft, WillEvent::Verify, false), Err(TransitionError::Incomplete));
        assert_eq!(transition(Review, WillEvent::Verify, false), Err(TransitionError::Incomplete));
        for from in [Draft, Review, Generated] {
            assert_eq!(transition(from, WillEvent::Pay, true), Err(TransitionError::NotVerified), "{from:?}");
            assert_eq!(transition(from, WillEvent::Regenerate, true), Err(TransitionError::NotVerified), "{from:?}");
        }
    }

    #[test]
    fn a_will_is_paid_once() {
        let now = Utc::now();
        let mut will = Will::new("w".into(), "u", now);
        will.status = Verified;
        assert_eq!(will.pay("o1", now), WillPaymentOutcome::Recorded);
        assert_eq!((will.status, will.latest_payment_id.as_deref()), (Generated, Some("o1")));
        assert_eq!(will.pay("o1", now), WillPaymentOutcome::AlreadyRecorded);
        assert_eq!(will.pay("o2", now), WillPaymentOutcome::PaidByAnotherOrder);
        let mut edited = Will::new("w2".into(), "u", now);
        edited.status = Review;
        assert_eq!(edited.pay("o3", now), WillPaymentOutcome::Recorded);
        assert_eq!(edited.status, Review, "an edited will waits for re-verification");
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
    }

    #[test]
    fn section_rules() {
        let tomorrow = json!({"full_name": "Ada", "date_of_birth": "2026-01-02", "address": "London"});
        assert!(validate_section("personal", &tomorrow, today()).is_err());
        assert!(
            validate_section("personal", &json!({"full_name": "Ada", "date_of_birth": "1815-12-10", "address": "London"}), today()).is_ok()
        );
        let errors = validate_section("personal", &json!({"full_name": "", "date_of_birth": "10/12/1815"}), today()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["full_name", "address", "date_of_birth"]);
        assert!(validate_section("executors", &json!({"executors": []}), today()).is_err());
        assert!(validate_section("executors", &json!({"executors": [{"full_name": "Mary"}]}), today()).is_ok());
        assert!(validate_section("executors", &json!({"executors": [{"name": "Mary"}]}), today()).is_err());
        assert!(validate_section("funeral", &json!({}), today()).is_ok());
        assert!(validate_section("gifts", &json!([1]), today()).is_err());
    }
}
