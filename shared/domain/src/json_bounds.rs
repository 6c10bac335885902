//! Bounds on client-supplied JSON stored as-is (will sections, task data values), so
//! that no accepted write can exceed a DynamoDB limit and no stored item can make a
//! later read fail. DynamoDB refuses documents nested deeper than 32 levels, numbers
//! outside 1e-130..1e125 in magnitude or with more than 38 significant digits, and
//! items over 400 KB; the bounds here stay well inside those.

use serde_json::Value;

/// Levels of nesting below the stored value (a scalar is depth 0). The item and its
/// map of sections add two more, far from DynamoDB's 32.
pub const MAX_DEPTH: usize = 16;
/// Characters in one string.
pub const MAX_STRING_CHARS: usize = 10_000;
/// Largest magnitude of a number (DynamoDB's is just under 1e126).
pub const MAX_NUMBER: f64 = 1e125;
/// Smallest non-zero magnitude of a number (DynamoDB's is 1e-130).
pub const MIN_NUMBER: f64 = 1e-130;

/// Checks `value` against the bounds and against `max_bytes` of serialised JSON.
/// Err names where (`field`, then the path inside it, e.g. `children[2].name`) and why.
pub fn check(field: &str, value: &Value, max_bytes: usize) -> Result<(), (String, String)> {
    walk(value, field.to_owned(), 0)?;
    let bytes = serde_json::to_vec(value).map_or(usize::MAX, |b| b.len());
    if bytes > max_bytes {
        return Err((field.to_owned(), format!("must be at most {max_bytes} bytes of JSON (is {bytes})")));
    }
    Ok(())
}

fn walk(value: &Value, path: String, depth: usize) -> Result<(), (String, String)> {
    match value {
        Value::Array(_) | Value::Object(_) if depth >= MAX_DEPTH => Err((path, format!("nests deeper than {MAX_DEPTH} levels"))),
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| walk(item, format!("{path}[{i}]"), depth + 1)),
        Value::Object(map) => map.iter().try_for_each(|(key, item)| {
            if key.chars().count() > MAX_STRING_CHARS {
                return Err((path.clone(), format!("has a key longer than {MAX_STRING_CHARS} characters")));
            }
            walk(item, format!("{path}.{key}"), depth + 1)
        }),
        Value::String(text) if text.chars().count() > MAX_STRING_CHARS => {
            Err((path, format!("must be at most {MAX_STRING_CHARS} characters")))
        }
        Value::Number(number) => {
            let magnitude = number.as_f64().map_or(f64::INFINITY, f64::abs);
            if magnitude > MAX_NUMBER || (magnitude != 0.0 && magnitude < MIN_NUMBER) {
                Err((path, format!("must be 0 or between {MIN_NUMBER:e} and {MAX_NUMBER:e} in magnitude")))
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn nested(levels: usize) -> Value {
        (0..levels).fold(json!(1), |inner, _| json!({ "a": inner }))
    }

    #[test]
    fn nesting_is_bounded() {
        assert!(check("v", &nested(MAX_DEPTH), 1 << 20).is_ok());
        let (path, message) = check("v", &nested(MAX_DEPTH + 1), 1 << 20).unwrap_err();
        assert!(path.starts_with("v.a.a") && message.contains("deeper"), "{path}: {message}");
        assert!(check("v", &nested(70), 1 << 20).is_err());
    }

    #[test]
    fn numbers_stay_in_dynamodb_range() {
        for ok in [json!(0), json!(-1.5), json!(1e125), json!(1e-130), json!(u64::MAX), json!(i64::MIN)] {
            assert!(check("n", &ok, 1024).is_ok(), "{ok}");
        }
        let too_big: Value = serde_json::from_str("1e200").unwrap();
        let too_small: Value = serde_json::from_str("1e-200").unwrap();
        for bad in [too_big, too_small, json!({"x": [1e126]})] {
            assert!(check("n", &bad, 1024).is_err(), "{bad}");
        }
        assert_eq!(check("n", &json!({"x": [1, 1e126]}), 1024).unwrap_err().0, "n.x[1]");
    }

    #[test]
    fn strings_and_sizes_are_bounded() {
        assert!(check("s", &json!("x".repeat(MAX_STRING_CHARS)), 1 << 20).is_ok());
        assert!(check("s", &json!("x".repeat(MAX_STRING_CHARS + 1)), 1 << 20).is_err());
        assert!(check("s", &json!({"a": "x".repeat(100)}), 50).is_err());
        assert!(check("s", &json!({"k".repeat(MAX_STRING_CHARS + 1): 1}), 1 << 20).is_err());
    }
}
