//! Never touch what this state did not create. Two states of one blueprint and env side by
//! side (a teammate's local state, a second copy of the estate, a lost state file) keep each
//! other's resources through apply, re-apply, drift and destroy; a resource from before owner
//! tags is tagged in place; a name another state holds stays a conflict, never an adoption.

mod common;

use aws_sdk_ec2::types::{Filter, Tag};
use common::cli::{Run, Workspace};
use common::emulator::sdk_config;
use serde_json::Value;
use std::collections::BTreeSet;

/// plans/network.yaml (the issue's reproduction) under its own blueprint name, so tests in
/// this binary never share identity tags.
fn network(name: &str) -> String {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/plans/network.yaml"))
        .expect("plans/network.yaml");
    assert!(text.contains("blueprint: network\n"));
    text.replace("blueprint: network\n", &format!("blueprint: {name}\n"))
}

struct Estate {
    ws: Workspace,
}

impl Estate {
    fn new(blueprint: &str) -> Estate {
        let ws = Workspace::new();
        ws.write_blueprint(blueprint);
        Estate { ws }
    }

    /// `innovate COMMAND blueprint.yaml --env dev --state STATE ARGS...`
    fn run(&self, command: &str, state: &str, args: &[&str]) -> Run {
        let bp = self.ws.path().join("blueprint.yaml");
        let state = self.ws.path().join(state);
        let mut full = vec![
            command,
            bp.to_str().unwrap(),
            "--env",
            "dev",
            "--state",
            state.to_str().unwrap(),
        ];
        full.extend(args);
        self.ws.run(&full)
    }

    fn state(&self, state: &str) -> Value {
        let text = std::fs::read_to_string(self.ws.path().join(state)).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn write_state(&self, state: &str, value: &Value) {
        let text = serde_json::to_string_pretty(value).unwrap();
        std::fs::write(self.ws.path().join(state), text).unwrap();
    }

    /// Every id the state records.
    fn ids(&self, state: &str) -> BTreeSet<String> {
        let json = self.state(state);
        json["resources"]
            .as_object()
            .unwrap()
            .values()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    }

    /// Drift of one state: its report, after asserting the exit code.
    fn drift(&self, state: &str, code: i32) -> Value {
        let report = self.run("drift", state, &["--json"]).expect(code);
        serde_json::from_str(&report.stdout()).unwrap()
    }
}

fn ids_in(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// The VPCs that carry `blueprint`'s identity tag, with their lineage tags.
async fn vpcs_of(blueprint: &str) -> Vec<(String, Option<String>)> {
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let found = ec2
        .describe_vpcs()
        .filters(
            Filter::builder()
                .name("tag:innovate:blueprint")
                .values(blueprint)
                .build(),
        )
        .send()
        .await
        .unwrap();
    found
        .vpcs()
        .iter()
        .map(|vpc| {
            let lineage = vpc
                .tags()
                .iter()
                .find(|t| t.key() == Some("innovate:lineage"))
                .and_then(|t| t.value())
                .map(str::to_string);
            (vpc.vpc_id().unwrap().to_string(), lineage)
        })
        .collect()
}

#[tokio::test]
async fn two_states_of_one_blueprint_keep_each_others_resources() {
    let estate = Estate::new(&network("own-pair"));
    estate.run("apply", "a.json", &["--auto-approve"]).expect(0);
    let a_ids = estate.ids("a.json");
    let a_lineage = estate.state("a.json")["lineage"]
        .as_str()
        .unwrap()
        .to_string();

    let second = estate.run("apply", "b.json", &["--auto-approve"]).expect(0);
    let said = second.stderr();
    assert!(!said.contains("duplicate"), "nothing is swept: {said}");
    assert!(
        said.contains("Warning: this state is empty, but AWS already holds")
            && said.contains(&format!("state lineage {a_lineage}"))
            && said.contains("innovate import"),
        "the empty state is warned about, naming the way to take over: {said}"
    );
    assert!(
        said.contains("Warning: AWS already has 16 resource(s) of this blueprint and env, owned by other states, at addresses this plan creates.")
            && said.contains(&format!(
                "  = ec2.vpc {} at main, state lineage {a_lineage}, created 20",
                estate.state("a.json")["resources"]["main"]["id"]
                    .as_str()
                    .unwrap()
            )),
        "each address is named with the other state's resource: {said}"
    );
    let b_ids = estate.ids("b.json");
    assert_eq!(a_ids.len(), b_ids.len());
    assert!(a_ids.is_disjoint(&b_ids), "b built its own copy");

    // Each state's drift: clean, with the other state's resources reported apart.
    let a_drift = estate.drift("a.json", 0);
    assert_eq!(a_drift["has_drift"], false, "{a_drift:#}");
    assert_eq!(
        ids_in(&a_drift["unmanaged"]),
        BTreeSet::new(),
        "{a_drift:#}"
    );
    assert_eq!(ids_in(&a_drift["other_states"]), b_ids, "{a_drift:#}");
    let b_drift = estate.drift("b.json", 0);
    assert_eq!(ids_in(&b_drift["other_states"]), a_ids, "{b_drift:#}");
    let human = estate.run("drift", "a.json", &[]).expect(0);
    assert!(
        human.stdout().contains("Owned by other states:") && human.stdout().contains("No drift"),
        "{}",
        human.stdout()
    );

    // Re-applying either changes nothing of the other's.
    let again = estate.run("apply", "a.json", &["--auto-approve"]).expect(0);
    assert!(!again.stderr().contains("duplicate"), "{}", again.stderr());
    estate
        .run("plan", "a.json", &["--detailed-exitcode"])
        .expect(0);
    assert_eq!(estate.ids("a.json"), a_ids);

    // Destroying b leaves a whole.
    estate
        .run("destroy", "b.json", &["--auto-approve"])
        .expect(0);
    let a_drift = estate.drift("a.json", 0);
    assert_eq!(
        ids_in(&a_drift["other_states"]),
        BTreeSet::new(),
        "{a_drift:#}"
    );
    assert_eq!(
        vpcs_of("own-pair").await,
        vec![(
            estate.state("a.json")["resources"]["main"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
            Some(a_lineage)
        )]
    );
    estate
        .run("destroy", "a.json", &["--auto-approve"])
        .expect(0);
    assert!(vpcs_of("own-pair").await.is_empty());
}

#[tokio::test]
async fn a_deleted_state_file_then_apply_deletes_nothing() {
    let estate = Estate::new(&network("own-lost"));
    estate
        .run("apply", "lost.json", &["--auto-approve"])
        .expect(0);
    let first = estate.ids("lost.json");
    std::fs::remove_file(estate.ws.path().join("lost.json")).unwrap();

    let plan = estate.run("plan", "lost.json", &[]).expect(0);
    assert!(
        plan.stderr().contains("Warning: this state is empty"),
        "{}",
        plan.stderr()
    );
    let rebuilt = estate
        .run("apply", "lost.json", &["--auto-approve"])
        .expect(0);
    assert!(
        !rebuilt.stderr().contains("duplicate"),
        "{}",
        rebuilt.stderr()
    );
    let second = estate.ids("lost.json");
    assert!(first.is_disjoint(&second));
    // Every resource of the first state is still there, as AWS reports it.
    let drift = estate.drift("lost.json", 0);
    assert_eq!(ids_in(&drift["other_states"]), first, "{drift:#}");
    assert_eq!(vpcs_of("own-lost").await.len(), 2);
}

#[tokio::test]
async fn a_resource_from_before_owner_tags_is_tagged_in_place() {
    let estate = Estate::new(&network("own-old"));
    estate
        .run("apply", "old.json", &["--auto-approve"])
        .expect(0);
    let mut state = estate.state("old.json");
    let lineage = state["lineage"].as_str().unwrap().to_string();
    // As an older build left it: no owner tags in AWS, none recorded in state.
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let ids: Vec<String> = estate.ids("old.json").into_iter().collect();
    ec2.delete_tags()
        .set_resources(Some(ids.clone()))
        .tags(Tag::builder().key("innovate:lineage").build())
        .tags(Tag::builder().key("innovate:created").build())
        .send()
        .await
        .unwrap();
    for resource in state["resources"].as_object_mut().unwrap().values_mut() {
        resource.as_object_mut().unwrap().remove("owner");
    }
    estate.write_state("old.json", &state);

    let plan = estate
        .run("plan", "old.json", &["--detailed-exitcode"])
        .expect(2);
    let shown = plan.stdout();
    let tagging = format!("+ innovate:lineage = \"{lineage}\"");
    assert_eq!(shown.matches(&tagging).count(), ids.len(), "{shown}");
    assert!(
        shown.contains(&format!(
            "Plan: 0 to add, {} to change, 0 to destroy.",
            ids.len()
        )),
        "{shown}"
    );
    estate
        .run("apply", "old.json", &["--auto-approve"])
        .expect(0);
    estate
        .run("plan", "old.json", &["--detailed-exitcode"])
        .expect(0);
    let vpcs = vpcs_of("own-old").await;
    assert_eq!(vpcs.len(), 1);
    assert_eq!(vpcs[0].1.as_deref(), Some(lineage.as_str()));
    let drift = estate.drift("old.json", 0);
    assert_eq!(drift["has_drift"], false, "{drift:#}");
}

#[tokio::test]
async fn a_name_another_state_holds_stays_a_conflict_and_is_never_adopted() {
    let blueprint = r#"
blueprint: own-role
region: us-east-1
environments: { dev: {} }
resources:
  deployer:
    kind: iam.role
    name: own-role-deployer
    assume_role_policy:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Principal: { Service: ec2.amazonaws.com }, Action: sts:AssumeRole }]
"#;
    let estate = Estate::new(blueprint);
    estate
        .run("apply", "first.json", &["--auto-approve"])
        .expect(0);
    let failed = estate
        .run("apply", "second.json", &["--auto-approve"])
        .expect(1);
    let said = failed.stderr();
    assert!(
        said.contains("deployer") && said.contains("EntityAlreadyExists"),
        "the address and AWS's own error: {said}"
    );
    assert!(!said.contains("adopting"), "{said}");
    let second = estate.state("second.json");
    assert!(
        second["resources"].as_object().unwrap().is_empty(),
        "{second:#}"
    );
    // The role is still the first state's, unchanged.
    estate.drift("first.json", 0);
    estate
        .run("destroy", "first.json", &["--auto-approve"])
        .expect(0);
}
