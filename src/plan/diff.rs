//! The per-instance diff. Instances are planned in dependency order so that a reference to
//! something being created resolves to "(known after apply)" and one to something unchanged
//! resolves to its real id.

use super::{Action, Change, Step};
use crate::address::Address;
use crate::blueprint::template::{contains_unknown, UNKNOWN};
use crate::blueprint::{Blueprint, Instance};
use crate::kinds::{Attrs, Registry, Schema, LINEAGE_TAG};
use crate::state::{ResourceState, State};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

pub struct Planner<'a> {
    blueprint: &'a Blueprint,
    state: &'a State,
    registry: &'a Registry,
    planned: HashMap<Address, (Action, Attrs)>,
}

impl<'a> Planner<'a> {
    pub fn new(blueprint: &'a Blueprint, state: &'a State, registry: &'a Registry) -> Self {
        Planner {
            blueprint,
            state,
            registry,
            planned: HashMap::new(),
        }
    }

    pub fn plan_instance(&mut self, address: &Address) -> Step {
        let instance = self
            .blueprint
            .instance(address)
            .expect("DAG nodes come from the blueprint");
        let schema = self
            .registry
            .schema(&instance.kind)
            .expect("kinds were validated");
        let mut desired = desired_attrs(instance, schema, &|a, attr| self.lookup(a, attr));
        let prior = self.state.resources.get(address);
        let ignored = keep_ignored(&mut desired, prior, &instance.lifecycle.ignore_changes);
        let account = instance.resolve_account(&|a, attr| self.lookup(a, attr));
        let (action, mut changes) = match prior {
            None => (Action::Create, creation(schema, &desired)),
            Some(current) if current.kind != instance.kind => {
                let kind_change = Change {
                    attr: "kind".into(),
                    before: Some(Value::String(current.kind.clone())),
                    after: Some(Value::String(instance.kind.clone())),
                    forces_replacement: true,
                    sensitive: false,
                };
                (Action::Replace, vec![kind_change])
            }
            Some(current) => {
                let mut changes = changes(schema, &current.attrs, &desired);
                changes.extend(lineage_change(schema, current, &self.state.lineage));
                let action = if changes.is_empty() {
                    Action::NoOp
                } else if changes.iter().any(|c| c.forces_replacement) {
                    Action::Replace
                } else {
                    Action::Update
                };
                (action, changes)
            }
        };
        let action = match prior.and_then(|p| moved(p, &account)) {
            Some(change) => {
                changes.insert(0, change);
                Action::Replace
            }
            None => action,
        };
        self.planned.insert(address.clone(), (action, desired));
        Step {
            address: address.clone(),
            kind: instance.kind.clone(),
            action,
            changes,
            create_before_destroy: action == Action::Replace
                && instance.lifecycle.create_before_destroy,
            deposed: false,
            ignored,
            account,
            refused: None,
            note: None,
        }
    }

    /// `${address.attr}` as it will be after the steps planned so far.
    fn lookup(&self, address: &Address, attr: &str) -> Value {
        let unknown = || Value::String(UNKNOWN.into());
        match self.planned.get(address) {
            Some((Action::Create | Action::Replace, desired)) => {
                desired.get(attr).cloned().unwrap_or_else(unknown)
            }
            Some((_, desired)) => desired
                .get(attr)
                .cloned()
                .or_else(|| self.state.read(address, attr))
                .unwrap_or_else(unknown),
            None => self.state.read(address, attr).unwrap_or_else(unknown),
        }
    }

    pub fn outputs(&self) -> BTreeMap<String, Value> {
        self.blueprint
            .resolve_outputs(&|a, attr| self.lookup(a, attr))
    }
}

/// A resource this state owns but that does not carry its lineage tag yet (recorded before
/// owner tags existed, or imported): an in-place tag update gives it the tag.
fn lineage_change(schema: &Schema, current: &ResourceState, lineage: &str) -> Option<Change> {
    if !schema.taggable || current.owned_by(lineage) {
        return None;
    }
    Some(Change {
        attr: LINEAGE_TAG.into(),
        before: current.owner.get(LINEAGE_TAG).cloned().map(Value::String),
        after: Some(Value::String(lineage.into())),
        forces_replacement: false,
        sensitive: false,
    })
}

/// A resource cannot move between accounts: another account (or one not created yet)
/// means a new resource there.
fn moved(prior: &ResourceState, account: &Option<String>) -> Option<Change> {
    if &prior.account == account {
        return None;
    }
    let as_value = |a: &Option<String>| a.clone().map(Value::String);
    Some(Change {
        attr: "account".into(),
        before: as_value(&prior.account),
        after: as_value(account),
        forces_replacement: true,
        sensitive: false,
    })
}

/// `lifecycle.ignore_changes`: keeps the state's value of each listed attribute (nothing to
/// keep on a create). Returns the attributes whose blueprint value was set aside.
pub fn keep_ignored(
    desired: &mut Attrs,
    prior: Option<&ResourceState>,
    ignore: &[String],
) -> Vec<String> {
    let Some(prior) = prior else {
        return Vec::new();
    };
    let mut ignored = Vec::new();
    for name in ignore {
        let kept = prior.attrs.get(name).cloned();
        if desired.get(name) != kept.as_ref() {
            ignored.push(name.clone());
        }
        match kept {
            Some(value) => desired.insert(name.clone(), value),
            None => desired.remove(name),
        };
    }
    ignored
}

/// What the blueprint alone says an instance will have, without state or AWS: schema
/// defaults filled in, every reference unknown (for offline readers: cost, check).
pub fn offline_attrs(instance: &Instance, schema: &Schema) -> Attrs {
    desired_attrs(instance, schema, &|_, _| Value::String(UNKNOWN.into()))
}

/// The instance's attributes with references resolved and schema defaults filled in for
/// what the blueprint leaves out (so removing an attribute plans it back to AWS's default).
pub fn desired_attrs(
    instance: &Instance,
    schema: &Schema,
    lookup: &dyn Fn(&Address, &str) -> Value,
) -> Attrs {
    let mut attrs = Attrs::new();
    for attr in schema.attrs {
        let value = match instance.attr(attr.name) {
            Some(t) => t.resolve(lookup),
            None => attr.default_value().unwrap_or(Value::Null),
        };
        if !value.is_null() {
            attrs.insert(attr.name.to_string(), value);
        }
    }
    attrs
}

fn creation(schema: &Schema, desired: &Attrs) -> Vec<Change> {
    schema
        .attrs
        .iter()
        .filter_map(|attr| {
            let after = desired.get(attr.name).filter(|v| !is_empty_collection(v))?;
            Some(Change {
                attr: attr.name.into(),
                before: None,
                after: Some(after.clone()),
                forces_replacement: false,
                sensitive: attr.sensitive,
            })
        })
        .collect()
}

fn changes(schema: &Schema, current: &Attrs, desired: &Attrs) -> Vec<Change> {
    schema
        .attrs
        .iter()
        .filter_map(|attr| {
            let before = current.get(attr.name).filter(|v| !v.is_null());
            let after = desired.get(attr.name);
            if attr.sensitive && before.is_none() && after.is_some() && !current.is_empty() {
                // Sensitive values are never stored, so an unchanged one cannot be compared.
                return None;
            }
            let differs = match (before, after) {
                (Some(b), Some(a)) => contains_unknown(a) || !attr.same(b, a),
                (None, None) => false,
                _ => true,
            };
            differs.then(|| Change {
                attr: attr.name.into(),
                before: before.cloned(),
                after: after.cloned(),
                forces_replacement: attr.replaces(before, after),
                sensitive: attr.sensitive,
            })
        })
        .collect()
}

/// `[]` and `{}` defaults say nothing worth printing on a create.
fn is_empty_collection(value: &Value) -> bool {
    matches!(value, Value::Array(a) if a.is_empty())
        || matches!(value, Value::Object(m) if m.is_empty())
}
