//! Turns plan steps into executable operations and the edges between them: creates and
//! updates follow the blueprint's dependencies; deletes run in reverse; a replace deletes
//! the old resource before creating the new one; an update that stops using something runs
//! before that thing is deleted.

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
}

#[derive(Debug, Clone)]
pub struct Op {
    pub address: Address,
    pub kind: OpKind,
}

/// Operations and, for each, the operations that must finish first.
pub struct OpGraph {
    pub ops: Vec<Op>,
    pub needs: Vec<Vec<usize>>,
}

impl OpGraph {
    pub fn build(plan: &Plan, blueprint: &Blueprint, state: &State) -> OpGraph {
        let mut ops = Vec::new();
        let mut at: HashMap<(Address, OpKind), usize> = HashMap::new();
        let mut add = |address: &Address, kind: OpKind, ops: &mut Vec<Op>| {
            at.insert((address.clone(), kind), ops.len());
            ops.push(Op {
                address: address.clone(),
                kind,
            });
        };
        for step in &plan.steps {
            match step.action {
                Action::NoOp => {}
                Action::Create => add(&step.address, OpKind::Create, &mut ops),
                Action::Update => add(&step.address, OpKind::Update, &mut ops),
                Action::Delete => add(&step.address, OpKind::Delete, &mut ops),
                Action::Replace => {
                    add(&step.address, OpKind::Delete, &mut ops);
                    add(&step.address, OpKind::Create, &mut ops);
                }
            }
        }
        let mut needs = vec![Vec::new(); ops.len()];
        let forward = |a: &Address| {
            at.get(&(a.clone(), OpKind::Create))
                .or_else(|| at.get(&(a.clone(), OpKind::Update)))
                .copied()
        };
        for (i, op) in ops.iter().enumerate() {
            match op.kind {
                OpKind::Create | OpKind::Update => {
                    let deps = blueprint
                        .instance(&op.address)
                        .map(|inst| inst.depends_on.as_slice())
                        .unwrap_or(&[]);
                    needs[i].extend(deps.iter().filter_map(forward));
                    if op.kind == OpKind::Create {
                        // A replace: the old one goes first.
                        needs[i].extend(at.get(&(op.address.clone(), OpKind::Delete)).copied());
                    }
                }
                OpKind::Delete => {
                    let replaced = at.contains_key(&(op.address.clone(), OpKind::Create));
                    for (other, resource) in &state.resources {
                        if !resource.depends_on.contains(&op.address) {
                            continue;
                        }
                        // Dependents go first. One that is only updated goes first too when
                        // this resource leaves for good (a route to a removed NAT gateway);
                        // not when it is replaced, since that update needs the new one.
                        needs[i].extend(at.get(&(other.clone(), OpKind::Delete)).copied());
                        if !replaced {
                            needs[i].extend(at.get(&(other.clone(), OpKind::Update)).copied());
                        }
                    }
                }
            }
            needs[i].sort_unstable();
            needs[i].dedup();
        }
        OpGraph { ops, needs }
    }

    /// Operations that can never start because they wait on each other (empty when the
    /// graph is acyclic, which the planner's edges guarantee for real blueprints).
    pub fn deadlocked(&self) -> Vec<usize> {
        let mut waiting: Vec<usize> = self.needs.iter().map(Vec::len).collect();
        let mut ready: Vec<usize> = (0..self.ops.len()).filter(|&i| waiting[i] == 0).collect();
        while let Some(done) = ready.pop() {
            for (j, needs) in self.needs.iter().enumerate() {
                if needs.contains(&done) {
                    waiting[j] -= 1;
                    if waiting[j] == 0 {
                        ready.push(j);
                    }
                }
            }
        }
        (0..self.ops.len()).filter(|&i| waiting[i] > 0).collect()
    }

    /// Every operation that (transitively) needs `failed`.
    pub fn dependents_of(&self, failed: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack = vec![failed];
        while let Some(current) = stack.pop() {
            for (i, needs) in self.needs.iter().enumerate() {
                if needs.contains(&current) && !out.contains(&i) {
                    out.push(i);
                    stack.push(i);
                }
            }
        }
        out
    }
}
