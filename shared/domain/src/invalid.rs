//! Input that breaks a rule, named field by field so one answer lists every mistake.

/// One or more fields that fail validation, each with what is wrong with it.
#[derive(Clone, Debug, Default, PartialEq, Eq, thiserror::Error)]
#[error("invalid input ({} field(s))", .0.len())]
pub struct Invalid(pub Vec<(String, String)>);

impl Invalid {
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        Invalid(vec![(name.to_owned(), message.into())])
    }

    /// Records `result`'s error against `field`; the value when it passed.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.0.push((field.to_owned(), message))).ok()
    }

    /// `Err(self)` when any check failed.
    pub fn finish(self) -> Result<(), Invalid> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl From<(String, String)> for Invalid {
    fn from(field: (String, String)) -> Self {
        Invalid(vec![field])
    }
}

impl From<Vec<(String, String)>> for Invalid {
    fn from(fields: Vec<(String, String)>) -> Self {
        Invalid(fields)
    }
}
