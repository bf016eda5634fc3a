//! Resource instance addresses: `main`, `private[1]`, `app["http"]`. The same form is used in
//! blueprints, plan output, state files and on the command line.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Which instance of a resource with `count` or `for_each`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstanceKey {
    Index(usize),
    Key(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    pub resource: String,
    pub key: Option<InstanceKey>,
}

impl Address {
    pub fn single(resource: impl Into<String>) -> Self {
        Address {
            resource: resource.into(),
            key: None,
        }
    }

    pub fn indexed(resource: impl Into<String>, index: usize) -> Self {
        Address {
            resource: resource.into(),
            key: Some(InstanceKey::Index(index)),
        }
    }

    pub fn keyed(resource: impl Into<String>, key: impl Into<String>) -> Self {
        Address {
            resource: resource.into(),
            key: Some(InstanceKey::Key(key.into())),
        }
    }

    /// Whether this address, used as a `--target`, selects `other`: `private` selects every
    /// instance of private; `private[1]` only itself.
    pub fn selects(&self, other: &Address) -> bool {
        self.resource == other.resource && (self.key.is_none() || self.key == other.key)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            None => write!(f, "{}", self.resource),
            Some(InstanceKey::Index(i)) => write!(f, "{}[{i}]", self.resource),
            Some(InstanceKey::Key(k)) => write!(f, "{}[{}]", self.resource, quote(k)),
        }
    }
}

fn quote(key: &str) -> String {
    serde_json::to_string(key).expect("a string always serialises")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a resource address ({why}); addresses look like main, private[1] or app[\"http\"]")]
pub struct AddressError {
    input: String,
    why: &'static str,
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |why| AddressError {
            input: input.to_string(),
            why,
        };
        let (name, rest) = match input.find('[') {
            Some(i) => (&input[..i], Some(&input[i..])),
            None => (input, None),
        };
        if !is_identifier(name) {
            return Err(err("a resource name has letters, digits and _ only"));
        }
        let key = match rest {
            None => None,
            Some(rest) => {
                let inner = rest
                    .strip_prefix('[')
                    .and_then(|r| r.strip_suffix(']'))
                    .ok_or_else(|| err("unbalanced brackets"))?;
                Some(parse_key(inner).ok_or_else(|| err("the index is a number or a quoted key"))?)
            }
        };
        Ok(Address {
            resource: name.to_string(),
            key,
        })
    }
}

fn parse_key(inner: &str) -> Option<InstanceKey> {
    if let Ok(index) = inner.parse::<usize>() {
        return Some(InstanceKey::Index(index));
    }
    if inner.starts_with('"') {
        return serde_json::from_str::<String>(inner)
            .ok()
            .map(InstanceKey::Key);
    }
    None
}

/// Letters, digits and `_`, not starting with a digit.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_form() {
        for text in [
            "main",
            "private[1]",
            "app[\"http\"]",
            "app[\"with \\\"quote\"]",
        ] {
            let address: Address = text.parse().unwrap();
            assert_eq!(address.to_string(), text);
        }
        assert_eq!(
            "app[\"http\"]".parse::<Address>().unwrap(),
            Address::keyed("app", "http")
        );
    }

    #[test]
    fn rejects_malformed_addresses() {
        for text in ["", "1abc", "a[", "a[x]", "a-b", "a[1]]"] {
            assert!(
                text.parse::<Address>().is_err(),
                "{text} should be rejected"
            );
        }
    }

    #[test]
    fn a_bare_name_selects_all_its_instances() {
        let all = Address::single("private");
        assert!(all.selects(&Address::indexed("private", 2)));
        assert!(!Address::indexed("private", 1).selects(&Address::indexed("private", 2)));
        assert!(!all.selects(&Address::single("public")));
    }
}
