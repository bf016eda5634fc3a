//! Turns plan steps into executable operations and the edges between them: creates and
//! updates follow the blueprint's dependencies; deletes run in reverse; a replace deletes
//! the old resource before creating the new one (or, with create_before_destroy, creates the
//! new one, repoints its dependents, then deletes the old); an update that stops using
//! something runs before that thing is deleted.

use crate::address::Address;
use crate::blueprint::Blueprint;
use crate::plan::{Action, Plan};
use crate::state::State;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    Create,
    Update,
    Delete,
}

impl OpKind {
    pub fn verbs(self) -> (&'static str, &'static str) {
        match self {
            OpKind::Create => ("creating", "created"),
            OpKind::Update => ("updating", "updated"),
            OpKind::Delete => ("destroying", "destroyed"),
        }
    }

    /// The action as machines read it (apply --json): create, update or delete.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Create => "create",
            OpKind::Update => "update",
            OpKind::Delete => "delete",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Op {
    pub address: Address,
    pub kind: OpKind,
    /// A delete of the old object of a create-before-destroy replace (kept in
    /// `State::deposed`), not of the address's current resource.
    pub deposed: bool,
}

/// Operations, what each needs finished first, and the reverse.
pub struct OpGraph {
    pub ops: Vec<Op>,
    pub needs: Vec<Vec<usize>>,
    pub dependents: Vec<Vec<usize>>,
}

type Key<'a> = (&'a Address, OpKind, bool);

impl OpGraph {
    pub fn build(plan: &Plan, blueprint: &Blueprint, state: &State) -> OpGraph {
        let ops = operations(plan);
        let at: HashMap<Key, usize> = ops
            .iter()
            .enumerate()
            .map(|(i, op)| ((&op.address, op.kind, op.deposed), i))
            .collect();
        let edges = Edges {
            at: &at,
            blueprint,
            used_by: used_by(state),
            needed_by: needed_by(blueprint),
        };
        let needs: Vec<Vec<usize>> = ops.iter().map(|op| edges.needs_of(op)).collect();
        let mut dependents = vec![Vec::new(); ops.len()];
        for (i, needs) in needs.iter().enumerate() {
            for &n in needs {
                dependents[n].push(i);
            }
        }
        OpGraph {
            ops,
            needs,
            dependents,
        }
    }

    /// Operations that can never start because they wait on each other (empty when the
    /// graph is acyclic, which the planner's edges guarantee for real blueprints).
    pub fn deadlocked(&self) -> Vec<usize> {
        let mut waiting: Vec<usize> = self.needs.iter().map(Vec::len).collect();
        let mut ready: Vec<usize> = (0..self.ops.len()).filter(|&i| waiting[i] == 0).collect();
        while let Some(done) = ready.pop() {
            for &j in &self.dependents[done] {
                waiting[j] -= 1;
                if waiting[j] == 0 {
                    ready.push(j);
                }
            }
        }
        (0..self.ops.len()).filter(|&i| waiting[i] > 0).collect()
    }

    /// Every operation that (transitively) needs `failed`.
    pub fn dependents_of(&self, failed: usize) -> Vec<usize> {
        let mut seen = vec![false; self.ops.len()];
        let mut out = Vec::new();
        let mut stack = vec![failed];
        while let Some(current) = stack.pop() {
            for &i in &self.dependents[current] {
                if !seen[i] {
                    seen[i] = true;
                    out.push(i);
                    stack.push(i);
                }
            }
        }
        out
    }
}

fn operations(plan: &Plan) -> Vec<Op> {
    let mut ops = Vec::new();
    // Refused deletes (protected accounts and what they still need) are not run.
    for step in plan.steps.iter().filter(|s| s.refused.is_none()) {
        let op = |kind, deposed| Op {
            address: step.address.clone(),
            kind,
            deposed,
        };
        match step.action {
            Action::NoOp => {}
            Action::Create => ops.push(op(OpKind::Create, false)),
            Action::Update => ops.push(op(OpKind::Update, false)),
            Action::Delete => ops.push(op(OpKind::Delete, step.deposed)),
            Action::Replace if step.create_before_destroy => {
                ops.push(op(OpKind::Create, false));
                ops.push(op(OpKind::Delete, true));
            }
            Action::Replace => {
                ops.push(op(OpKind::Delete, false));
                ops.push(op(OpKind::Create, false));
            }
        }
    }
    ops
}

/// Address -> the instances the state says use it (what was created after it, needing it).
fn used_by(state: &State) -> HashMap<&Address, Vec<&Address>> {
    let mut map: HashMap<&Address, Vec<&Address>> = HashMap::new();
    let deposed = state.deposed.iter().map(|d| (&d.address, &d.resource));
    for (address, resource) in state.resources.iter().chain(deposed) {
        for dependency in &resource.depends_on {
            map.entry(dependency).or_default().push(address);
        }
    }
    map
}

/// Address -> the blueprint instances that reference it.
fn needed_by(blueprint: &Blueprint) -> HashMap<&Address, Vec<&Address>> {
    let mut map: HashMap<&Address, Vec<&Address>> = HashMap::new();
    for instance in &blueprint.instances {
        for dependency in &instance.depends_on {
            map.entry(dependency).or_default().push(&instance.address);
        }
    }
    map
}

struct Edges<'a> {
    at: &'a HashMap<Key<'a>, usize>,
    blueprint: &'a Blueprint,
    used_by: HashMap<&'a Address, Vec<&'a Address>>,
    needed_by: HashMap<&'a Address, Vec<&'a Address>>,
}

impl Edges<'_> {
    fn get(&self, address: &Address, kind: OpKind, deposed: bool) -> Option<usize> {
        self.at.get(&(address, kind, deposed)).copied()
    }

    /// The create or update that brings `address` to its new value.
    fn forward(&self, address: &Address) -> Option<usize> {
        self.get(address, OpKind::Create, false)
            .or_else(|| self.get(address, OpKind::Update, false))
    }

    fn needs_of(&self, op: &Op) -> Vec<usize> {
        let empty = Vec::new();
        let mut needs: Vec<usize> = match (op.kind, op.deposed) {
            (OpKind::Create | OpKind::Update, _) => {
                let deps = self
                    .blueprint
                    .instance(&op.address)
                    .map(|i| i.depends_on.as_slice())
                    .unwrap_or(&[]);
                let mut needs: Vec<usize> = deps.iter().filter_map(|d| self.forward(d)).collect();
                if op.kind == OpKind::Create {
                    // A destroy-before-create replace: the old one goes first.
                    needs.extend(self.get(&op.address, OpKind::Delete, false));
                }
                needs
            }
            (OpKind::Delete, deposed) => {
                let users = self.used_by.get(&op.address).unwrap_or(&empty);
                // Dependents that are deleted go first.
                let mut needs: Vec<usize> = users
                    .iter()
                    .filter_map(|u| self.get(u, OpKind::Delete, false))
                    .collect();
                let replaced_now = self.get(&op.address, OpKind::Create, false).is_some();
                if deposed {
                    // The new one exists and everything that referenced the old was repointed.
                    needs.extend(self.get(&op.address, OpKind::Create, false));
                    let repointed = self.needed_by.get(&op.address).unwrap_or(&empty);
                    needs.extend(repointed.iter().filter_map(|u| self.forward(u)));
                } else if !replaced_now {
                    // Leaving for good: updates that stop using it (a route to a removed NAT
                    // gateway) go first. Not on a replace, where those updates need the new one.
                    needs.extend(
                        users
                            .iter()
                            .filter_map(|u| self.get(u, OpKind::Update, false)),
                    );
                }
                needs
            }
        };
        needs.sort_unstable();
        needs.dedup();
        needs
    }
}
