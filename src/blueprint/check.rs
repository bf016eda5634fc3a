//! Type checks of attribute values against a kind's schema, with the gentle coercions YAML
//! users expect (`version: 1.30` is the string "1.30" where a string is wanted).

use super::diagnostics::{unknown, Problem};
use crate::kinds::{Attr, AttrType};
use serde_json::{Map, Value};

/// Checks `value` against `ty` and returns it coerced, or every problem found in it.
pub fn coerce(value: Value, ty: &AttrType) -> Result<Value, Vec<Problem>> {
    let mut problems = Vec::new();
    let value = coerce_into(value, ty, &mut problems);
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(problems)
    }
}

fn coerce_into(value: Value, ty: &AttrType, problems: &mut Vec<Problem>) -> Value {
    match (ty, value) {
        (_, Value::Null) => Value::Null,
        (AttrType::Json, v) => v,
        (AttrType::String, Value::String(s)) => Value::String(s),
        (AttrType::String, v @ (Value::Number(_) | Value::Bool(_))) => Value::String(v.to_string()),
        (AttrType::Int, Value::Number(n)) if n.is_i64() => Value::Number(n),
        (AttrType::Bool, Value::Bool(b)) => Value::Bool(b),
        (AttrType::Cidr, Value::String(s)) => {
            if let Err(why) = cidr(&s) {
                problems.push(Problem::new(why, None));
            }
            Value::String(s)
        }
        (AttrType::List(item), Value::Array(items)) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    within(problems, &format!("item {}", i + 1), |p| {
                        coerce_into(v, item, p)
                    })
                })
                .collect(),
        ),
        (AttrType::StringMap, Value::Object(map)) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = within(problems, &format!("`{k}`"), |p| {
                        coerce_into(v, &AttrType::String, p)
                    });
                    (k, v)
                })
                .collect(),
        ),
        (AttrType::Object(attrs), Value::Object(map)) => object(attrs, map, problems),
        (ty, other) => {
            let message = format!("expected {}, found {}", ty.describe(), json_type(&other));
            problems.push(Problem::new(message, None));
            other
        }
    }
}

/// A nested object (a security group rule): required attributes, known names, each value.
fn object(attrs: &[Attr], map: Map<String, Value>, problems: &mut Vec<Problem>) -> Value {
    for attr in attrs
        .iter()
        .filter(|a| a.required && !map.contains_key(a.name))
    {
        problems.push(missing_attribute(attr));
    }
    let mut out = Map::new();
    for (k, v) in map {
        match attrs.iter().find(|a| a.name == k) {
            Some(attr) => {
                let v = within(problems, &format!("`{k}`"), |p| coerce_into(v, &attr.ty, p));
                out.insert(k, v);
            }
            None => {
                let known = attrs.iter().map(|a| a.name);
                problems.push(unknown("attribute", &k, None, known));
                out.insert(k, v);
            }
        }
    }
    Value::Object(out)
}

/// A required attribute of a nested object that is not given.
pub fn missing_attribute(attr: &Attr) -> Problem {
    Problem::new(
        format!("missing required attribute `{}`", attr.name),
        Some(format!("add `{}:` ({})", attr.name, attr.ty.describe())),
    )
}

/// Runs `check` with the problems it finds placed within a part of the value.
fn within<T>(
    problems: &mut Vec<Problem>,
    place: &str,
    check: impl FnOnce(&mut Vec<Problem>) -> T,
) -> T {
    let mut found = Vec::new();
    let out = check(&mut found);
    problems.extend(found.into_iter().map(|p| p.within(place)));
    out
}

pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// An IPv4 CIDR block whose host bits are zero: AWS rejects 10.0.1.0/16.
pub fn cidr(text: &str) -> Result<(), String> {
    let bad =
        || format!("`{text}` is not a CIDR block (expected an IPv4 network like 10.0.0.0/16)");
    let (ip, len) = text.split_once('/').ok_or_else(bad)?;
    let ip: std::net::Ipv4Addr = ip.parse().map_err(|_| bad())?;
    let len: u32 = len.parse().map_err(|_| bad())?;
    if len > 32 {
        return Err(format!("`{text}`: a prefix length is 0 to 32"));
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let bits = u32::from(ip);
    if bits & !mask != 0 {
        let network = std::net::Ipv4Addr::from(bits & mask);
        return Err(format!(
            "`{text}` has host bits set; the network is {network}/{len}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Attr;
    use serde_json::json;

    static RULE: [Attr; 2] = [
        Attr::required("protocol", AttrType::String),
        Attr::optional("from_port", AttrType::Int),
    ];

    #[test]
    fn cidr_blocks_are_checked() {
        assert_eq!(cidr("10.0.0.0/16"), Ok(()));
        assert_eq!(cidr("0.0.0.0/0"), Ok(()));
        assert!(cidr("10.0.0.0").is_err());
        assert!(cidr("10.0.0.300/24").is_err());
        assert!(cidr("10.0.0.0/33").unwrap_err().contains("0 to 32"));
        assert!(cidr("10.0.1.0/16")
            .unwrap_err()
            .contains("network is 10.0.0.0/16"));
    }

    fn messages(result: Result<Value, Vec<Problem>>) -> Vec<String> {
        result
            .expect_err("the value should be rejected")
            .into_iter()
            .map(|p| p.message)
            .collect()
    }

    #[test]
    fn coerces_scalars_to_strings_but_not_strings_to_numbers() {
        assert_eq!(coerce(json!(1.5), &AttrType::String), Ok(json!("1.5")));
        assert_eq!(
            messages(coerce(json!("80"), &AttrType::Int)),
            ["expected an integer, found a string"]
        );
        assert_eq!(
            messages(coerce(json!("x"), &AttrType::List(&AttrType::String))),
            ["expected a list of strings, found a string"]
        );
    }

    static RULES: AttrType = AttrType::List(&AttrType::Object(&RULE));

    #[test]
    fn nested_objects_report_every_wrong_field() {
        let ty = AttrType::Object(&RULE);
        assert_eq!(
            coerce(json!({"protocol": "tcp", "from_port": 80}), &ty),
            Ok(json!({"protocol": "tcp", "from_port": 80}))
        );
        assert_eq!(
            messages(coerce(json!({"from_port": 80}), &ty)),
            ["missing required attribute `protocol`"]
        );
        let typo = coerce(json!({"protocol": "tcp", "from_prt": 1}), &ty).unwrap_err();
        assert_eq!(typo[0].message, "unknown attribute `from_prt`");
        assert_eq!(typo[0].hint.as_deref(), Some("did you mean `from_port`?"));
        assert_eq!(
            messages(coerce(
                json!([{"protocol": 6, "from_port": "x"}, {"from_port": 1}]),
                &RULES
            )),
            [
                "item 1: `from_port`: expected an integer, found a string",
                "item 2: missing required attribute `protocol`",
            ],
            "all of them, each placed in the value"
        );
    }
}
