//! The error collector every expansion step reports to, and the small node readers they share.

use crate::blueprint::diagnostics::{unknown, Diagnostic, Pos, Problem};
use crate::blueprint::yaml::{Key, Node, NodeValue};
use crate::kinds::Registry;

pub(super) struct Expander<'r> {
    diags: Vec<Diagnostic>,
    /// The kinds a resource may be.
    pub(super) registry: &'r Registry,
}

impl<'r> Expander<'r> {
    pub(super) fn new(registry: &'r Registry) -> Self {
        Expander {
            diags: Vec::new(),
            registry,
        }
    }

    /// `made`, or every error reported while it was made.
    pub(super) fn finish<T>(self, made: T) -> Result<T, Vec<Diagnostic>> {
        if self.diags.is_empty() {
            Ok(made)
        } else {
            Err(self.diags)
        }
    }

    pub(super) fn error(&mut self, pos: Pos, message: impl Into<String>, hint: Option<String>) {
        self.report(Problem::new(message, hint).at(pos));
    }

    pub(super) fn report(&mut self, diagnostic: Diagnostic) {
        self.diags.push(diagnostic);
    }

    /// Reports every key of a map that is not one of `known` (see [`unknown`]).
    pub(super) fn check_keys(
        &mut self,
        entries: &[(Key, Node)],
        (what, place): (&str, Option<&str>),
        known: &[&str],
    ) {
        for (key, _) in entries {
            if !known.contains(&key.name.as_str()) {
                let problem = unknown(what, &key.name, place, known.iter().copied());
                self.report(problem.at(key.pos));
            }
        }
    }

    pub(super) fn optional_string(&mut self, parent: &Node, key: &str) -> Option<String> {
        let node = parent.get(key)?;
        match &node.value {
            NodeValue::Str(s) => Some(s.clone()),
            _ => {
                self.error(
                    node.pos,
                    format!("`{key}` must be a string, found {}", node.type_name()),
                    None,
                );
                None
            }
        }
    }

    pub(super) fn map_entries<'n>(&mut self, node: &'n Node, what: &str) -> &'n [(Key, Node)] {
        match node.as_map() {
            Some(entries) => entries,
            None if node.value == NodeValue::Null => &[],
            None => {
                self.error(
                    node.pos,
                    format!("{what} must be a map, found {}", node.type_name()),
                    None,
                );
                &[]
            }
        }
    }
}

/// Where `key` is written in the map `map`.
pub(super) fn key_pos(map: &Node, key: &str) -> Option<Pos> {
    map.as_map()?
        .iter()
        .find(|(k, _)| k.name == key)
        .map(|(k, _)| k.pos)
}
