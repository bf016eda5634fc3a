//! Static description of a kind's attributes: enough to validate a blueprint, fill defaults
//! and decide between update-in-place and replace, without touching AWS.

use serde_json::Value;

/// The shape an attribute value must have.
#[derive(Debug, Clone, Copy)]
pub enum AttrType {
    String,
    Int,
    Bool,
    /// An IPv4 CIDR block such as 10.0.0.0/16.
    Cidr,
    List(&'static AttrType),
    /// string -> string, e.g. tags.
    StringMap,
    /// A nested object with its own attributes (a security group rule, a route).
    Object(&'static [Attr]),
    /// Any YAML value, sent as JSON (IAM policy documents).
    Json,
}

impl AttrType {
    /// Human name used in error messages: "a list of strings".
    pub fn describe(&self) -> String {
        match self {
            AttrType::String => "a string".into(),
            AttrType::Int => "an integer".into(),
            AttrType::Bool => "true or false".into(),
            AttrType::Cidr => "an IPv4 CIDR block (like 10.0.0.0/16)".into(),
            AttrType::List(item) => format!("a list of {}", plural(&item.describe())),
            AttrType::StringMap => "a map of strings".into(),
            AttrType::Object(_) => "a map of attributes".into(),
            AttrType::Json => "any value".into(),
        }
    }
}

fn plural(one: &str) -> String {
    let bare = one.trim_start_matches("an ").trim_start_matches("a ");
    match bare {
        "string" | "integer" => format!("{bare}s"),
        other => other.to_string(),
    }
}

/// Whether AWS changes a `force_new` attribute from the first value to the second in place
/// (`None`: not set).
pub type InPlace = fn(Option<&Value>, Option<&Value>) -> bool;

/// One attribute of a kind, named after the AWS API field in snake_case.
#[derive(Debug, Clone, Copy)]
pub struct Attr {
    pub name: &'static str,
    pub ty: AttrType,
    pub required: bool,
    /// Changing it cannot be done in place: the resource is replaced.
    pub force_new: bool,
    /// For a `force_new` attribute, the changes AWS does make in place after all (a VPC's
    /// tenancy from dedicated to default, encryption added to an EKS cluster), given the
    /// value before and after.
    pub in_place_when: Option<InPlace>,
    /// Never written to state or printed (passwords, keys).
    pub sensitive: bool,
    /// JSON text of the value AWS uses when the blueprint says nothing; planned back to it
    /// when an attribute is removed from the blueprint.
    pub default: Option<&'static str>,
    /// AWS keeps the value in its own case (RDS lower-cases names and windows), so two
    /// spellings that differ only in case are the same value.
    pub ignore_case: bool,
    /// A set: AWS keeps no order among its items (rules, subnet ids, CIDR lists), so two
    /// values with the same items in another order are the same value.
    pub unordered: bool,
    /// What AWS enforces on the value, checked offline by `validate`.
    pub rule: Rule,
}

/// A constraint AWS puts on an attribute's value beyond its type. For a list, it applies to
/// every item (a list of log types, each one of the allowed ones).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    None,
    /// One of these strings, spelled exactly (AWS enums are case-sensitive).
    OneOf(&'static [&'static str]),
    /// An integer from `min` to `max`, both included.
    Range {
        min: i64,
        max: i64,
    },
    /// A list with `min` to `max` items, both included.
    Items {
        min: usize,
        max: usize,
    },
    /// A string starting with `required` but not with `reserved` (a KMS alias name:
    /// `alias/...`, never `alias/aws/...`, which AWS keeps for its own keys).
    Prefix {
        required: &'static str,
        reserved: &'static str,
    },
}

impl Attr {
    /// An optional attribute, updatable in place, no default.
    pub const fn optional(name: &'static str, ty: AttrType) -> Attr {
        Attr {
            name,
            ty,
            required: false,
            force_new: false,
            in_place_when: None,
            sensitive: false,
            default: None,
            ignore_case: false,
            unordered: false,
            rule: Rule::None,
        }
    }

    pub const fn required(name: &'static str, ty: AttrType) -> Attr {
        Attr {
            required: true,
            ..Attr::optional(name, ty)
        }
    }

    pub const fn force_new(self) -> Attr {
        Attr {
            force_new: true,
            ..self
        }
    }

    /// Replaced when it changes, except for the changes `in_place` accepts, given the value
    /// before and after (`None`: not set).
    pub const fn force_new_unless(
        self,
        in_place: fn(Option<&Value>, Option<&Value>) -> bool,
    ) -> Attr {
        Attr {
            force_new: true,
            in_place_when: Some(in_place),
            ..self
        }
    }

    /// Whether changing the value from `before` to `after` replaces the resource.
    pub fn replaces(&self, before: Option<&Value>, after: Option<&Value>) -> bool {
        self.force_new
            && !self
                .in_place_when
                .is_some_and(|in_place| in_place(before, after))
    }

    /// The value must be one of `values` (an AWS enum).
    pub const fn one_of(self, values: &'static [&'static str]) -> Attr {
        Attr {
            rule: Rule::OneOf(values),
            ..self
        }
    }

    /// The value must be an integer from `min` to `max`, both included.
    pub const fn range(self, min: i64, max: i64) -> Attr {
        Attr {
            rule: Rule::Range { min, max },
            ..self
        }
    }

    /// The list must have `min` to `max` items, both included.
    pub const fn items(self, min: usize, max: usize) -> Attr {
        Attr {
            rule: Rule::Items { min, max },
            ..self
        }
    }

    /// The string must start with `required` and not with `reserved`.
    pub const fn prefixed(self, required: &'static str, reserved: &'static str) -> Attr {
        Attr {
            rule: Rule::Prefix { required, reserved },
            ..self
        }
    }

    pub const fn unordered(self) -> Attr {
        Attr {
            unordered: true,
            ..self
        }
    }

    /// Whether `a` and `b` are the same value of this attribute (see [`Attr::unordered`]).
    pub fn same(&self, a: &Value, b: &Value) -> bool {
        if let (true, Value::String(a), Value::String(b)) = (self.ignore_case, a, b) {
            return a.eq_ignore_ascii_case(b);
        }
        if self.unordered {
            super::same_set_value(a, b)
        } else {
            super::same_value(a, b)
        }
    }

    /// Compared without regard to case: see [`Attr::ignore_case`].
    pub const fn ignore_case(self) -> Attr {
        Attr {
            ignore_case: true,
            ..self
        }
    }

    pub const fn sensitive(self) -> Attr {
        Attr {
            sensitive: true,
            ..self
        }
    }

    pub const fn default(self, json: &'static str) -> Attr {
        Attr {
            default: Some(json),
            ..self
        }
    }

    pub fn default_value(&self) -> Option<Value> {
        self.default.map(|json| {
            serde_json::from_str(json)
                .unwrap_or_else(|e| panic!("default of {} is not JSON: {e}", self.name))
        })
    }
}

/// Whether `attrs` include the `tags` attribute (a const fn cannot compare `str`s).
const fn has_tags(attrs: &[Attr]) -> bool {
    let mut i = 0;
    while i < attrs.len() {
        if same_bytes(attrs[i].name.as_bytes(), super::TAGS.name.as_bytes()) {
            return true;
        }
        i += 1;
    }
    false
}

const fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Everything the engine knows about a kind without calling AWS.
#[derive(Debug)]
pub struct Schema {
    /// "ec2.subnet"
    pub name: &'static str,
    pub attrs: &'static [Attr],
    /// Computed attributes besides `id` that references may read (`${gw.arn}`).
    pub outputs: &'static [&'static str],
    /// Whether the resource carries tags (and therefore innovate's identity tags).
    pub taggable: bool,
    /// Where the kind stands in the architecture (pictures group by it).
    pub tier: super::Tier,
    /// How the cost estimate prices an instance.
    pub price: super::Price,
}

impl Schema {
    /// A kind's schema from its name, tier and attributes (a spec's `ATTRS`): no outputs
    /// besides `id`, free of charge, taggable when the attributes include
    /// [`TAGS`](super::TAGS).
    pub const fn new(name: &'static str, tier: super::Tier, attrs: &'static [Attr]) -> Schema {
        Schema {
            name,
            attrs,
            outputs: &[],
            taggable: has_tags(attrs),
            tier,
            price: super::Price::Free,
        }
    }

    /// The computed attributes references may read besides `id`.
    pub const fn outputs(self, outputs: &'static [&'static str]) -> Schema {
        Schema { outputs, ..self }
    }

    /// Priced by `model` over the instance's attributes (`crate::cost::models`).
    pub const fn priced(self, model: fn(&super::Attrs) -> super::Pricing) -> Schema {
        Schema {
            price: super::Price::Model(model),
            ..self
        }
    }

    pub fn attr(&self, name: &str) -> Option<&'static Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }

    /// Whether `${x.NAME}` is readable on this kind: id, an output or an attribute.
    pub fn is_readable(&self, name: &str) -> bool {
        name == "id" || self.outputs.contains(&name) || self.attr(name).is_some()
    }

    pub fn readable_names(&self) -> Vec<&'static str> {
        let mut names = vec!["id"];
        names.extend(self.outputs.iter().copied());
        names.extend(self.attrs.iter().map(|a| a.name));
        names
    }
}
