//! What the plan tests share: blueprints parsed and planned against the real kinds' schemas
//! (no AWS calls), resources and states as apply records them, and JSON look-ups.

use super::{plan, Plan, PlanOptions};
use crate::aws::{registry, AwsContext};
use crate::blueprint::{self, Blueprint, LoadOptions};
use crate::graph::Dag;
use crate::kinds::{Attrs, Registry, Tags, LINEAGE_TAG};
use crate::state::{ResourceState, State};
use serde_json::Value;

/// A blueprint parsed against the real kinds, ready to be planned against any state.
pub struct Planner {
    pub bp: Blueprint,
    dag: Dag,
    kinds: Registry,
}

impl Planner {
    pub fn new(text: &str) -> Planner {
        let kinds = registry(AwsContext::new(None));
        let bp = blueprint::parse("bp.yaml", text, &LoadOptions::default(), &kinds).unwrap();
        let dag = Dag::build(&bp).unwrap();
        Planner { bp, dag, kinds }
    }

    pub fn plan(&self, state: &State, options: &PlanOptions) -> Plan {
        plan(&self.bp, &self.dag, state, &self.kinds, options)
    }
}

/// The options of `innovate destroy`.
pub fn destroying() -> PlanOptions {
    PlanOptions {
        targets: Vec::new(),
        destroy: true,
    }
}

/// A resource recorded with exactly `attrs`, in the caller's account, without owner tags.
pub fn resource(kind: &str, id: &str, attrs: Value, deps: &[&str]) -> ResourceState {
    ResourceState {
        kind: kind.into(),
        id: id.into(),
        attrs: attrs.as_object().unwrap().clone(),
        outputs: Attrs::new(),
        depends_on: deps.iter().map(|d| d.parse().unwrap()).collect(),
        account: None,
        owner: Default::default(),
    }
}

/// `state` as this build writes it: every resource carries the state's lineage tag.
pub fn owned(mut state: State) -> State {
    let owner: Tags = [(LINEAGE_TAG.to_string(), state.lineage.clone())].into();
    for resource in state.resources.values_mut() {
        resource.owner = owner.clone();
    }
    state
}

/// The item of the JSON list `list` whose `key` is `value`.
pub fn item<'v>(list: &'v Value, key: &str, value: &str) -> &'v Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|item| item[key] == value)
        .unwrap_or_else(|| panic!("no item with {key} = {value} in {list}"))
}
