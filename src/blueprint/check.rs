//! Checks of attribute values against a kind's schema: their type, with the gentle coercions
//! YAML users expect (`version: 1.30` is the string "1.30" where a string is wanted), and the
//! rule AWS puts on them (an enum, a range, a number of items). Only known values are checked:
//! a reference is known after apply, and AWS checks it then.

use super::diagnostics::{did_you_mean, unknown, Problem};
use crate::kinds::{Attr, AttrType, Rule};
use serde_json::{Map, Value};

/// What a value must be: its type and the rule AWS enforces on it.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    pub ty: &'static AttrType,
    pub rule: Rule,
}

impl Expect {
    /// Only a type, no rule.
    pub const fn of(ty: &'static AttrType) -> Expect {
        Expect {
            ty,
            rule: Rule::None,
        }
    }

    pub fn attr(attr: &'static Attr) -> Expect {
        Expect {
            ty: &attr.ty,
            rule: attr.rule,
        }
    }

    /// What each item of a list must be: an enum or a range holds for every item, a number
    /// of items for the list alone. `None` when the value is no list.
    pub fn item(self) -> Option<Expect> {
        let AttrType::List(item) = self.ty else {
            return None;
        };
        let rule = match self.rule {
            Rule::Items { .. } => Rule::None,
            per_item => per_item,
        };
        Some(Expect { ty: item, rule })
    }

    /// The rule of a list's length, when it has one.
    pub fn length_rule(self) -> Option<(usize, usize)> {
        match (self.ty, self.rule) {
            (AttrType::List(_), Rule::Items { min, max }) => Some((min, max)),
            _ => None,
        }
    }
}

/// Checks `value` against what is expected and returns it coerced, or every problem found.
pub fn coerce(value: Value, expect: Expect) -> Result<Value, Vec<Problem>> {
    let mut problems = Vec::new();
    let value = coerce_into(value, expect, &mut problems);
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(problems)
    }
}

/// The type check, then (for a value of the right type) its rule.
fn coerce_into(value: Value, expect: Expect, problems: &mut Vec<Problem>) -> Value {
    let before = problems.len();
    let value = coerce_type(value, expect, problems);
    if problems.len() == before && !value.is_null() {
        problems.extend(rule_problem(&value, expect));
    }
    value
}

fn coerce_type(value: Value, expect: Expect, problems: &mut Vec<Problem>) -> Value {
    match (expect.ty, value) {
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
        (AttrType::List(_), Value::Array(items)) => {
            let item = expect.item().unwrap_or(expect);
            let each = items.into_iter().enumerate().map(|(i, v)| {
                within(problems, &format!("item {}", i + 1), |p| {
                    coerce_into(v, item, p)
                })
            });
            Value::Array(each.collect())
        }
        (AttrType::StringMap, Value::Object(map)) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = within(problems, &format!("`{k}`"), |p| {
                        coerce_into(v, Expect::of(&AttrType::String), p)
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
fn object(attrs: &'static [Attr], map: Map<String, Value>, problems: &mut Vec<Problem>) -> Value {
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
                let v = within(problems, &format!("`{k}`"), |p| {
                    coerce_into(v, Expect::attr(attr), p)
                });
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

/// What is wrong with a value of the right type under its rule, if anything. A list is
/// checked here for its number of items; its items were checked one by one.
pub fn rule_problem(value: &Value, expect: Expect) -> Option<Problem> {
    match (expect.rule, value) {
        (Rule::OneOf(allowed), Value::String(s)) if !allowed.contains(&s.as_str()) => {
            Some(not_one_of(s, allowed))
        }
        (Rule::Range { min, max }, Value::Number(n)) => {
            let n = n.as_i64()?;
            let message = format!("{n} is out of range");
            let hint = format!("must be from {min} to {max}");
            (n < min || n > max).then(|| Problem::new(message, Some(hint)))
        }
        (Rule::Items { .. }, Value::Array(items)) => length_problem(items.len(), expect),
        (Rule::Prefix { required, reserved }, Value::String(s)) => {
            prefix_problem(s, required, reserved)
        }
        _ => None,
    }
}

/// A name without the prefix AWS requires, or with the one it keeps for itself.
fn prefix_problem(value: &str, required: &str, reserved: &str) -> Option<Problem> {
    if !value.starts_with(required) {
        let message = format!("`{value}` does not start with `{required}`");
        return Some(Problem::new(
            message,
            Some(format!("write `{required}{value}`")),
        ));
    }
    value.starts_with(reserved).then(|| {
        let message = format!("`{value}` starts with `{reserved}`");
        Problem::new(message, Some(format!("`{reserved}` is reserved for AWS")))
    })
}

/// An enum value AWS does not know: the closest allowed one (ignoring case), and all of them.
fn not_one_of(value: &str, allowed: &[&str]) -> Problem {
    let all = format!("allowed: {}", allowed.join(", "));
    let hint = match did_you_mean(value, allowed.iter().copied()) {
        Some(close) => format!("{close} ({all})"),
        None => all,
    };
    let message = format!("`{value}` is not one of the allowed values");
    Problem::new(message, Some(hint))
}

/// A list of `len` items under an `Items` rule: a problem when it has too few or too many.
pub fn length_problem(len: usize, expect: Expect) -> Option<Problem> {
    let (min, max) = expect.length_rule()?;
    let noun = if len == 1 { "item" } else { "items" };
    let message = format!("the list has {len} {noun}");
    let hint = format!("must have {min} to {max} items");
    (len < min || len > max).then(|| Problem::new(message, Some(hint)))
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
    use serde_json::json;

    static RULE: [Attr; 3] = [
        Attr::required("protocol", AttrType::String).one_of(&["tcp", "udp", "icmp", "-1"]),
        Attr::optional("from_port", AttrType::Int).range(-1, 65535),
        Attr::optional("cidr_blocks", AttrType::List(&AttrType::Cidr)).items(1, 2),
    ];
    static OBJECT: AttrType = AttrType::Object(&RULE);
    static RULES: AttrType = AttrType::List(&OBJECT);
    static LOG_TYPES: Attr =
        Attr::optional("log_types", AttrType::List(&AttrType::String)).one_of(&["api", "audit"]);

    fn of(ty: &'static AttrType) -> Expect {
        Expect::of(ty)
    }

    fn messages(result: Result<Value, Vec<Problem>>) -> Vec<String> {
        result
            .expect_err("the value should be rejected")
            .into_iter()
            .map(|p| p.message)
            .collect()
    }

    #[test]
    fn a_prefix_rule_wants_its_prefix_and_refuses_the_reserved_one() {
        static ALIAS: Attr =
            Attr::required("name", AttrType::String).prefixed("alias/", "alias/aws/");
        let alias = Expect::attr(&ALIAS);
        assert_eq!(coerce(json!("alias/app"), alias), Ok(json!("alias/app")));
        let bare = coerce(json!("app"), alias).unwrap_err();
        assert_eq!(bare[0].message, "`app` does not start with `alias/`");
        assert_eq!(bare[0].hint.as_deref(), Some("write `alias/app`"));
        assert_eq!(
            messages(coerce(json!("alias/aws/s3"), alias)),
            ["`alias/aws/s3` starts with `alias/aws/`"]
        );
    }

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
        assert_eq!(coerce(json!(1.5), of(&AttrType::String)), Ok(json!("1.5")));
        assert_eq!(
            messages(coerce(json!("80"), of(&AttrType::Int))),
            ["expected an integer, found a string"]
        );
        assert_eq!(
            messages(coerce(json!("x"), of(&AttrType::List(&AttrType::String)))),
            ["expected a list of strings, found a string"]
        );
    }

    #[test]
    fn nested_objects_report_every_wrong_field() {
        let rule = json!({"protocol": "tcp", "from_port": 80});
        assert_eq!(coerce(rule.clone(), of(&OBJECT)), Ok(rule));
        assert_eq!(
            messages(coerce(json!({"from_port": 80}), of(&OBJECT))),
            ["missing required attribute `protocol`"]
        );
        let typo = coerce(json!({"protocol": "tcp", "from_prt": 1}), of(&OBJECT)).unwrap_err();
        assert_eq!(typo[0].message, "unknown attribute `from_prt`");
        assert_eq!(typo[0].hint.as_deref(), Some("did you mean `from_port`?"));
        assert_eq!(
            messages(coerce(
                json!([{"protocol": 6, "from_port": "x"}, {"from_port": 1}]),
                of(&RULES)
            )),
            [
                "item 1: `protocol`: `6` is not one of the allowed values",
                "item 1: `from_port`: expected an integer, found a string",
                "item 2: missing required attribute `protocol`",
            ],
            "all of them, each placed in the value"
        );
    }

    #[test]
    fn rules_of_nested_attributes_are_enforced_with_a_hint() {
        let wrong = json!({"protocol": "TCPP", "from_port": 70000, "cidr_blocks": []});
        let problems = coerce(wrong, of(&OBJECT)).unwrap_err();
        let shown: Vec<(&str, Option<&str>)> = problems
            .iter()
            .map(|p| (p.message.as_str(), p.hint.as_deref()))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "`protocol`: `TCPP` is not one of the allowed values",
                    Some("did you mean `tcp`? (allowed: tcp, udp, icmp, -1)")
                ),
                (
                    "`from_port`: 70000 is out of range",
                    Some("must be from -1 to 65535")
                ),
                (
                    "`cidr_blocks`: the list has 0 items",
                    Some("must have 1 to 2 items")
                ),
            ]
        );
        let at_the_bounds =
            json!({"protocol": "-1", "from_port": -1, "cidr_blocks": ["0.0.0.0/0"]});
        assert!(coerce(at_the_bounds, of(&OBJECT)).is_ok());
    }

    #[test]
    fn an_enum_rule_of_a_list_holds_for_each_item() {
        let expect = Expect::attr(&LOG_TYPES);
        assert!(coerce(json!(["api", "audit"]), expect).is_ok());
        let problems = coerce(json!(["api", "Audit", "nope"]), expect).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(
            problems[0].message,
            "item 2: `Audit` is not one of the allowed values"
        );
        assert_eq!(
            problems[0].hint.as_deref(),
            Some("did you mean `audit`? (allowed: api, audit)")
        );
        assert_eq!(problems[1].hint.as_deref(), Some("allowed: api, audit"));
    }
}
