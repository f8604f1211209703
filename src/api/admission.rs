//! Client-side admission: the checks the API server runs on a FailoverRecord,
//! run here so the standalone CLI rejects exactly what `kubectl apply` would,
//! before any Route 53 call.
//!
//! Two passes over the CRD's own `openAPIV3Schema`, generated from the Rust
//! types: a structural pass (types, required fields, unknown fields, enums,
//! ranges, lengths, patterns, list uniqueness), then the CEL rules
//! (`x-kubernetes-validations`), evaluated with kube's CEL engine after schema
//! defaults are applied, as the API server does.

use std::collections::HashSet;
use std::sync::OnceLock;

use kube::CustomResourceExt;
use kube::core::cel::{CompiledSchema, Validator, compile_schema};
use regex::Regex;
use serde_json::Value;

use super::FailoverRecord;
use super::{FieldError, InvalidSpec};

/// The schema keywords the structural pass understands. A test asserts the
/// generated schema uses no other, so a new constraint cannot be skipped here
/// unnoticed.
pub const UNDERSTOOD_KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "items",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "pattern",
    "nullable",
    "default",
    "description",
    "format",
    "title",
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "additionalProperties",
];

struct Compiled {
    schema: Value,
    cel: CompiledSchema,
}

fn compiled() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let schema = FailoverRecord::crd()
            .spec
            .versions
            .first()
            .and_then(|v| v.schema.as_ref())
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .and_then(|s| serde_json::to_value(s).ok())
            .unwrap_or(Value::Null);
        let cel = compile_schema(&schema);
        Compiled { schema, cel }
    })
}

/// The CRD's `openAPIV3Schema` as JSON.
pub fn schema() -> &'static Value {
    &compiled().schema
}

/// Validate a FailoverRecord as the API server would on create, and return it
/// typed. Every problem found is reported, each naming its field.
pub fn admit(object: &Value) -> Result<FailoverRecord, InvalidSpec> {
    let mut errors = Vec::new();
    check_identity(object, &mut errors);
    structural(schema(), object, "", &mut errors);
    if errors.is_empty()
        && let Err(found) = Validator::new().validate_compiled(&compiled().cel, object, None)
    {
        errors.extend(found.into_vec().into_iter().map(|e| FieldError {
            field: if e.field_path.is_empty() {
                "spec".to_string()
            } else {
                e.field_path.clone()
            },
            message: e.message.clone(),
        }));
    }
    if !errors.is_empty() {
        return Err(InvalidSpec(errors));
    }
    serde_json::from_value(object.clone()).map_err(|e| InvalidSpec::single("spec", e.to_string()))
}

fn check_identity(object: &Value, errors: &mut Vec<FieldError>) {
    let mut add = |field: &str, message: String| {
        errors.push(FieldError {
            field: field.to_string(),
            message,
        })
    };
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if api_version != "dnsfailover.io/v1alpha1" {
        add(
            "apiVersion",
            format!("must be dnsfailover.io/v1alpha1, got {api_version:?}"),
        );
    }
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind != "FailoverRecord" {
        add("kind", format!("must be FailoverRecord, got {kind:?}"));
    }
    let metadata = object.get("metadata");
    match metadata.and_then(|m| m.get("name")).and_then(Value::as_str) {
        Some(name) if is_dns_subdomain(name) => {}
        Some(name) => add(
            "metadata.name",
            format!(
                "{name:?} must be a lower-case DNS subdomain: a-z, 0-9, '-' and '.', at most 253 characters"
            ),
        ),
        None => add("metadata.name", "required".to_string()),
    }
    if let Some(namespace) = metadata.and_then(|m| m.get("namespace")) {
        match namespace.as_str() {
            Some(ns) if is_dns_label(ns) => {}
            _ => add(
                "metadata.namespace",
                format!(
                    "{namespace} must be a lower-case DNS label: a-z, 0-9 and '-', at most 63 characters"
                ),
            ),
        }
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn structural(schema: &Value, value: &Value, path: &str, errors: &mut Vec<FieldError>) {
    let mut add = |message: String| {
        errors.push(FieldError {
            field: if path.is_empty() {
                "<root>".to_string()
            } else {
                path.to_string()
            },
            message,
        })
    };
    if value.is_null() {
        if !schema
            .get("nullable")
            .and_then(Value::as_bool)
            .unwrap_or(false)
        {
            add("must not be null".to_string());
        }
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let names: Vec<String> = allowed
            .iter()
            .filter(|v| !v.is_null())
            .map(|v| v.to_string())
            .collect();
        add(format!(
            "unsupported value {value}: supported values are {}",
            names.join(", ")
        ));
        return;
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let Some(map) = value.as_object() else {
                add(format!("must be an object, got {}", json_type(value)));
                return;
            };
            let properties = schema.get("properties").and_then(Value::as_object);
            for required in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(key) = required.as_str()
                    && !map.contains_key(key)
                {
                    errors.push(FieldError {
                        field: join(path, key),
                        message: "required".to_string(),
                    });
                }
            }
            for (key, child) in map {
                let child_path = join(path, key);
                match (
                    properties.and_then(|p| p.get(key)),
                    schema.get("additionalProperties"),
                ) {
                    (Some(child_schema), _) => structural(child_schema, child, &child_path, errors),
                    (None, Some(additional)) if additional.is_object() => {
                        structural(additional, child, &child_path, errors)
                    }
                    // The API server handles these itself; the CRD schema omits them.
                    _ if path.is_empty()
                        && matches!(
                            key.as_str(),
                            "apiVersion" | "kind" | "metadata" | "status"
                        ) => {}
                    _ => errors.push(FieldError {
                        field: child_path,
                        message: "unknown field".to_string(),
                    }),
                }
            }
        }
        Some("array") => {
            let Some(items) = value.as_array() else {
                add(format!("must be a list, got {}", json_type(value)));
                return;
            };
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                add(format!(
                    "must have at least {min} items, has {}",
                    items.len()
                ));
            }
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && (items.len() as u64) > max
            {
                add(format!(
                    "must have at most {max} items, has {}",
                    items.len()
                ));
            }
            if schema.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("set") {
                let mut seen = HashSet::new();
                for item in items {
                    if !seen.insert(item.to_string()) {
                        add(format!("duplicate value {item}"));
                    }
                }
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    structural(item_schema, item, &format!("{path}[{i}]"), errors);
                }
            }
        }
        Some("string") => {
            let Some(s) = value.as_str() else {
                add(format!("must be a string, got {}", json_type(value)));
                return;
            };
            let len = s.chars().count() as u64;
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && len < min
            {
                add(format!("must be at least {min} characters"));
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && len > max
            {
                add(format!("must be at most {max} characters, has {len}"));
            }
            if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
                match Regex::new(pattern) {
                    Ok(re) if re.is_match(s) => {}
                    Ok(_) => add(format!("{s:?} does not match the pattern {pattern}")),
                    Err(e) => add(format!(
                        "the schema pattern {pattern} does not compile: {e}"
                    )),
                }
            }
        }
        Some("integer") => {
            let Some(n) = value.as_i64() else {
                add(format!("must be an integer, got {value}"));
                return;
            };
            if schema.get("format").and_then(Value::as_str) == Some("int32")
                && i32::try_from(n).is_err()
            {
                add(format!("{n} does not fit a 32-bit integer"));
            }
            check_range(schema, n as f64, value, &mut add);
        }
        Some("number") => match value.as_f64() {
            Some(n) => check_range(schema, n, value, &mut add),
            None => add(format!("must be a number, got {}", json_type(value))),
        },
        Some("boolean") if !value.is_boolean() => {
            add(format!("must be true or false, got {value}"))
        }
        _ => {}
    }
}

fn check_range(schema: &Value, n: f64, value: &Value, add: &mut impl FnMut(String)) {
    let min = schema.get("minimum").and_then(Value::as_f64);
    let max = schema.get("maximum").and_then(Value::as_f64);
    match (min, max) {
        (Some(min), Some(max)) if n < min || n > max => {
            add(format!("must be between {min} and {max}, got {value}"))
        }
        (Some(min), None) if n < min => add(format!("must be at least {min}, got {value}")),
        (None, Some(max)) if n > max => add(format!("must be at most {max}, got {value}")),
        _ => {}
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
