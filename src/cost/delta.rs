//! What a plan does to the monthly bill: the state's resources priced as they are, against
//! the same resources after the plan's steps (created, changed, replaced, deleted).

use super::{dollars, Estimate};
use crate::address::Address;
use crate::kinds::{Attrs, Registry};
use crate::plan::{Action, Plan, Step};
use crate::state::State;
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    pub before: Estimate,
    pub after: Estimate,
}

impl Delta {
    pub fn change(&self) -> f64 {
        self.after.total() - self.before.total()
    }

    /// `Monthly cost: +$12.34 (from $100.00 to $112.34)`, one line; what could not be
    /// priced is named so that a $0.00 never hides a missing price.
    pub fn line(&self) -> String {
        let change = self.change();
        let sign = if change < -0.005 { "-" } else { "+" };
        let mut line = format!(
            "Monthly cost: {sign}{} (from {} to {})",
            dollars(change.abs()),
            dollars(self.before.total()),
            dollars(self.after.total())
        );
        let missing: Vec<&str> = self.after.not_priced().iter().map(|(a, _)| *a).collect();
        if !missing.is_empty() {
            line.push_str(&format!("; not priced: {}", missing.join(", ")));
        }
        line
    }

    pub fn to_json(&self) -> Value {
        let round = |x: f64| (x * 100.0).round() / 100.0;
        json!({
            "monthly_before": round(self.before.total()),
            "monthly_after": round(self.after.total()),
            "monthly_delta": round(self.change()),
            "not_priced": self.after.not_priced().iter()
                .map(|(a, why)| json!({ "address": a, "reason": why }))
                .collect::<Vec<_>>(),
            "price_table_date": super::prices::PRICE_TABLE_DATE,
        })
    }
}

/// Prices `state` (what exists now) and what exists once `plan` is applied to it.
pub fn plan_delta(plan: &Plan, state: &State, registry: &Registry) -> Delta {
    let before = super::of_state(state, registry);
    let mut after: BTreeMap<Address, (String, Attrs)> = state
        .resources
        .iter()
        .map(|(address, r)| (address.clone(), (r.kind.clone(), r.attrs.clone())))
        .collect();
    for step in &plan.steps {
        apply_step(&mut after, step);
    }
    let after = after
        .iter()
        .map(|(address, (kind, attrs))| (address.to_string(), kind.as_str(), attrs));
    let after = Estimate::of(after, registry);
    Delta { before, after }
}

/// A step's effect on the priced attributes: the prior attributes with each change's
/// `after` written over them (a create starts from nothing).
fn apply_step(resources: &mut BTreeMap<Address, (String, Attrs)>, step: &Step) {
    match step.action {
        Action::NoOp => {}
        // A deposed delete removes an old copy the state keeps apart, not this address.
        Action::Delete if step.deposed => {}
        Action::Delete => {
            resources.remove(&step.address);
        }
        Action::Create | Action::Update | Action::Replace => {
            let entry = resources
                .entry(step.address.clone())
                .or_insert_with(|| (step.kind.clone(), Attrs::new()));
            if step.action == Action::Create {
                entry.1.clear();
            }
            for change in &step.changes {
                match &change.after {
                    Some(value) => entry.1.insert(change.attr.clone(), value.clone()),
                    None => entry.1.remove(&change.attr),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Change;
    use crate::state::ResourceState;
    use serde_json::json;

    fn registry() -> Registry {
        crate::aws::registry(crate::aws::AwsContext::new(None))
    }

    fn nodegroup(desired: u64) -> Attrs {
        json!({
            "instance_types": ["t3.medium"], "capacity_type": "ON_DEMAND", "disk_size": 20,
            "scaling": { "min_size": 1, "desired_size": desired, "max_size": 5 }
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn state_with(address: &str, kind: &str, attrs: Attrs) -> State {
        let mut state = State::new("t", "dev");
        state.resources.insert(
            Address::single(address),
            ResourceState {
                kind: kind.into(),
                id: "x".into(),
                attrs,
                outputs: Attrs::new(),
                depends_on: Vec::new(),
                account: None,
                owner: Default::default(),
            },
        );
        state
    }

    fn step(address: &str, kind: &str, action: Action, changes: Vec<Change>) -> Step {
        Step {
            address: Address::single(address),
            kind: kind.into(),
            action,
            changes,
            create_before_destroy: false,
            deposed: false,
            ignored: Vec::new(),
            account: None,
            refused: None,
            note: None,
        }
    }

    fn change(attr: &str, after: Value) -> Change {
        Change {
            attr: attr.into(),
            before: None,
            after: Some(after),
            forces_replacement: false,
            sensitive: false,
        }
    }

    #[test]
    fn scaling_a_node_group_up_and_adding_a_nat_gateway() {
        let state = state_with("app", "eks.nodegroup", nodegroup(1));
        let plan = Plan {
            steps: vec![
                step(
                    "app",
                    "eks.nodegroup",
                    Action::Update,
                    vec![change("scaling", json!(nodegroup(3)["scaling"]))],
                ),
                step("nat", "ec2.nat_gateway", Action::Create, Vec::new()),
            ],
            outputs: Default::default(),
            destroy: false,
        };
        let delta = plan_delta(&plan, &state, &registry());
        // before: 0.0416 × 730 + 20 × 0.08 = 31.968; after: 3 × that + 32.85 = 128.754
        assert_eq!(
            delta.line(),
            "Monthly cost: +$96.79 (from $31.97 to $128.75)"
        );
        assert_eq!(delta.to_json()["monthly_delta"], json!(96.79));
    }

    #[test]
    fn a_destroy_lowers_the_bill_and_unpriced_results_are_named() {
        let state = state_with("nat", "ec2.nat_gateway", Attrs::new());
        let plan = Plan {
            steps: vec![
                step("nat", "ec2.nat_gateway", Action::Delete, Vec::new()),
                step("x", "ec2.transit_gateway", Action::Create, Vec::new()),
            ],
            outputs: Default::default(),
            destroy: false,
        };
        assert_eq!(
            plan_delta(&plan, &state, &registry()).line(),
            "Monthly cost: -$32.85 (from $32.85 to $0.00); not priced: x"
        );
    }
}
