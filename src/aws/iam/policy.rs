//! IAM policy documents: written in the blueprint as YAML maps, sent to IAM as JSON text, read
//! back URL-encoded, and compared by meaning so that a reordered or reformatted document
//! never causes an IAM call.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Statement fields whose value is a set of strings: "x" and ["x"] mean the same.
const SET_FIELDS: [&str; 4] = ["Action", "NotAction", "Resource", "NotResource"];
/// Statement fields mapping a principal type to a set of principals.
const PRINCIPAL_FIELDS: [&str; 2] = ["Principal", "NotPrincipal"];

/// The document an attribute holds: a map, or JSON text already written out.
pub(crate) fn document(attr: &str, value: &Value) -> Result<Value, String> {
    match value {
        Value::Object(_) => Ok(value.clone()),
        Value::String(text) => serde_json::from_str(text)
            .map_err(|e| format!("{attr} is not a JSON policy document: {e}")),
        _ => Err(format!(
            "{attr} must be a policy document (a map with Version and Statement)"
        )),
    }
}

/// Policy name -> document, from the `inline_policies` attribute.
pub(crate) fn documents(attr: &str, value: &Value) -> Result<BTreeMap<String, Value>, String> {
    let Value::Object(map) = value else {
        return Err(format!(
            "{attr} must be a map of policy name to policy document"
        ));
    };
    map.iter()
        .map(|(name, doc)| Ok((name.clone(), document(&format!("{attr}.{name}"), doc)?)))
        .collect()
}

/// The JSON text IAM receives.
pub(crate) fn render(doc: &Value) -> String {
    doc.to_string()
}

/// A document as IAM returns it: URL-encoded JSON (plain JSON is accepted too).
pub fn from_aws(text: &str) -> Result<Value, String> {
    serde_json::from_str(text)
        .or_else(|_| serde_json::from_str(&percent_decode(text)))
        .map_err(|e| format!("IAM returned a policy document that is not JSON: {e}"))
}

/// Whether two documents grant the same thing, ignoring key order, a single value versus a
/// one-element list, and the order within sets of actions, resources and principals.
pub(crate) fn same(a: &Value, b: &Value) -> bool {
    normalise(a) == normalise(b)
}

/// Decodes `%XX` escapes (RFC 3986, as IAM encodes); anything else is kept as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn normalise(doc: &Value) -> Value {
    let Value::Object(map) = doc else {
        return doc.clone();
    };
    let normalised = map.iter().map(|(key, value)| {
        let value = match (key.as_str(), value) {
            ("Statement", Value::Array(statements)) => {
                Value::Array(statements.iter().map(normalise_statement).collect())
            }
            ("Statement", statement) => Value::Array(vec![normalise_statement(statement)]),
            _ => value.clone(),
        };
        (key.clone(), value)
    });
    Value::Object(normalised.collect())
}

fn normalise_statement(statement: &Value) -> Value {
    let Value::Object(map) = statement else {
        return statement.clone();
    };
    let normalised = map.iter().map(|(key, value)| {
        let value = if SET_FIELDS.contains(&key.as_str()) {
            string_set(value)
        } else if PRINCIPAL_FIELDS.contains(&key.as_str()) {
            // "*" is kept as it is; {"AWS": "x"} and {"AWS": ["x"]} are the same.
            map_values(value, string_set)
        } else if key == "Condition" {
            map_values(value, |keys| map_values(keys, string_set))
        } else {
            value.clone()
        };
        (key.clone(), value)
    });
    Value::Object(normalised.collect())
}

fn map_values(value: &Value, f: impl Fn(&Value) -> Value) -> Value {
    match value {
        Value::Object(map) => {
            let mapped: Map<String, Value> = map.iter().map(|(k, v)| (k.clone(), f(v))).collect();
            Value::Object(mapped)
        }
        other => other.clone(),
    }
}

/// A sorted list of distinct strings; a scalar counts as a one-element list, and `true` as
/// "true" (IAM compares condition values as text).
fn string_set(value: &Value) -> Value {
    let items = match value {
        Value::Array(items) => items.iter().map(as_text).collect(),
        scalar => vec![as_text(scalar)],
    };
    let mut items: Vec<String> = items;
    items.sort();
    items.dedup();
    Value::Array(items.into_iter().map(Value::String).collect())
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn trust() -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": ["eks.amazonaws.com"]},
                "Action": ["sts:AssumeRole"],
            }]
        })
    }

    #[test]
    fn key_order_and_single_values_do_not_matter() {
        let reordered = json!({
            "Statement": {
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "eks.amazonaws.com"},
                "Effect": "Allow",
            },
            "Version": "2012-10-17",
        });
        assert!(same(&trust(), &reordered));
    }

    #[test]
    fn set_order_and_condition_scalars_do_not_matter() {
        let a = json!({"Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"],
            "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": false}}}]});
        let b = json!({"Statement": [{"Effect": "Allow", "Action": ["s3:List*", "s3:Get*"],
            "Resource": ["*"], "Condition": {"Bool": {"aws:SecureTransport": ["false"]}}}]});
        assert!(same(&a, &b));
    }

    #[test]
    fn different_grants_differ() {
        let mut other = trust();
        other["Statement"][0]["Principal"]["Service"] = json!("ec2.amazonaws.com");
        assert!(!same(&trust(), &other));
        let mut denied = trust();
        denied["Statement"][0]["Effect"] = json!("Deny");
        assert!(!same(&trust(), &denied));
        let wildcard = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}], "Version": "2012-10-17"});
        assert!(!same(&trust(), &wildcard));
    }

    #[test]
    fn statement_order_matters_only_as_written() {
        let two = json!({"Statement": [{"Sid": "a"}, {"Sid": "b"}]});
        let swapped = json!({"Statement": [{"Sid": "b"}, {"Sid": "a"}]});
        assert!(same(&two, &two.clone()));
        assert!(!same(&two, &swapped));
    }

    #[test]
    fn aws_url_encoded_documents_are_decoded() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22eks.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
        assert!(same(&from_aws(encoded).unwrap(), &trust()));
        assert!(same(&from_aws(&render(&trust())).unwrap(), &trust()));
        assert!(from_aws("%7Bnot json").is_err());
    }

    #[test]
    fn percent_decode_keeps_what_is_not_an_escape() {
        assert_eq!(percent_decode("a%20b%zz%2"), "a b%zz%2");
        assert_eq!(percent_decode("caf%C3%A9+1"), "café+1");
    }

    #[test]
    fn documents_accept_maps_and_json_text() {
        let value = json!({"a": {"Version": "2012-10-17"}, "b": "{\"Version\": \"2012-10-17\"}"});
        let docs = documents("inline_policies", &value).unwrap();
        assert_eq!(docs["a"], docs["b"]);
        let err = documents("inline_policies", &json!({"c": 3})).unwrap_err();
        assert!(err.contains("inline_policies.c"), "{err}");
        assert!(documents("inline_policies", &json!(["x"])).is_err());
        assert!(document("assume_role_policy", &json!("{oops")).is_err());
    }
}
