//! Planning: the desired instances of a blueprint against the state, giving one step per
//! instance: NoOp, Create, Update (attribute changes), Replace (names what forces it) or
//! Delete. Rendering for people and JSON, and saved plan files, live beside it.

mod diff;
mod file;
mod render;

pub use diff::{desired_attrs, keep_ignored, offline_attrs};
pub use file::{PlanFile, PLAN_FORMAT};
pub use render::{render_human, to_json};

use crate::address::Address;
use crate::blueprint::Blueprint;
use crate::graph::Dag;
use crate::kinds::Registry;
use crate::state::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    NoOp,
    Create,
    Update,
    Replace,
    Delete,
}

/// One attribute's change. `None` means "not set"; [`crate::blueprint::UNKNOWN`] inside
/// `after` means the value is known only after apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub attr: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// This change cannot be made in place.
    pub forces_replacement: bool,
    /// Printed as (sensitive), never shown.
    #[serde(default)]
    pub sensitive: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub address: Address,
    pub kind: String,
    pub action: Action,
    pub changes: Vec<Change>,
    /// A replace that creates the new resource before deleting the old one.
    #[serde(default)]
    pub create_before_destroy: bool,
    /// A delete of the old object a create-before-destroy replace left behind.
    #[serde(default)]
    pub deposed: bool,
    /// Attributes whose changes the blueprint's lifecycle.ignore_changes keeps out.
    #[serde(default)]
    pub ignored: Vec<String>,
    /// The account the resource lives in (`None`: the caller's);
    /// [`crate::blueprint::UNKNOWN`] while the account it references is not created yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Why this delete will not happen (a protected account, or what such an account
    /// still needs); the executor leaves it out and destroy reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// What the delete does beyond removing the resource (a KMS key's deletion is only
    /// scheduled), from the kind ([`crate::kinds::ResourceKind::delete_note`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Step {
    /// The attributes that force a replace, for "-/+ ... (because cidr_block changed)".
    pub fn replace_reasons(&self) -> Vec<&str> {
        self.changes
            .iter()
            .filter(|c| c.forces_replacement)
            .map(|c| c.attr.as_str())
            .collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// Every instance of the blueprint (or of the state, for destroy), in dependency order.
    pub steps: Vec<Step>,
    /// Outputs the apply would produce, where already known.
    pub outputs: BTreeMap<String, Value>,
    /// A destroy plan: protected resources are kept (and reported) instead of refusing the
    /// whole plan.
    #[serde(default)]
    pub destroy: bool,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for step in self.steps.iter().filter(|s| s.refused.is_none()) {
            match step.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace => {
                    s.add += 1;
                    s.destroy += 1
                }
                Action::Delete => s.destroy += 1,
                Action::NoOp => {}
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.steps
            .iter()
            .any(|s| s.action != Action::NoOp && s.refused.is_none())
    }

    /// Deletes that will not happen, and why.
    pub fn refused(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.refused.is_some())
    }

    pub fn step(&self, address: &Address) -> Option<&Step> {
        self.steps.iter().find(|s| &s.address == address)
    }
}

/// What to plan for.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// `--target`: only these instances and what they depend on (empty: everything).
    pub targets: Vec<Address>,
    /// `destroy`: every instance in state is deleted.
    pub destroy: bool,
}

/// Diffs the blueprint against the state.
pub fn plan(
    blueprint: &Blueprint,
    dag: &Dag,
    state: &State,
    registry: &Registry,
    options: &PlanOptions,
) -> Plan {
    let selected = selection(dag, &options.targets);
    let mut planner = diff::Planner::new(blueprint, state, registry);
    let mut steps = Vec::new();
    if !options.destroy {
        for address in dag.topological() {
            if selected.as_ref().is_none_or(|s| s.contains(address)) {
                steps.push(planner.plan_instance(address));
            }
        }
    }
    steps.extend(deletions(blueprint, state, options, &selected));
    mark_refused(&mut steps, state, registry, options.destroy);
    let outputs = if options.destroy {
        BTreeMap::new()
    } else {
        planner.outputs()
    };
    Plan {
        steps,
        outputs,
        destroy: options.destroy,
    }
}

/// Notes what each delete does beyond removing (a KMS key's scheduled deletion), marks the
/// deletes a kind refuses (an account without close_on_deletion) and, in a
/// destroy, the deletes of what those resources still need (the OU and organization an
/// account is in): they stay, and everything else is destroyed around them.
fn mark_refused(steps: &mut [Step], state: &State, registry: &Registry, destroy: bool) {
    let mut kept: Vec<(Address, String)> = Vec::new();
    for step in steps.iter_mut() {
        let deleting = matches!(step.action, Action::Delete | Action::Replace) && !step.deposed;
        let Some(prior) = state.resources.get(&step.address).filter(|_| deleting) else {
            continue;
        };
        let kind = registry.get(&prior.kind);
        step.note = kind.and_then(|kind| kind.delete_note(&prior.attrs));
        if let Some(reason) = kind.and_then(|kind| kind.delete_refusal(&prior.attrs)) {
            step.refused = Some(reason);
            kept.push((step.address.clone(), prior.kind.clone()));
        }
    }
    if !destroy {
        return;
    }
    for (address, dependency) in needed_by_kept(state, &kept) {
        let step = steps
            .iter_mut()
            .find(|s| s.address == dependency && s.action == Action::Delete && !s.deposed);
        if let Some(step) = step.filter(|s| s.refused.is_none()) {
            step.refused = Some(format!("kept: protected {address} still needs it"));
        }
    }
}

/// (kept resource, one of its transitive dependencies in state), each dependency once.
fn needed_by_kept(state: &State, kept: &[(Address, String)]) -> Vec<(Address, Address)> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (root, _) in kept {
        let mut stack = vec![root.clone()];
        while let Some(current) = stack.pop() {
            let Some(resource) = state.resources.get(&current) else {
                continue;
            };
            for dependency in &resource.depends_on {
                if seen.insert(dependency.clone()) {
                    out.push((root.clone(), dependency.clone()));
                    stack.push(dependency.clone());
                }
            }
        }
    }
    out
}

fn selection(dag: &Dag, targets: &[Address]) -> Option<BTreeSet<Address>> {
    if targets.is_empty() {
        return None;
    }
    let roots: Vec<Address> = dag
        .nodes()
        .filter(|a| targets.iter().any(|t| t.selects(a)))
        .cloned()
        .collect();
    Some(dag.with_dependencies(&roots).into_iter().collect())
}

/// Instances in state that the blueprint no longer has (or all of them, for destroy), with
/// dependents before their dependencies.
fn deletions(
    blueprint: &Blueprint,
    state: &State,
    options: &PlanOptions,
    selected: &Option<BTreeSet<Address>>,
) -> Vec<Step> {
    let gone: Vec<&Address> = state
        .resources
        .keys()
        .filter(|a| options.destroy || blueprint.instance(a).is_none())
        .filter(|a| {
            options.targets.is_empty()
                || options.targets.iter().any(|t| t.selects(a))
                || selected.as_ref().is_some_and(|s| s.contains(*a))
        })
        .collect();
    let edges = gone.iter().flat_map(|a| {
        state.resources[*a]
            .depends_on
            .iter()
            .map(move |d| (d.clone(), (*a).clone()))
    });
    let dag = Dag::from_edges(gone.iter().map(|a| (*a).clone()), edges);
    let mut order: Vec<&Address> = dag.topological();
    order.reverse();
    order
        .into_iter()
        .map(|address| {
            let resource = &state.resources[address];
            Step {
                address: address.clone(),
                kind: resource.kind.clone(),
                action: Action::Delete,
                changes: Vec::new(),
                create_before_destroy: false,
                deposed: false,
                ignored: Vec::new(),
                account: resource.account.clone(),
                refused: None,
                note: None,
            }
        })
        .chain(state.deposed.iter().map(|d| Step {
            address: d.address.clone(),
            kind: d.resource.kind.clone(),
            action: Action::Delete,
            changes: Vec::new(),
            create_before_destroy: false,
            deposed: true,
            ignored: Vec::new(),
            account: d.resource.account.clone(),
            refused: None,
            note: None,
        }))
        .collect()
}

/// What stops this plan before it starts: outside a destroy, the deletes a kind refuses (an
/// account without close_on_deletion, a database with deletion protection), and instances
/// with `lifecycle.prevent_destroy` it would delete or replace. One message each; empty when
/// the plan may proceed.
pub fn protected_destroys(plan: &Plan, blueprint: &Blueprint) -> Vec<String> {
    let refused = plan.refused().filter(|_| !plan.destroy).map(|step| {
        format!(
            "{} ({}) would {}, but it is {}; or run `innovate state rm {}` to stop managing it",
            step.address,
            step.kind,
            what_would_happen(step),
            step.refused.as_deref().unwrap_or("protected"),
            step.address
        )
    });
    let removals = plan
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::Delete | Action::Replace) && !s.deposed);
    let prevented = removals.filter_map(|step| prevented_by_lifecycle(step, blueprint));
    refused.chain(prevented).collect()
}

/// What the plan would do to `step`'s resource, in the words of a refusal.
fn what_would_happen(step: &Step) -> String {
    match step.action {
        Action::Replace => format!(
            "be replaced ({} forces replacement)",
            step.replace_reasons().join(", ")
        ),
        _ => "be destroyed (it left the blueprint)".to_string(),
    }
}

fn prevented_by_lifecycle(step: &Step, blueprint: &Blueprint) -> Option<String> {
    let instance = blueprint.instance(&step.address)?;
    if !instance.lifecycle.prevent_destroy {
        return None;
    }
    let why = match step.action {
        Action::Replace => format!(
            "replace it ({} forces replacement)",
            step.replace_reasons().join(", ")
        ),
        _ => "destroy it".to_string(),
    };
    Some(format!(
        "{} has lifecycle.prevent_destroy, and this plan would {why}; remove prevent_destroy from the blueprint first if that is really intended",
        step.address
    ))
}

#[cfg(test)]
mod fixtures;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod placement_tests;
