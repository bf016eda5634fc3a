//! No orphans, no duplicates: an apply killed with SIGKILL at many different moments, then
//! re-applied, ends with exactly the resources in state existing in AWS, none twice.

mod common;

use aws_sdk_ec2::types::Filter;
use common::cli::Workspace;
use common::emulator::sdk_config;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

const BLUEPRINT: &str = r#"
blueprint: crashy
region: us-east-1
resources:
  main: { kind: ec2.vpc, cidr_block: 10.70.0.0/16 }
  net:
    kind: ec2.subnet
    count: 4
    vpc_id: ${main.id}
    cidr_block: "10.70.${count.index}.0/24"
  gw: { kind: ec2.internet_gateway, vpc_id: "${main.id}" }
  sg:
    kind: ec2.security_group
    count: 3
    vpc_id: ${main.id}
    description: "tier ${count.index}"
  routes:
    kind: ec2.route_table
    vpc_id: ${main.id}
    routes: [{ destination_cidr_block: 0.0.0.0/0, gateway_id: "${gw.id}" }]
    subnet_ids: ${net[*].id}
  ip: { kind: ec2.elastic_ip, count: 2 }
"#;

/// Starts an apply and kills it (SIGKILL) once it has announced `starts` operations; returns
/// whether it was killed (false: it finished first).
fn apply_and_kill_after(ws: &Workspace, starts: usize) -> bool {
    let bp = ws.path().join("blueprint.yaml");
    let mut child = ws
        .command(&[
            "apply",
            bp.to_str().unwrap(),
            "--auto-approve",
            "--parallelism",
            "2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = 0;
    for line in stderr.lines() {
        let line = line.unwrap();
        if line.ends_with(": creating...") || line.ends_with(": destroying...") {
            seen += 1;
            if seen == starts {
                child.kill().unwrap();
                child.wait().unwrap();
                return true;
            }
        }
    }
    child.wait().unwrap();
    false
}

async fn ids_in_aws(ec2: &aws_sdk_ec2::Client) -> BTreeSet<String> {
    let tag = || {
        Filter::builder()
            .name("tag:innovate:blueprint")
            .values("crashy")
            .build()
    };
    let mut ids = BTreeSet::new();
    let vpcs = ec2.describe_vpcs().filters(tag()).send().await.unwrap();
    ids.extend(vpcs.vpcs().iter().map(|v| v.vpc_id().unwrap().to_string()));
    let subnets = ec2.describe_subnets().filters(tag()).send().await.unwrap();
    ids.extend(
        subnets
            .subnets()
            .iter()
            .map(|s| s.subnet_id().unwrap().to_string()),
    );
    let groups = ec2
        .describe_security_groups()
        .filters(tag())
        .send()
        .await
        .unwrap();
    ids.extend(
        groups
            .security_groups()
            .iter()
            .map(|g| g.group_id().unwrap().to_string()),
    );
    let gateways = ec2
        .describe_internet_gateways()
        .filters(tag())
        .send()
        .await
        .unwrap();
    ids.extend(
        gateways
            .internet_gateways()
            .iter()
            .map(|g| g.internet_gateway_id().unwrap().to_string()),
    );
    let tables = ec2
        .describe_route_tables()
        .filters(tag())
        .send()
        .await
        .unwrap();
    ids.extend(
        tables
            .route_tables()
            .iter()
            .map(|t| t.route_table_id().unwrap().to_string()),
    );
    let addresses = ec2
        .describe_addresses()
        .filters(tag())
        .send()
        .await
        .unwrap();
    ids.extend(
        addresses
            .addresses()
            .iter()
            .map(|a| a.allocation_id().unwrap().to_string()),
    );
    ids
}

fn ids_in_state(ws: &Workspace) -> BTreeSet<String> {
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(ws.state_file("crashy-default.json")).unwrap(),
    )
    .unwrap();
    assert!(
        state.get("pending").is_none(),
        "no create is left pending: {state:#}"
    );
    state["resources"]
        .as_object()
        .unwrap()
        .values()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn killed_applies_leave_no_orphans_and_no_duplicates() {
    let ws = Workspace::new();
    ws.write_blueprint(BLUEPRINT);
    let mut kills = 0;
    for round in 0..12 {
        // Kill after the 1st, 2nd or 3rd operation starts, so the kills land at different
        // points: before a create is sent, while it is in flight, after it returned.
        if apply_and_kill_after(&ws, round % 3 + 1) {
            kills += 1;
        }
    }
    assert!(
        kills >= 10,
        "the run was interrupted at least ten times ({kills})"
    );
    let bp = ws.path().join("blueprint.yaml");
    ws.run(&["apply", bp.to_str().unwrap(), "--auto-approve"])
        .expect(0);
    ws.run(&["plan", bp.to_str().unwrap(), "--detailed-exitcode"])
        .expect(0);

    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let in_state = ids_in_state(&ws);
    assert_eq!(
        in_state.len(),
        12,
        "every instance (1+4+1+3+1+2) recorded once"
    );
    assert_eq!(
        ids_in_aws(&ec2).await,
        in_state,
        "AWS holds exactly what the state records"
    );

    ws.run(&["destroy", bp.to_str().unwrap(), "--auto-approve"])
        .expect(0);
    assert!(ids_in_aws(&ec2).await.is_empty());
}

/// What a run killed right after CreateVpc leaves behind: the VPC, tagged with `tags`, and
/// the intent `pending` in a state of lineage `lineage`. Returns the VPC's id.
async fn killed_after_create_vpc(
    ws: &Workspace,
    name: &str,
    cidr: &str,
    lineage: &str,
    tags: &[(&str, &str)],
    pending: serde_json::Value,
) -> String {
    ws.write_blueprint(&format!("blueprint: {name}\nregion: us-east-1\nresources:\n  main: {{ kind: ec2.vpc, cidr_block: {cidr} }}\n"));
    let vpc_id = vpc_tagged(cidr, tags).await;
    std::fs::create_dir_all(ws.path().join("state")).unwrap();
    let state = serde_json::json!({
        "format": "innovate-state", "version": 1, "serial": 1, "lineage": lineage, "blueprint": name, "env": "default",
        "resources": {}, "pending": [pending]
    });
    std::fs::write(
        ws.state_file(&format!("{name}-default.json")),
        state.to_string(),
    )
    .unwrap();
    vpc_id
}

async fn vpc_tagged(cidr: &str, tags: &[(&str, &str)]) -> String {
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let mut spec = aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(aws_sdk_ec2::types::ResourceType::Vpc);
    for (k, v) in tags {
        spec = spec.tags(aws_sdk_ec2::types::Tag::builder().key(*k).value(*v).build());
    }
    let made = ec2
        .create_vpc()
        .cidr_block(cidr)
        .tag_specifications(spec.build())
        .send()
        .await
        .unwrap();
    made.vpc().unwrap().vpc_id().unwrap().to_string()
}

fn intent(cidr: &str, since: &str, owner: serde_json::Value) -> serde_json::Value {
    serde_json::json!({ "address": "main", "kind": "ec2.vpc", "attrs": { "cidr_block": cidr, "enable_dns_support": true,
        "enable_dns_hostnames": false, "instance_tenancy": "default", "tags": {} }, "since": since, "owner": owner })
}

async fn vpcs_of(blueprint: &str) -> Vec<String> {
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let vpcs = ec2
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
    vpcs.vpcs()
        .iter()
        .map(|v| v.vpc_id().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_create_left_pending_is_adopted_not_repeated() {
    let ws = Workspace::new();
    let stamp = "2026-11-23T00:00:00.000Z";
    let identity = [
        ("innovate:blueprint", "adopt"),
        ("innovate:env", "default"),
        ("innovate:address", "main"),
    ];
    // Another state's VPC at the same blueprint, env and address: never adopted or deleted.
    let theirs = vpc_tagged(
        "10.71.0.0/16",
        &[
            identity.as_slice(),
            &[
                ("innovate:lineage", "l-theirs"),
                ("innovate:created", stamp),
            ],
        ]
        .concat(),
    )
    .await;
    let owner = [("innovate:lineage", "l-adopt"), ("innovate:created", stamp)];
    let vpc_id = killed_after_create_vpc(
        &ws,
        "adopt",
        "10.71.0.0/16",
        "l-adopt",
        &[identity.as_slice(), &owner].concat(),
        intent(
            "10.71.0.0/16",
            stamp,
            serde_json::json!({ "innovate:lineage": "l-adopt", "innovate:created": stamp }),
        ),
    )
    .await;
    let bp = ws.path().join("blueprint.yaml");

    let plan = ws.run(&["plan", bp.to_str().unwrap(), "--json"]).expect(0);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout()).unwrap();
    assert_eq!(json["recovered"][0]["adopted"], vpc_id.as_str(), "{json:#}");
    assert_eq!(
        json["recovered"][0]["duplicates"],
        serde_json::json!([]),
        "{json:#}"
    );
    assert_eq!(json["has_changes"], false, "{json:#}");

    let applied = ws
        .run(&["apply", bp.to_str().unwrap(), "--auto-approve"])
        .expect(0);
    assert!(
        applied
            .stderr()
            .contains(&format!("found ec2.vpc {vpc_id} and adopted it")),
        "{}",
        applied.stderr()
    );
    assert_eq!(
        ids_in_state_of(&ws, "adopt-default.json"),
        [vpc_id.as_str()]
    );
    let mut both = vec![vpc_id.clone(), theirs.clone()];
    both.sort();
    let mut found = vpcs_of("adopt").await;
    found.sort();
    assert_eq!(found, both, "adopted, not created again; theirs untouched");
    ws.run(&["destroy", bp.to_str().unwrap(), "--auto-approve"])
        .expect(0);
    assert_eq!(vpcs_of("adopt").await, [theirs]);
}

#[tokio::test]
async fn an_intent_from_before_owner_tags_adopts_only_an_unowned_resource() {
    let ws = Workspace::new();
    let identity = [
        ("innovate:blueprint", "legacy"),
        ("innovate:env", "default"),
        ("innovate:address", "main"),
    ];
    let theirs = vpc_tagged(
        "10.72.0.0/16",
        &[identity.as_slice(), &[("innovate:lineage", "l-theirs")]].concat(),
    )
    .await;
    // An older build's intent (seconds, no owner) and its VPC (identity tags only).
    let vpc_id = killed_after_create_vpc(
        &ws,
        "legacy",
        "10.72.0.0/16",
        "l-legacy",
        &identity,
        intent(
            "10.72.0.0/16",
            "2026-11-23T00:00:00Z",
            serde_json::json!({}),
        ),
    )
    .await;
    let bp = ws.path().join("blueprint.yaml");
    let plan = ws.run(&["plan", bp.to_str().unwrap(), "--json"]).expect(0);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout()).unwrap();
    assert_eq!(json["recovered"][0]["adopted"], vpc_id.as_str(), "{json:#}");
    assert_eq!(
        json["recovered"][0]["duplicates"],
        serde_json::json!([]),
        "{json:#}"
    );
    let changes = &json["resources"][0]["changes"];
    assert_eq!(json["resources"][0]["action"], "update", "{json:#}");
    assert_eq!(changes.as_array().unwrap().len(), 1, "{json:#}");
    assert_eq!(changes[0]["attr"], "innovate:lineage", "{json:#}");
    assert_eq!(changes[0]["after"], "l-legacy", "{json:#}");

    ws.run(&["apply", bp.to_str().unwrap(), "--auto-approve"])
        .expect(0);
    ws.run(&["plan", bp.to_str().unwrap(), "--detailed-exitcode"])
        .expect(0);
    assert_eq!(vpcs_of("legacy").await.len(), 2, "theirs untouched");
    ws.run(&["destroy", bp.to_str().unwrap(), "--auto-approve"])
        .expect(0);
    assert_eq!(vpcs_of("legacy").await, [theirs]);
}

fn ids_in_state_of(ws: &Workspace, file: &str) -> Vec<String> {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.state_file(file)).unwrap()).unwrap();
    assert!(state.get("pending").is_none(), "{state:#}");
    state["resources"]
        .as_object()
        .unwrap()
        .values()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}
