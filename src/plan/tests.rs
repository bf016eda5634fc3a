//! Planning and plan rendering against the real kinds' schemas (no AWS calls).

use super::fixtures::{destroying, item, owned, resource, Planner};
use super::*;
use crate::blueprint::UNKNOWN;
use serde_json::json;

const BLUEPRINT: &str = r#"
blueprint: net
resources:
  main: { kind: ec2.vpc, cidr_block: 10.0.0.0/16, tags: { Name: new } }
  sub:
    kind: ec2.subnet
    count: 2
    vpc_id: ${main.id}
    cidr_block: "10.0.${count.index}.0/24"
outputs:
  vpc: ${main.id}
"#;

fn plan_against(state: &State, targets: &[&str]) -> Plan {
    let options = PlanOptions {
        targets: targets.iter().map(|t| t.parse().unwrap()).collect(),
        destroy: false,
    };
    Planner::new(BLUEPRINT).plan(state, &options)
}

/// State as innovate would have written it after applying BLUEPRINT with tag Name=old,
/// plus a third subnet that the blueprint no longer has.
fn applied_state() -> State {
    let mut state = State::new("net", "default");
    let vpc = json!({"cidr_block": "10.0.0.0/16", "enable_dns_support": true, "enable_dns_hostnames": false,
                     "instance_tenancy": "default", "tags": {"Name": "old"}});
    state.resources.insert(
        Address::single("main"),
        resource("ec2.vpc", "vpc-1", vpc, &[]),
    );
    for (i, cidr) in ["10.0.0.0/24", "10.0.9.0/24", "10.0.2.0/24"]
        .iter()
        .enumerate()
    {
        let attrs = json!({"vpc_id": "vpc-1", "cidr_block": cidr, "map_public_ip_on_launch": false, "tags": {}});
        state.resources.insert(
            Address::indexed("sub", i),
            resource("ec2.subnet", &format!("subnet-{i}"), attrs, &["main"]),
        );
    }
    owned(state)
}

#[test]
fn everything_is_created_with_ids_known_after_apply() {
    let plan = plan_against(&State::new("net", "default"), &[]);
    assert_eq!(
        plan.summary(),
        Summary {
            add: 3,
            change: 0,
            destroy: 0
        }
    );
    let sub = plan.step(&Address::indexed("sub", 1)).unwrap();
    let vpc_id = sub.changes.iter().find(|c| c.attr == "vpc_id").unwrap();
    assert_eq!(vpc_id.after, Some(json!(UNKNOWN)));
    assert!(plan.outputs["vpc"] == json!(UNKNOWN));
}

#[test]
fn distinguishes_noop_update_replace_and_delete() {
    let plan = plan_against(&applied_state(), &[]);
    let action = |a: Address| plan.step(&a).map(|s| s.action);
    assert_eq!(action(Address::single("main")), Some(Action::Update));
    assert_eq!(action(Address::indexed("sub", 0)), Some(Action::NoOp));
    assert_eq!(action(Address::indexed("sub", 1)), Some(Action::Replace));
    assert_eq!(action(Address::indexed("sub", 2)), Some(Action::Delete));
    assert_eq!(
        plan.step(&Address::indexed("sub", 1))
            .unwrap()
            .replace_reasons(),
        ["cidr_block"]
    );
    assert_eq!(
        plan.summary(),
        Summary {
            add: 1,
            change: 1,
            destroy: 2
        }
    );
    assert_eq!(
        plan.outputs["vpc"],
        json!("vpc-1"),
        "an unchanged id is known at plan time"
    );
}

/// A VPC's tenancy goes from dedicated to default in place; to dedicated, only by a new VPC.
#[test]
fn an_attribute_replaces_only_for_the_changes_aws_cannot_make_in_place() {
    let mut state = applied_state();
    let vpc = state.resources.get_mut(&Address::single("main")).unwrap();
    vpc.attrs
        .insert("instance_tenancy".into(), json!("dedicated"));
    let plan = plan_against(&state, &[]);
    let main = plan.step(&Address::single("main")).unwrap();
    assert_eq!(main.action, Action::Update);
    assert!(main.changes.iter().any(|c| c.attr == "instance_tenancy"));
    assert!(main.replace_reasons().is_empty());

    let dedicated = BLUEPRINT.replace(
        "cidr_block: 10.0.0.0/16,",
        "cidr_block: 10.0.0.0/16, instance_tenancy: dedicated,",
    );
    let plan = Planner::new(&dedicated).plan(&applied_state(), &PlanOptions::default());
    let main = plan.step(&Address::single("main")).unwrap();
    assert_eq!(main.action, Action::Replace);
    assert_eq!(main.replace_reasons(), ["instance_tenancy"]);
}

#[test]
fn renders_like_terraform_users_expect() {
    let text = render_human(&plan_against(&applied_state(), &[]), false);
    let expected = r#"innovate will perform the following actions:

  ~ main (ec2.vpc) will be updated in place
      ~ tags = { Name = "old" } -> { Name = "new" }

-/+ sub[1] (ec2.subnet) must be replaced (cidr_block forces replacement)
      ~ cidr_block = "10.0.9.0/24" -> "10.0.1.0/24"  # forces replacement

  - sub[2] (ec2.subnet) will be destroyed

Plan: 1 to add, 1 to change, 2 to destroy.
"#;
    assert_eq!(text, expected);
    let targeted = render_human(&plan_against(&applied_state(), &["sub[0]"]), false);
    assert!(
        targeted.ends_with("Plan: 0 to add, 1 to change, 0 to destroy.\n"),
        "a target brings its dependencies, nothing else: {targeted}"
    );
    let mut unchanged = applied_state();
    unchanged
        .resources
        .get_mut(&Address::single("main"))
        .unwrap()
        .attrs["tags"] = json!({"Name": "new"});
    assert_eq!(
        render_human(&plan_against(&unchanged, &["sub[0]"]), false),
        "No changes. The infrastructure matches the blueprint.\n"
    );
}

#[test]
fn json_follows_the_documented_schema() {
    let value = to_json(
        &plan_against(&State::new("net", "default"), &[]),
        "net",
        "default",
    );
    assert_eq!(value["format_version"], 1);
    assert_eq!(value["has_changes"], true);
    assert_eq!(
        value["summary"],
        json!({"add": 3, "change": 0, "destroy": 0})
    );
    let sub = item(&value["resources"], "address", "sub[0]");
    assert_eq!(sub["action"], "create");
    let vpc_id = item(&sub["changes"], "attr", "vpc_id");
    assert_eq!(vpc_id["after"], "(known after apply)");
    assert_eq!(vpc_id["after_unknown"], true);
    assert_eq!(value["outputs"]["vpc"], "(known after apply)");
}

#[test]
fn targets_plan_only_the_selection_and_its_dependencies() {
    let plan = plan_against(&State::new("net", "default"), &["sub[1]"]);
    let addresses: Vec<String> = plan.steps.iter().map(|s| s.address.to_string()).collect();
    assert_eq!(addresses, ["main", "sub[1]"]);
}

#[test]
fn prevent_destroy_refuses_plans_that_would_delete_or_replace() {
    let text = BLUEPRINT
        .replace(
            "tags: { Name: new } }",
            "tags: { Name: new }, lifecycle: { prevent_destroy: true } }",
        )
        .replace(
            "    kind: ec2.subnet\n",
            "    kind: ec2.subnet\n    lifecycle: { prevent_destroy: true }\n",
        );
    let planner = Planner::new(&text);
    let changed = planner.plan(&applied_state(), &PlanOptions::default());
    let refusals = protected_destroys(&changed, &planner.bp);
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert!(refusals[0].starts_with("sub[1] has lifecycle.prevent_destroy, and this plan would replace it (cidr_block forces replacement)"));
    let destroy = planner.plan(&applied_state(), &destroying());
    let refusals = protected_destroys(&destroy, &planner.bp);
    assert_eq!(
        refusals.len(),
        3,
        "main, sub[0], sub[1]; sub[2] left the blueprint: {refusals:?}"
    );
}

#[test]
fn a_protected_database_is_never_planned_away_and_destroy_keeps_it() {
    let planner = Planner::new(BLUEPRINT);
    let bp = &planner.bp;
    let mut state = applied_state();
    let db = |protected: bool| {
        resource(
            "rds.db_instance",
            "app-db",
            json!({"db_instance_identifier": "app-db", "deletion_protection": protected}),
            &["main"],
        )
    };
    state.resources.insert(Address::single("db"), db(true));

    // It left the blueprint: the plan is refused before anything runs.
    let dropped = planner.plan(&state, &PlanOptions::default());
    let refusals = protected_destroys(&dropped, bp);
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert!(
        refusals[0].starts_with(
            "db (rds.db_instance) would be destroyed (it left the blueprint), but it is protected by deletion_protection: true"
        ),
        "{refusals:?}"
    );

    // Destroy goes around it: the database and the VPC it stands in stay, the rest goes.
    let destroy = planner.plan(&state, &destroying());
    assert!(protected_destroys(&destroy, bp).is_empty());
    let kept: Vec<String> = destroy.refused().map(|s| s.address.to_string()).collect();
    assert_eq!(kept, ["db", "main"], "in delete order");

    state.resources.insert(Address::single("db"), db(false));
    let unprotected = planner.plan(&state, &destroying());
    assert_eq!(unprotected.refused().count(), 0);
}

#[test]
fn a_key_delete_says_when_kms_deletes_it_in_text_and_json() {
    let planner = Planner::new(BLUEPRINT);
    let mut state = applied_state();
    let key = json!({"description": "app", "deletion_window_in_days": 7});
    let key = resource("kms.key", "1234abcd-12ab", key, &[]);
    state.resources.insert(Address::single("key"), key);
    let plan = planner.plan(&state, &PlanOptions::default());

    let text = render_human(&plan, false);
    let shown =
        "  - key (kms.key) will be destroyed\n      # KMS deletes the key 7 days after this";
    assert!(text.contains(shown), "{text}");
    let json = to_json(&plan, "net", "default");
    let note = &item(&json["resources"], "address", "key")["note"];
    assert!(note.as_str().unwrap().contains("7 days"), "{note}");
    let unchanged = item(&json["resources"], "address", "main");
    assert_eq!(unchanged["note"], Value::Null, "other kinds say nothing");
}
