//! Where in the blueprint file a finding points: the attribute's line of the resource (or
//! the item of a list attribute), falling back to the resource's declaration.

use super::Spot;
use crate::blueprint::yaml::{self, Node, NodeValue};
use crate::blueprint::Pos;

pub struct Locator {
    root: Option<Node>,
}

impl Locator {
    /// `source` is the blueprint text the instances were expanded from.
    pub fn new(source: &str) -> Locator {
        Locator {
            root: yaml::parse(source).ok(),
        }
    }

    /// The position of `spot` inside resource `resource`; `declared` when it cannot be
    /// found (a value from a variable has no item of its own in the resource).
    pub fn find(&self, resource: &str, spot: &Spot, declared: Pos) -> Pos {
        let Some(decl) = self
            .root
            .as_ref()
            .and_then(|r| r.get("resources"))
            .and_then(|r| r.get(resource))
        else {
            return declared;
        };
        let (name, index) = match spot {
            Spot::Resource => return declared,
            Spot::Attr(name) => (*name, None),
            Spot::Item(name, i) => (*name, Some(*i)),
            Spot::Named(name) => (name.as_str(), None),
        };
        let Some((key, value)) = decl
            .as_map()
            .and_then(|entries| entries.iter().find(|(k, _)| k.name == name))
        else {
            return declared;
        };
        match (index, &value.value) {
            (Some(i), NodeValue::Seq(items)) => items.get(i).map_or(key.pos, |item| item.pos),
            _ => key.pos,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "resources:\n  web:\n    kind: ec2.security_group\n    ingress:\n      - { protocol: tcp, from_port: 443, to_port: 443 }\n      - { protocol: tcp, from_port: 22, to_port: 22 }\n";

    #[test]
    fn points_at_the_attribute_the_item_or_the_declaration() {
        let locator = Locator::new(TEXT);
        let declared = Pos { line: 2, col: 3 };
        assert_eq!(
            locator.find("web", &Spot::Attr("ingress"), declared),
            Pos { line: 4, col: 5 }
        );
        assert_eq!(
            locator.find("web", &Spot::Item("ingress", 1), declared),
            Pos { line: 6, col: 9 }
        );
        assert_eq!(
            locator.find("web", &Spot::Attr("egress"), declared),
            declared
        );
        assert_eq!(
            locator.find("nope", &Spot::Attr("ingress"), declared),
            declared
        );
    }
}
