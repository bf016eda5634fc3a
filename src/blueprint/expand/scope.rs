//! What `${...}` can see: the declared resources with how many instances each has, and
//! the variables, environment and instance being expanded.

use crate::address::{Address, InstanceKey};
use crate::blueprint::diagnostics::Pos;
use crate::blueprint::yaml::Node;
use crate::kinds::Schema;
use serde_json::Value;
use std::collections::BTreeMap;

/// How many instances a resource has.
#[derive(Debug, Clone)]
pub(super) enum Mode {
    Single,
    Count(usize),
    ForEach(Vec<(String, Value)>),
}

/// A resource as declared, before its instances are expanded.
pub(super) struct Decl<'n> {
    pub(super) name: String,
    pub(super) pos: Pos,
    pub(super) node: &'n Node,
    pub(super) schema: Option<&'static Schema>,
    pub(super) mode: Mode,
}

/// One instance to expand: its key, and what `count.index` / `each` mean inside it.
pub(super) type InstanceSlot = (Option<InstanceKey>, Option<usize>, Option<(String, Value)>);

impl Decl<'_> {
    pub(super) fn instance_keys(&self) -> Vec<InstanceSlot> {
        match &self.mode {
            Mode::Single => vec![(None, None, None)],
            Mode::Count(n) => (0..*n)
                .map(|i| (Some(InstanceKey::Index(i)), Some(i), None))
                .collect(),
            Mode::ForEach(entries) => entries
                .iter()
                .map(|(k, v)| {
                    (
                        Some(InstanceKey::Key(k.clone())),
                        None,
                        Some((k.clone(), v.clone())),
                    )
                })
                .collect(),
        }
    }

    pub(super) fn addresses(&self) -> Vec<Address> {
        self.instance_keys()
            .into_iter()
            .map(|(key, _, _)| Address {
                resource: self.name.clone(),
                key,
            })
            .collect()
    }
}

/// What `${...}` can see while one value is expanded.
pub(super) struct Scope<'a> {
    pub(super) env: &'a str,
    pub(super) region: &'a str,
    pub(super) vars: &'a BTreeMap<String, Value>,
    pub(super) count_index: Option<usize>,
    pub(super) each: Option<&'a (String, Value)>,
    pub(super) decls: &'a BTreeMap<String, Decl<'a>>,
    /// The resource being expanded (a reference to itself is an error).
    pub(super) current: Option<&'a str>,
}

impl Scope<'_> {
    /// The kind of a declared resource, when it is known.
    pub(super) fn kind_of(&self, resource: &str) -> Option<&'static str> {
        self.decls.get(resource)?.schema.map(|s| s.name)
    }
}
