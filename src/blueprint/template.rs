//! Attribute values of one resource instance after expansion: literal JSON where everything is
//! known, and references to other instances (`${main.id}`) where the value comes from AWS.
//! The planner and executor resolve them against state; saved plans store them as they are.

use crate::address::Address;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tmpl {
    /// Fully known.
    Lit(Value),
    /// A string built from literal parts and references; a single reference keeps the
    /// referenced value's own type (a list for `x[*].id`).
    Concat(Vec<Part>),
    List(Vec<Tmpl>),
    /// A map whose keys may hold references too (`"${cluster.oidc_provider}:sub"` as an IAM
    /// condition key); a key resolves to a string.
    Map(Vec<(Tmpl, Tmpl)>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Lit(String),
    Ref(InstanceRef),
}

/// `${private[*].id}`: the instances it reads, and which attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceRef {
    pub targets: Vec<Address>,
    /// `[*]`: the value is a list even with one target.
    pub splat: bool,
    pub attr: String,
}

/// Marks a value that only AWS can tell (an id of a resource not created yet). Contains a
/// control character so that no blueprint value can be mistaken for it.
pub const UNKNOWN: &str = "\u{1}(known after apply)";

/// How an unknown value prints.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

/// Compact JSON, with unknown values spelled "(known after apply)".
pub fn show_value(value: &Value) -> String {
    match value {
        Value::String(s) if s == UNKNOWN => KNOWN_AFTER_APPLY.into(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(show_value).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k} = {}", show_value(v)))
                .collect();
            format!("{{ {} }}", entries.join(", "))
        }
        other => other.to_string(),
    }
}

pub fn is_unknown(value: &Value) -> bool {
    value.as_str() == Some(UNKNOWN)
}

/// Whether an unknown value hides anywhere inside `value`.
pub fn contains_unknown(value: &Value) -> bool {
    match value {
        Value::String(s) => s == UNKNOWN,
        Value::Array(items) => items.iter().any(contains_unknown),
        Value::Object(map) => map.values().any(contains_unknown),
        _ => false,
    }
}

impl Tmpl {
    /// Every instance this value reads, in order of appearance.
    pub fn references(&self) -> Vec<&Address> {
        let mut out = Vec::new();
        self.collect_refs(&mut out);
        out
    }

    fn collect_refs<'a>(&'a self, out: &mut Vec<&'a Address>) {
        match self {
            Tmpl::Lit(_) => {}
            Tmpl::Concat(parts) => {
                for part in parts {
                    if let Part::Ref(r) = part {
                        out.extend(r.targets.iter());
                    }
                }
            }
            Tmpl::List(items) => items.iter().for_each(|i| i.collect_refs(out)),
            Tmpl::Map(entries) => entries.iter().for_each(|(k, v)| {
                k.collect_refs(out);
                v.collect_refs(out);
            }),
        }
    }

    /// The value, with each reference read through `lookup` (which answers [`UNKNOWN`] for
    /// what AWS has not told yet).
    pub fn resolve(&self, lookup: &dyn Fn(&Address, &str) -> Value) -> Value {
        match self {
            Tmpl::Lit(v) => v.clone(),
            Tmpl::Concat(parts) => resolve_concat(parts, lookup),
            Tmpl::List(items) => Value::Array(items.iter().map(|i| i.resolve(lookup)).collect()),
            Tmpl::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (key_string(k.resolve(lookup)), v.resolve(lookup)))
                    .collect(),
            ),
        }
    }
}

/// A map key as the string a JSON object needs.
pub(super) fn key_string(key: Value) -> String {
    match key {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn resolve_ref(r: &InstanceRef, lookup: &dyn Fn(&Address, &str) -> Value) -> Value {
    let values: Vec<Value> = r.targets.iter().map(|t| lookup(t, &r.attr)).collect();
    if r.splat {
        Value::Array(values)
    } else {
        values.into_iter().next().unwrap_or(Value::Null)
    }
}

fn resolve_concat(parts: &[Part], lookup: &dyn Fn(&Address, &str) -> Value) -> Value {
    if let [Part::Ref(r)] = parts {
        return resolve_ref(r, lookup);
    }
    let mut text = String::new();
    for part in parts {
        match part {
            Part::Lit(s) => text.push_str(s),
            Part::Ref(r) => match resolve_ref(r, lookup) {
                v if contains_unknown(&v) => return Value::String(UNKNOWN.into()),
                Value::String(s) => text.push_str(&s),
                other => text.push_str(&other.to_string()),
            },
        }
    }
    Value::String(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reference(targets: Vec<Address>, splat: bool) -> Part {
        Part::Ref(InstanceRef {
            targets,
            splat,
            attr: "id".into(),
        })
    }

    fn lookup(address: &Address, _attr: &str) -> Value {
        match address.to_string().as_str() {
            "main" => json!("vpc-1"),
            "private[0]" => json!("subnet-a"),
            _ => json!(UNKNOWN),
        }
    }

    #[test]
    fn a_lone_reference_keeps_its_type_and_splats_make_lists() {
        let one = Tmpl::Concat(vec![reference(vec![Address::single("main")], false)]);
        assert_eq!(one.resolve(&lookup), json!("vpc-1"));
        let all = Tmpl::Concat(vec![reference(
            vec![
                Address::indexed("private", 0),
                Address::indexed("private", 1),
            ],
            true,
        )]);
        assert_eq!(all.resolve(&lookup), json!(["subnet-a", UNKNOWN]));
        assert!(contains_unknown(&all.resolve(&lookup)));
    }

    #[test]
    fn interpolation_with_an_unknown_part_is_unknown() {
        let known = Tmpl::Concat(vec![
            Part::Lit("in-".into()),
            reference(vec![Address::single("main")], false),
        ]);
        assert_eq!(known.resolve(&lookup), json!("in-vpc-1"));
        let unknown = Tmpl::Concat(vec![
            Part::Lit("in-".into()),
            reference(vec![Address::single("x")], false),
        ]);
        assert!(is_unknown(&unknown.resolve(&lookup)));
    }

    #[test]
    fn lists_references_in_order() {
        let t = Tmpl::Map(vec![
            (
                Tmpl::Lit(json!("a")),
                Tmpl::Concat(vec![reference(vec![Address::single("main")], false)]),
            ),
            (
                Tmpl::Concat(vec![
                    reference(vec![Address::single("k")], false),
                    Part::Lit(":sub".into()),
                ]),
                Tmpl::List(vec![
                    Tmpl::Lit(json!(1)),
                    Tmpl::Concat(vec![reference(vec![Address::single("x")], false)]),
                ]),
            ),
        ]);
        let names: Vec<String> = t.references().iter().map(|a| a.to_string()).collect();
        assert_eq!(names, ["main", "k", "x"]);
    }
}
