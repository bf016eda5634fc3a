//! How many instances a resource has: `count` or `for_each`, known before apply.

use super::expander::Expander;
use super::scope::{Mode, Scope};
use crate::blueprint::check::json_type;
use crate::blueprint::diagnostics::Pos;
use crate::blueprint::expr::{parse_template, Expr, Segment};
use crate::blueprint::template::Tmpl;
use crate::blueprint::yaml::{Node, NodeValue};
use serde_json::Value;

/// The most instances one resource may have (documented in README.md). A plan of that many
/// still reads and applies in reasonable time; beyond it, a slip such as `count: 10000` for
/// 10 would create thousands of resources, and `count: 1e12` would exhaust memory first.
pub const MAX_INSTANCES: usize = 1_000;

impl Expander<'_> {
    /// How many instances `node` declares, at most [`MAX_INSTANCES`].
    pub(super) fn mode(&mut self, node: &Node, scope: &Scope) -> Mode {
        let mode = self.declared_mode(node, scope);
        let (what, at) = match (node.get("count"), node.get("for_each")) {
            (Some(count), _) => ("count", count.pos),
            (None, Some(each)) => ("for_each", each.pos),
            (None, None) => return mode,
        };
        self.bounded(mode, what, at)
    }

    /// `mode`, cut to [`MAX_INSTANCES`] with an error when it has more.
    fn bounded(&mut self, mode: Mode, what: &str, at: Pos) -> Mode {
        let instances = match &mode {
            Mode::Single => 1,
            Mode::Count(n) => *n,
            Mode::ForEach(entries) => entries.len(),
        };
        if instances <= MAX_INSTANCES {
            return mode;
        }
        self.error(
            at,
            format!("`{what}` makes {instances} instances; a resource has at most {MAX_INSTANCES}"),
            Some(format!(
                "split it into several resources of up to {MAX_INSTANCES} instances, or check the number for a slip"
            )),
        );
        match mode {
            Mode::ForEach(mut entries) => {
                entries.truncate(MAX_INSTANCES);
                Mode::ForEach(entries)
            }
            _ => Mode::Count(MAX_INSTANCES),
        }
    }

    fn declared_mode(&mut self, node: &Node, scope: &Scope) -> Mode {
        match (node.get("count"), node.get("for_each")) {
            (Some(count), Some(_)) => {
                self.error(
                    count.pos,
                    "a resource has `count` or `for_each`, not both",
                    None,
                );
                Mode::Single
            }
            (Some(count), None) => match self.known(count, scope, "count") {
                Some(Value::Number(n)) if n.as_u64().is_some() => {
                    // Saturates: a count beyond usize is over the bound all the same.
                    Mode::Count(
                        n.as_u64()
                            .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX)),
                    )
                }
                Some(other) => {
                    self.error(
                        count.pos,
                        format!(
                            "`count` must be a whole number, found {}",
                            json_type(&other)
                        ),
                        None,
                    );
                    Mode::Count(0)
                }
                None => Mode::Count(0),
            },
            (None, Some(each)) => match self.known(each, scope, "for_each") {
                Some(Value::Object(map)) => Mode::ForEach(map.into_iter().collect()),
                Some(Value::Array(items)) => self.for_each_list(each.pos, items),
                Some(other) => {
                    self.error(
                        each.pos,
                        format!(
                            "`for_each` must be a map or a list of strings, found {}",
                            json_type(&other)
                        ),
                        None,
                    );
                    Mode::ForEach(Vec::new())
                }
                None => Mode::ForEach(Vec::new()),
            },
            (None, None) => Mode::Single,
        }
    }

    pub(super) fn for_each_list(&mut self, pos: Pos, items: Vec<Value>) -> Mode {
        let mut entries = Vec::new();
        for item in items {
            match item {
                Value::String(s) => entries.push((s.clone(), Value::String(s))),
                other => self.error(
                    pos,
                    format!(
                        "`for_each` list items must be strings, found {}",
                        json_type(&other)
                    ),
                    None,
                ),
            }
        }
        Mode::ForEach(entries)
    }

    /// A value that must be known before apply (count, for_each).
    pub(super) fn known(&mut self, node: &Node, scope: &Scope, what: &str) -> Option<Value> {
        if mentions_resource(node) {
            self.error(
                node.pos,
                format!("`{what}` must be known before apply"),
                Some("it can use variables, env and region, not resource attributes".into()),
            );
            return None;
        }
        match self.convert(node, None, scope) {
            Tmpl::Lit(v) => Some(v),
            _ => {
                self.error(
                    node.pos,
                    format!("`{what}` must be known before apply"),
                    Some("it can use variables, env and region, not resource attributes".into()),
                );
                None
            }
        }
    }
}

/// Whether a string in `node` reads a resource attribute.
pub(super) fn mentions_resource(node: &Node) -> bool {
    match &node.value {
        NodeValue::Str(text) => parse_template(text)
            .map(|segments| segments.iter().any(|s| matches!(s, Segment::Expr(Expr::Ref(_))) || matches!(s, Segment::Expr(Expr::Element(list, _)) if matches!(**list, Expr::Ref(_)))))
            .unwrap_or(false),
        NodeValue::Seq(items) => items.iter().any(mentions_resource),
        NodeValue::Map(entries) => entries.iter().any(|(_, v)| mentions_resource(v)),
        _ => false,
    }
}
