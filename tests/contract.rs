//! The published OpenAPI document (`docs/openapi.json`) as a contract for requests:
//! a body the app accepted must validate against its operation's request schema, and
//! an operation that documents no body must not have been sent one. A client typed
//! from the document then sends what the app takes.

use std::sync::LazyLock;

use serde_json::{Value, json};

/// The document's operations: (method, path template) → the JSON request body's
/// validator, or None when the operation documents no JSON body.
static OPERATIONS: LazyLock<Vec<Operation>> = LazyLock::new(|| {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json")).expect("docs/openapi.json");
    let document: Value = serde_json::from_str(&text).expect("the OpenAPI document is JSON");
    let components = document["components"].clone();
    let mut operations = Vec::new();
    for (template, methods) in document["paths"].as_object().expect("paths") {
        for (method, operation) in methods.as_object().expect("path item") {
            let schema = operation.pointer("/requestBody/content/application~1json/schema");
            let body = schema.map(|schema| {
                // The operation's schema at the root beside `components`, so its
                // `#/components/schemas/...` references resolve.
                let mut root = json!({"components": components});
                root.as_object_mut().unwrap().extend(schema.as_object().expect("a schema object").clone());
                jsonschema::draft202012::new(&root).unwrap_or_else(|e| panic!("{method} {template}: its schema does not compile: {e}"))
            });
            operations.push(Operation { method: method.to_uppercase(), template: template.split('/').map(str::to_owned).collect(), body });
        }
    }
    operations
});

struct Operation {
    method: String,
    template: Vec<String>,
    body: Option<jsonschema::Validator>,
}

impl Operation {
    /// How many literal segments `path` matches (None when it does not match), so the
    /// most specific template wins (`/v1/accounts/me/invites` over `/v1/accounts/{id}/...`).
    fn matches(&self, method: &str, segments: &[&str]) -> Option<usize> {
        if self.method != method || self.template.len() != segments.len() {
            return None;
        }
        let mut literal = 0;
        for (template, segment) in self.template.iter().zip(segments) {
            if template.starts_with('{') {
                if segment.is_empty() {
                    return None;
                }
            } else if template == segment {
                literal += 1;
            } else {
                return None;
            }
        }
        Some(literal)
    }
}

/// Panics when an accepted request's body is not what the document publishes for it.
pub fn assert_documented_request(method: &str, path: &str, body: Option<&Value>) {
    let path = path.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').collect();
    let best = OPERATIONS.iter().filter_map(|op| Some((op.matches(method, &segments)?, op))).max_by_key(|(literal, _)| *literal);
    let Some((_, operation)) = best else {
        panic!("{method} {path} was accepted but the OpenAPI document has no such operation");
    };
    match (&operation.body, body) {
        (Some(validator), Some(body)) => {
            let errors: Vec<String> = validator.iter_errors(body).map(|e| format!("{} at {}", e, e.instance_path())).collect();
            assert!(
                errors.is_empty(),
                "{method} {path}: the app accepted a body its published schema refuses: {body}\n{}",
                errors.join("\n")
            );
        }
        (None, Some(body)) => panic!("{method} {path} documents no JSON body but was sent {body}"),
        (Some(_), None) | (None, None) => {}
    }
}
