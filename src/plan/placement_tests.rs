//! Plans of placed resources: the account shown (or known after apply), a move between
//! accounts forcing a replace, and protected accounts kept by destroy.

use super::fixtures::{self, destroying, item, owned, Planner};
use super::*;
use crate::aws::{registry, AwsContext};
use crate::blueprint::UNKNOWN;
use crate::kinds::Attrs;
use crate::state::ResourceState;
use serde_json::json;

const ORG: &str = r#"
blueprint: org
resources:
  org: { kind: organizations.organization, feature_set: ALL }
  workloads: { kind: organizations.organizational_unit, name: workloads, parent_id: "${org.root_id}" }
  prod:
    kind: organizations.account
    account_name: innovate-prod
    email: prod@innovate.example
    parent_id: ${workloads.id}
  prod_vpc:
    kind: ec2.vpc
    account: ${prod.id}
    cidr_block: 10.1.0.0/16
"#;

fn plan_of(state: &State, destroy: bool) -> Plan {
    let options = if destroy {
        destroying()
    } else {
        PlanOptions::default()
    };
    Planner::new(ORG).plan(state, &options)
}

/// A recorded resource: `attrs` over the schema's defaults, as apply records them.
fn resource(
    kind: &str,
    id: &str,
    attrs: Value,
    deps: &[&str],
    account: Option<&str>,
) -> ResourceState {
    let schema = registry(AwsContext::new(None)).schema(kind).unwrap();
    let mut recorded: Attrs = schema
        .attrs
        .iter()
        .filter_map(|a| Some((a.name.to_string(), a.default_value()?)))
        .collect();
    recorded.extend(attrs.as_object().unwrap().clone());
    let outputs = match kind {
        "organizations.organization" => json!({"root_id": "r-1"}),
        _ => json!({}),
    };
    ResourceState {
        attrs: recorded,
        outputs: outputs.as_object().unwrap().clone(),
        account: account.map(str::to_string),
        ..fixtures::resource(kind, id, json!({}), deps)
    }
}

/// The estate after an apply; `close` is prod's close_on_deletion as recorded.
fn applied(vpc_account: &str, close: bool) -> State {
    let mut state = State::new("org", "default");
    let mut add = |address: &str, r: ResourceState| {
        state.resources.insert(address.parse().unwrap(), r);
    };
    add(
        "org",
        resource(
            "organizations.organization",
            "o-1",
            json!({"feature_set": "ALL"}),
            &[],
            None,
        ),
    );
    add(
        "workloads",
        resource(
            "organizations.organizational_unit",
            "ou-1",
            json!({"name": "workloads", "parent_id": "r-1"}),
            &["org"],
            None,
        ),
    );
    add(
        "prod",
        resource(
            "organizations.account",
            "222222222222",
            json!({"account_name": "innovate-prod", "email": "prod@innovate.example",
                   "parent_id": "ou-1", "close_on_deletion": close}),
            &["workloads"],
            None,
        ),
    );
    add(
        "prod_vpc",
        resource(
            "ec2.vpc",
            "vpc-1",
            json!({"cidr_block": "10.1.0.0/16"}),
            &["prod"],
            Some(vpc_account),
        ),
    );
    owned(state)
}

fn step<'p>(plan: &'p Plan, address: &str) -> &'p Step {
    plan.step(&address.parse().unwrap()).unwrap()
}

#[test]
fn a_new_account_places_its_resources_in_an_account_known_after_apply() {
    let plan = plan_of(&State::new("org", "default"), false);
    assert_eq!(step(&plan, "prod_vpc").account.as_deref(), Some(UNKNOWN));
    assert_eq!(step(&plan, "prod").account, None);
    let text = render_human(&plan, false);
    assert!(
        text.contains("+ prod_vpc (ec2.vpc, account (known after apply)) will be created"),
        "{text}"
    );
    let json = to_json(&plan, "org", "default");
    let vpc = item(&json["resources"], "address", "prod_vpc");
    assert_eq!(vpc["account"], "(known after apply)");
}

#[test]
fn a_known_account_is_shown_and_moving_accounts_forces_a_replace() {
    let plan = plan_of(&applied("222222222222", false), false);
    assert!(!plan.has_changes(), "{}", render_human(&plan, false));
    let vpc = step(&plan, "prod_vpc");
    assert_eq!(vpc.account.as_deref(), Some("222222222222"));

    let moved = plan_of(&applied("333333333333", false), false);
    let vpc = step(&moved, "prod_vpc");
    assert_eq!(vpc.action, Action::Replace);
    assert_eq!(vpc.replace_reasons(), ["account"]);
    let text = render_human(&moved, false);
    assert!(
        text.contains("-/+ prod_vpc (ec2.vpc, account 222222222222) must be replaced (account forces replacement)"),
        "{text}"
    );
    assert!(
        text.contains(r#"account = "333333333333" -> "222222222222""#),
        "{text}"
    );
}

#[test]
fn destroy_keeps_protected_accounts_and_what_they_need() {
    let plan = plan_of(&applied("222222222222", false), true);
    assert!(step(&plan, "prod_vpc").refused.is_none());
    let prod = step(&plan, "prod").refused.clone().unwrap();
    assert!(prod.contains("protected: will not be closed"), "{prod}");
    for kept in ["workloads", "org"] {
        let why = step(&plan, kept).refused.clone().unwrap();
        assert!(
            why.contains("protected prod still needs it"),
            "{kept}: {why}"
        );
    }
    assert_eq!(plan.summary().destroy, 1);
    assert!(plan.has_changes());
    let text = render_human(&plan, false);
    assert!(
        text.contains("  # prod (organizations.account) protected: will not be closed"),
        "{text}"
    );
    assert!(
        text.contains("Plan: 0 to add, 0 to change, 1 to destroy. 3 kept (protected)."),
        "{text}"
    );
    // A destroy does not refuse as a whole: it destroys around what it keeps.
    let bp = Planner::new(ORG).bp;
    assert!(protected_destroys(&plan, &bp).is_empty());
    // close_on_deletion recorded: everything goes.
    let closing = plan_of(&applied("222222222222", true), true);
    assert_eq!(closing.refused().count(), 0);
    assert_eq!(closing.summary().destroy, 4);
}

#[test]
fn a_protected_account_leaving_the_blueprint_refuses_the_plan() {
    let mut state = applied("222222222222", false);
    let extra = resource(
        "organizations.account",
        "444444444444",
        json!({"account_name": "old", "email": "old@innovate.example", "parent_id": "ou-1"}),
        &["workloads"],
        None,
    );
    state.resources.insert("old".parse().unwrap(), extra);
    let plan = plan_of(&state, false);
    let bp = Planner::new(ORG).bp;
    let refusals = protected_destroys(&plan, &bp);
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert!(
        refusals[0].starts_with("old (organizations.account) would be destroyed"),
        "{}",
        refusals[0]
    );
    assert!(
        refusals[0].contains("innovate state rm old"),
        "{}",
        refusals[0]
    );
}
