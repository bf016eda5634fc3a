//! A kind's attributes, declared once: [`spec!`](crate::spec) writes both the spec struct a
//! kind reads its blueprint values into and the schema attributes `validate` and `plan`
//! check them against, from one list, so the two cannot drift apart.

use super::{Attr, AttrType, Attrs, KindError, KindResult, Schema};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The `tags` attribute of every taggable kind. Its value reaches a kind merged with
/// innovate's identity tags through the `tags` argument, so spec structs leave it out.
pub const TAGS: Attr = Attr::optional("tags", AttrType::StringMap).default("{}");

/// Declares a spec struct and its schema attributes in one list.
///
/// ```ignore
/// spec! {
///     /// What the blueprint says about a subnet.
///     pub(super) struct Spec with tags {
///         vpc_id: String = required(AttrType::String).force_new(),
///         map_public_ip_on_launch: bool = optional(AttrType::Bool).default("false"),
///     }
/// }
/// const SCHEMA: Schema = Schema::new("ec2.subnet", Tier::Network, Spec::ATTRS);
/// ```
///
/// Each field is `NAME: RUST_TYPE = CONSTRUCTOR(ATTR_TYPE) .BUILDER(..)*`, where the
/// constructor and builders are those of [`Attr`]. `with tags` appends [`TAGS`] to the
/// attributes (the struct leaves it out). The struct denies unknown fields.
#[macro_export]
macro_rules! spec {
    ($(#[$meta:meta])* $vis:vis struct $name:ident with tags { $($body:tt)* }) => {
        $crate::spec!(@emit [$(#[$meta])*] $vis $name [$crate::kinds::TAGS] { $($body)* });
    };
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($body:tt)* }) => {
        $crate::spec!(@emit [$(#[$meta])*] $vis $name [] { $($body)* });
    };
    (@emit [$($meta:tt)*] $vis:vis $name:ident [$($extra:expr)?] {
        $(
            $(#[$field_meta:meta])*
            $field:ident : $ty:ty = $ctor:ident ( $attr_ty:expr ) $( . $builder:ident ( $($arg:expr),* ) )*
        ),* $(,)?
    }) => {
        $($meta)*
        #[derive(Debug, Clone, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        $vis struct $name {
            $( $(#[$field_meta])* pub $field: $ty, )*
        }

        impl $name {
            /// The schema attributes of this spec, in declaration order.
            pub const ATTRS: &'static [$crate::kinds::Attr] = &[
                $( $crate::kinds::Attr::$ctor($crate::kinds::attr_name(stringify!($field)), $attr_ty) $( .$builder($($arg),*) )* , )*
                $($extra)?
            ];
        }
    };
}

/// The attribute name of a spec field: a raw identifier (`r#type`) names the attribute
/// without its `r#`, as serde names the field.
#[doc(hidden)]
pub const fn attr_name(field: &'static str) -> &'static str {
    match field.as_bytes() {
        [b'r', b'#', rest @ ..] => match std::str::from_utf8(rest) {
            Ok(name) => name,
            Err(_) => field,
        },
        _ => field,
    }
}

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

/// An attribute's value in `attrs`, or its schema default when it is missing or null.
pub fn value_or_default(attr: &Attr, attrs: &Attrs) -> Value {
    match attrs.get(attr.name) {
        Some(value) if !value.is_null() => value.clone(),
        _ => attr.default_value().unwrap_or(Value::Null),
    }
}

/// Whether attribute `name` differs between what state recorded and what the blueprint
/// wants, counting an absent attribute as its default and comparing as the plan does
/// ([`Attr::same`]: sets by their items, numbers by value).
pub fn changed(schema: &Schema, prior: &Attrs, desired: &Attrs, name: &str) -> bool {
    schema.attr(name).is_some_and(|attr| {
        let before = value_or_default(attr, prior);
        !attr.same(&before, &value_or_default(attr, desired))
    })
}

/// Fails when a schema default does not deserialize into its field's Rust type, or the
/// struct needs more than the required attributes: the one check [`spec!`](crate::spec)
/// cannot make at compile time (run for every registered kind by the registry's tests).
#[cfg(test)]
pub fn spec_fits_schema<T: DeserializeOwned>(schema: &Schema) -> Result<(), String> {
    fn sample(ty: &AttrType) -> Value {
        use serde_json::json;
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
    let samples = |required_only: bool| -> Attrs {
        let attrs = schema.attrs.iter().filter(|a| a.required || !required_only);
        attrs.map(|a| (a.name.to_string(), sample(&a.ty))).collect()
    };
    parse_spec::<T>(schema, &samples(false))
        .map_err(|err| format!("{} spec does not fit its schema: {err}", schema.name))?;
    parse_spec::<T>(schema, &samples(true)).map_err(|err| {
        format!(
            "{} spec needs more than required attrs and defaults: {err}",
            schema.name
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::{Price, Tier};
    use serde_json::json;

    crate::spec! {
        struct Rule {
            port: i64 = required(AttrType::Int).range(0, 65535),
        }
    }

    crate::spec! {
        struct Spec with tags {
            cidr_block: String = required(AttrType::Cidr).force_new(),
            enable: bool = optional(AttrType::Bool).default("true"),
            rules: Vec<Rule> = optional(AttrType::List(&AttrType::Object(Rule::ATTRS))).default("[]"),
        }
    }

    static SCHEMA: Schema = Schema {
        name: "test.kind",
        attrs: Spec::ATTRS,
        outputs: &[],
        taggable: true,
        tier: Tier::Network,
        price: Price::Free,
    };

    #[test]
    fn one_declaration_gives_the_struct_and_the_schema() {
        let names: Vec<&str> = SCHEMA.attrs.iter().map(|a| a.name).collect();
        assert_eq!(names, ["cidr_block", "enable", "rules", "tags"]);
        assert!(SCHEMA.attr("cidr_block").unwrap().force_new);
        let AttrType::List(AttrType::Object(rule)) = SCHEMA.attr("rules").unwrap().ty else {
            panic!("rules is a list of objects");
        };
        assert_eq!(
            rule[0].rule,
            super::super::Rule::Range { min: 0, max: 65535 }
        );
        spec_fits_schema::<Spec>(&SCHEMA).unwrap();
    }

    #[test]
    fn parse_spec_fills_defaults_and_drops_tags_and_unknown_keys() {
        let attrs = json!({"cidr_block": "10.0.0.0/16", "tags": {"a": "b"}, "count": 3});
        let spec: Spec = parse_spec(&SCHEMA, attrs.as_object().unwrap()).unwrap();
        assert_eq!(spec.cidr_block, "10.0.0.0/16");
        assert!(spec.enable && spec.rules.is_empty());
        let with_rule = json!({"cidr_block": "10.0.0.0/16", "rules": [{"port": 443}]});
        let spec: Spec = parse_spec(&SCHEMA, with_rule.as_object().unwrap()).unwrap();
        assert_eq!(spec.rules[0].port, 443);
        let bad = json!({"cidr_block": 5});
        let err = parse_spec::<Spec>(&SCHEMA, bad.as_object().unwrap()).unwrap_err();
        assert!(err.message.contains("attributes do not fit"), "{err}");
    }
}
