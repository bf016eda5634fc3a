//! What every service's kinds share: turning blueprint attributes into a kind's spec
//! struct, and small helpers around AWS errors and outputs.

use crate::kinds::{Attr, AttrType, Attrs, KindError, KindResult, Live, Schema, Tags};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::cmp::Ordering;
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
    err.has_code_in(codes)
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

/// A mutating call whose effect is already there: its own earlier attempt, whose answer was
/// lost and which the SDK sent again (a duplicate rule, an existing association). AWS says
/// so with `already_codes`; the call has done its job.
pub fn ignore_already_done(result: KindResult<()>, already_codes: &[&str]) -> KindResult<()> {
    match result {
        Err(err) if has_code(&err, already_codes) => {
            tracing::debug!(call = %err.call, code = ?err.code, "already done");
            Ok(())
        }
        other => other,
    }
}

/// A text attribute of `desired` (the name that is a kind's natural id, say).
pub fn text_attr(desired: &Attrs, name: &str) -> Option<String> {
    desired
        .get(name)
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
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

/// Tag keys that are not the user's: innovate's identity tags and AWS's own (`aws:` tags
/// belong to AWS services and cannot be set or removed by anyone else).
const FOREIGN_TAG_PREFIXES: [&str; 2] = ["innovate:", "aws:"];

fn is_user_tag(key: &str) -> bool {
    !FOREIGN_TAG_PREFIXES
        .iter()
        .any(|prefix| key.starts_with(prefix))
}

/// The `tags` attribute as state records it: the tags a resource carries, without
/// innovate's identity tags and without AWS's `aws:` tags.
pub fn user_tags(tags: &Tags) -> Value {
    let user = tags
        .iter()
        .filter(|(key, _)| is_user_tag(key))
        .map(|(key, value)| (key.clone(), Value::String(value.clone())));
    Value::Object(user.collect())
}

/// `live` with the `tags` attribute it has once `tags` are set: for an update that synced
/// the tags after describing the resource.
pub fn with_tags(mut live: Live, tags: &Tags) -> Live {
    if let Some(attrs) = live.attrs.as_mut() {
        attrs.insert(TAGS.name.to_string(), user_tags(tags));
    }
    live
}

/// Whether a resource carrying `tags` carries every one of `wanted` (for `list_tagged`
/// where AWS cannot filter by tag itself).
pub fn carries_all(tags: &Tags, wanted: &Tags) -> bool {
    wanted
        .iter()
        .all(|(key, value)| tags.get(key) == Some(value))
}

/// What turns a resource's `current` tags into `desired`.
#[derive(Debug, PartialEq)]
pub struct TagChanges {
    /// New keys and keys with a new value.
    pub set: Tags,
    pub removed: Vec<String>,
}

/// The tag calls of every service: set what is new or changed, remove what is no longer
/// wanted, except `aws:` tags, which only AWS may remove.
pub fn tag_changes(current: &Tags, desired: &Tags) -> TagChanges {
    let set = desired
        .iter()
        .filter(|(key, value)| current.get(*key) != Some(value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let removed = current
        .keys()
        .filter(|key| !desired.contains_key(*key) && !key.starts_with("aws:"))
        .cloned()
        .collect();
    TagChanges { set, removed }
}

/// Observed blueprint attributes ([`Live::attrs`]) from `(name, value)` pairs. A `null`
/// value says AWS reports nothing for the attribute: drift when the blueprint set it.
pub fn observed<'a>(pairs: impl IntoIterator<Item = (&'a str, Value)>) -> Attrs {
    pairs
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
}

/// An optional string as an attribute value: `null` when AWS reports none (or "").
pub fn string_or_null(value: Option<&str>) -> Value {
    value
        .filter(|text| !text.is_empty())
        .map_or(Value::Null, |text| Value::String(text.to_string()))
}

/// IPv4 CIDR blocks in address order ("10.2.0.0/16" before "10.10.0.0/16"), then by prefix
/// length; anything unparsable after them, as text. The order observed lists of CIDRs and
/// routes are reported in.
pub fn cidr_order(a: &str, b: &str) -> Ordering {
    fn key(cidr: &str) -> Option<(u32, u8)> {
        let (address, prefix) = cidr.split_once('/')?;
        let address: std::net::Ipv4Addr = address.parse().ok()?;
        Some((u32::from(address), prefix.parse().ok()?))
    }
    match (key(a), key(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
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

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn tag_changes_set_new_and_changed_keys_and_remove_dropped_ones_but_aws_tags() {
        let current = tags(&[
            ("Name", "old"),
            ("keep", "1"),
            ("gone", "x"),
            ("aws:cloudformation:stack-name", "y"),
        ]);
        let desired = tags(&[("Name", "new"), ("keep", "1"), ("added", "2")]);
        assert_eq!(
            tag_changes(&current, &desired),
            TagChanges {
                set: tags(&[("Name", "new"), ("added", "2")]),
                removed: vec!["gone".into()]
            }
        );
        let same = tag_changes(&desired, &desired);
        assert!(same.set.is_empty() && same.removed.is_empty());
    }

    #[test]
    fn user_tags_leave_out_identity_and_aws_tags() {
        let carried = tags(&[
            ("Name", "web"),
            ("innovate:blueprint", "net"),
            ("innovate:address", "web"),
            ("aws:eks:cluster-name", "prod"),
            ("team", "platform"),
        ]);
        assert_eq!(
            user_tags(&carried),
            json!({"Name": "web", "team": "platform"})
        );
        assert_eq!(user_tags(&Tags::new()), json!({}));
        let wanted = tags(&[("innovate:blueprint", "net")]);
        assert!(carries_all(&carried, &wanted));
        assert!(!carries_all(&tags(&[("Name", "web")]), &wanted));
        assert!(carries_all(&Tags::new(), &Tags::new()));
    }

    #[test]
    fn cidrs_order_by_address_then_prefix() {
        let mut cidrs = vec![
            "10.10.0.0/16",
            "odd",
            "10.2.0.0/16",
            "0.0.0.0/0",
            "10.2.0.0/24",
        ];
        cidrs.sort_by(|a, b| cidr_order(a, b));
        assert_eq!(
            cidrs,
            vec![
                "0.0.0.0/0",
                "10.2.0.0/16",
                "10.2.0.0/24",
                "10.10.0.0/16",
                "odd"
            ]
        );
        assert_eq!(string_or_null(Some("")), Value::Null);
        assert_eq!(string_or_null(Some("x")), json!("x"));
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
