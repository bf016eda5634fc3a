//! What every service's kinds share: turning blueprint attributes into a kind's spec
//! struct, and small helpers around AWS errors and outputs.

use crate::kinds::{Attr, AttrType, Attrs, KindError, KindResult, Live, Schema};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The `tags` attribute every kind here has. Its value reaches the kind merged with innovate's
/// identity tags through the `tags` argument, so the spec structs leave it out.
pub const TAGS: Attr = Attr::optional("tags", AttrType::StringMap).default("{}");

/// Deserializes a kind's attributes into its spec struct: schema defaults fill what is
/// missing, `tags` and anything the schema does not know are dropped.
pub fn parse_spec<T: DeserializeOwned>(schema: &Schema, attrs: &Attrs) -> KindResult<T> {
    let mut spec = Map::new();
    for attr in schema.attrs.iter().filter(|a| a.name != TAGS.name) {
        spec.insert(attr.name.to_string(), value_or_default(attr, attrs));
    }
    serde_json::from_value(Value::Object(spec))
        .map_err(|e| KindError::local(schema.name, format!("attributes do not fit: {e}")))
}

pub fn value_or_default(attr: &Attr, attrs: &Attrs) -> Value {
    match attrs.get(attr.name) {
        Some(value) if !value.is_null() => value.clone(),
        _ => attr.default_value().unwrap_or(Value::Null),
    }
}

/// Whether an attribute differs between what state recorded and what the blueprint wants,
/// counting an absent attribute as its default.
pub fn changed(schema: &Schema, prior: &Attrs, desired: &Attrs, name: &str) -> bool {
    schema
        .attr(name)
        .is_some_and(|attr| value_or_default(attr, prior) != value_or_default(attr, desired))
}

pub fn has_code(err: &KindError, codes: &[&str]) -> bool {
    err.code
        .as_deref()
        .is_some_and(|code| codes.contains(&code))
}

/// Lines found resources up with `ids`: `None` where one is gone.
pub fn in_order(ids: &[String], found: Vec<Live>) -> Vec<Option<Live>> {
    let by_id: HashMap<String, Live> = found.into_iter().map(|l| (l.id.clone(), l)).collect();
    ids.iter().map(|id| by_id.get(id).cloned()).collect()
}

/// A deletion that finds the resource already gone has done its job.
pub fn ignore_gone(result: KindResult<()>, not_found: &[&str]) -> KindResult<()> {
    match result {
        Err(err) if has_code(&err, not_found) => Ok(()),
        other => other,
    }
}

/// An identifier AWS should have returned but did not.
pub fn missing(call: &str, field: &str) -> KindError {
    KindError::local(call, format!("the response has no {field}"))
}

/// Outputs from `(name, value)` pairs, leaving out values AWS did not report.
pub fn outputs<'a>(pairs: impl IntoIterator<Item = (&'a str, Option<String>)>) -> Attrs {
    pairs
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_string(), Value::String(value?))))
        .collect()
}

/// Test helpers for kinds: keep each spec struct and its schema from drifting apart.
#[cfg(test)]
pub mod testing {
    use super::*;
    use serde_json::json;

    /// A value of `ty`'s shape, so every attribute can be fed to a spec struct.
    fn sample(ty: &AttrType) -> Value {
        match ty {
            AttrType::String => json!("x"),
            AttrType::Int => json!(1),
            AttrType::Bool => json!(true),
            AttrType::Cidr => json!("10.0.0.0/16"),
            AttrType::List(item) => json!([sample(item)]),
            AttrType::StringMap => json!({"k": "v"}),
            AttrType::Json => json!({"any": ["json"]}),
            AttrType::Object(attrs) => Value::Object(
                attrs
                    .iter()
                    .map(|a| (a.name.to_string(), sample(&a.ty)))
                    .collect(),
            ),
        }
    }

    /// Fails when the schema has an attribute the spec struct rejects (the structs deny
    /// unknown fields) or the struct requires a field the schema does not have.
    pub fn assert_spec_fits_schema<T: DeserializeOwned>(schema: &Schema) {
        let samples: Attrs = schema
            .attrs
            .iter()
            .map(|a| (a.name.to_string(), sample(&a.ty)))
            .collect();
        if let Err(err) = parse_spec::<T>(schema, &samples) {
            panic!("{} spec does not fit its schema: {err}", schema.name);
        }
        let required_only: Attrs = schema
            .attrs
            .iter()
            .filter(|a| a.required)
            .map(|a| (a.name.to_string(), sample(&a.ty)))
            .collect();
        if let Err(err) = parse_spec::<T>(schema, &required_only) {
            panic!(
                "{} spec needs more than required attrs and defaults: {err}",
                schema.name
            );
        }
    }

    #[test]
    fn parse_spec_fills_defaults_and_drops_tags() {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Spec {
            cidr_block: String,
            enable: bool,
        }
        static SCHEMA: Schema = Schema {
            name: "test.kind",
            attrs: &[
                Attr::required("cidr_block", AttrType::Cidr),
                Attr::optional("enable", AttrType::Bool).default("true"),
                TAGS,
            ],
            outputs: &[],
            taggable: true,
        };
        let attrs = json!({"cidr_block": "10.0.0.0/16", "tags": {"a": "b"}, "count": 3});
        let spec: Spec = parse_spec(&SCHEMA, attrs.as_object().unwrap()).unwrap();
        assert_eq!(spec.cidr_block, "10.0.0.0/16");
        assert!(spec.enable);
        let with_enable = json!({"enable": false});
        assert!(changed(
            &SCHEMA,
            attrs.as_object().unwrap(),
            with_enable.as_object().unwrap(),
            "enable"
        ));
        let explicit = json!({"enable": true});
        assert!(!changed(
            &SCHEMA,
            attrs.as_object().unwrap(),
            explicit.as_object().unwrap(),
            "enable"
        ));
    }
}
