//! Type checks of attribute values against a kind's schema, with the gentle coercions YAML
//! users expect (`version: 1.30` is the string "1.30" where a string is wanted).

use crate::kinds::AttrType;
use serde_json::Value;

/// Checks `value` against `ty` and returns it coerced, or says what is wrong.
pub fn coerce(value: Value, ty: &AttrType) -> Result<Value, String> {
    match (ty, value) {
        (_, Value::Null) => Ok(Value::Null),
        (AttrType::Json, v) => Ok(v),
        (AttrType::String, Value::String(s)) => Ok(Value::String(s)),
        (AttrType::String, v @ (Value::Number(_) | Value::Bool(_))) => {
            Ok(Value::String(v.to_string()))
        }
        (AttrType::Int, Value::Number(n)) if n.is_i64() => Ok(Value::Number(n)),
        (AttrType::Bool, Value::Bool(b)) => Ok(Value::Bool(b)),
        (AttrType::Cidr, Value::String(s)) => cidr(&s).map(|()| Value::String(s)),
        (AttrType::List(item), Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| coerce(v, item).map_err(|e| format!("item {}: {e}", i + 1)))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        (AttrType::StringMap, Value::Object(map)) => map
            .into_iter()
            .map(|(k, v)| {
                coerce(v, &AttrType::String)
                    .map(|v| (k.clone(), v))
                    .map_err(|e| format!("`{k}`: {e}"))
            })
            .collect::<Result<_, _>>()
            .map(Value::Object),
        (AttrType::Object(attrs), Value::Object(map)) => {
            for attr in attrs.iter().filter(|a| a.required) {
                if !map.contains_key(attr.name) {
                    return Err(format!("missing required attribute `{}`", attr.name));
                }
            }
            map.into_iter()
                .map(|(k, v)| match attrs.iter().find(|a| a.name == k) {
                    Some(attr) => coerce(v, &attr.ty)
                        .map(|v| (k, v))
                        .map_err(|e| format!("`{}`: {e}", attr.name)),
                    None => Err(unknown_field(&k, attrs.iter().map(|a| a.name))),
                })
                .collect::<Result<_, _>>()
                .map(Value::Object)
        }
        (ty, other) => Err(format!(
            "expected {}, found {}",
            ty.describe(),
            json_type(&other)
        )),
    }
}

pub fn unknown_field<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    match super::diagnostics::did_you_mean(name, candidates.iter().copied()) {
        Some(hint) => format!("unknown attribute `{name}` ({hint})"),
        None => format!(
            "unknown attribute `{name}` (known: {})",
            candidates.join(", ")
        ),
    }
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

    #[test]
    fn coerces_scalars_to_strings_but_not_strings_to_numbers() {
        assert_eq!(coerce(json!(1.5), &AttrType::String), Ok(json!("1.5")));
        assert_eq!(
            coerce(json!("80"), &AttrType::Int),
            Err("expected an integer, found a string".into())
        );
        assert_eq!(
            coerce(json!("x"), &AttrType::List(&AttrType::String)),
            Err("expected a list of strings, found a string".into())
        );
    }

    #[test]
    fn nested_objects_report_the_field() {
        let ty = AttrType::Object(&RULE);
        assert_eq!(
            coerce(json!({"protocol": "tcp", "from_port": 80}), &ty),
            Ok(json!({"protocol": "tcp", "from_port": 80}))
        );
        assert_eq!(
            coerce(json!({"from_port": 80}), &ty),
            Err("missing required attribute `protocol`".into())
        );
        assert!(coerce(json!({"protocol": "tcp", "from_prt": 1}), &ty)
            .unwrap_err()
            .contains("did you mean `from_port`"));
        assert_eq!(
            coerce(json!({"protocol": "tcp", "from_port": "x"}), &ty),
            Err("`from_port`: expected an integer, found a string".into())
        );
    }
}
