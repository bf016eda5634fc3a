//! Cross-account placement end to end against the emulator: an organization with an OU and
//! two member accounts, and a VPC placed in the prod account with `account: ${prod.id}`.
//! The VPC must exist in the prod account (seen with credentials assumed there by the SDK
//! directly) and not in the management account; the state records where it lives; plan and
//! drift see no changes afterwards; destroy removes the VPC and keeps the protected
//! accounts (and the OU and organization that hold them), exiting 1.
//!
//! One organization per emulator process (per management account), so this binary has one
//! test that walks the whole lifecycle in order.

mod common;

use aws_sdk_ec2::config::Credentials;
use common::cli::{Run, Workspace};
use common::emulator::sdk_config;
use serde_json::Value;

const BLUEPRINT: &str = r#"
blueprint: placement
region: us-east-1
resources:
  org: { kind: organizations.organization, feature_set: ALL }
  workloads: { kind: organizations.organizational_unit, name: placement-workloads, parent_id: "${org.root_id}" }
  dev:
    kind: organizations.account
    account_name: placement-dev
    email: placement-dev@innovate.example
    parent_id: ${workloads.id}
  prod:
    kind: organizations.account
    account_name: placement-prod
    email: placement-prod@innovate.example
    parent_id: ${workloads.id}
  prod_vpc:
    kind: ec2.vpc
    account: ${prod.id}
    cidr_block: 10.61.0.0/16
    tags: { Name: placement-prod }
"#;

fn state_json(ws: &Workspace) -> Value {
    let text = std::fs::read_to_string(ws.state_file("placement-default.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// EC2 acting in `account` with credentials from AssumeRole into its
/// OrganizationAccountAccessRole, made with the SDK directly (not innovate's code).
async fn ec2_in(account: &str) -> aws_sdk_ec2::Client {
    let config = sdk_config().await;
    let assumed = aws_sdk_sts::Client::new(&config)
        .assume_role()
        .role_arn(format!(
            "arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
        ))
        .role_session_name("placement-test")
        .send()
        .await
        .expect("AssumeRole into the member account");
    let c = assumed.credentials().expect("assumed credentials");
    let credentials = Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "assumed",
    );
    let member = aws_sdk_ec2::config::Builder::from(&config)
        .credentials_provider(credentials)
        .build();
    aws_sdk_ec2::Client::from_conf(member)
}

async fn vpc_ids(ec2: &aws_sdk_ec2::Client) -> Vec<String> {
    let described = ec2.describe_vpcs().send().await.unwrap();
    described
        .vpcs()
        .iter()
        .filter_map(|v| v.vpc_id().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn a_vpc_placed_in_a_member_account_lives_there_and_destroy_keeps_the_accounts() {
    let ws = Workspace::new();
    let path = ws.write_blueprint(BLUEPRINT);
    let bp = path.to_str().unwrap();

    // Before anything exists, the prod account's id is only known after apply.
    let planned = ws.run(&["plan", bp]).expect(0);
    assert!(
        planned
            .stdout()
            .contains("+ prod_vpc (ec2.vpc, account (known after apply)) will be created"),
        "{}",
        planned.stdout()
    );

    ws.run(&["apply", bp, "--auto-approve"]).expect(0);
    let state = state_json(&ws);
    let resources = &state["resources"];
    let prod_id = resources["prod"]["id"].as_str().unwrap().to_string();
    let dev_id = resources["dev"]["id"].as_str().unwrap().to_string();
    assert_eq!(prod_id.len(), 12, "{prod_id}");
    assert_ne!(prod_id, dev_id);
    let vpc_id = resources["prod_vpc"]["id"].as_str().unwrap().to_string();
    // The state records where each resource lives; unplaced ones stay in the caller's.
    assert_eq!(
        resources["prod_vpc"]["account"],
        Value::String(prod_id.clone())
    );
    assert!(
        resources["prod"].get("account").is_none(),
        "{}",
        resources["prod"]
    );

    organization_is_in_place(&prod_id, &dev_id).await;
    vpc_lives_only_in_prod(&vpc_id, &prod_id, &dev_id).await;

    // Applied means settled: no changes, no drift, in every account.
    let replanned = ws.run(&["plan", bp, "--detailed-exitcode"]).expect(0);
    assert!(
        replanned.stdout().contains("No changes"),
        "{}",
        replanned.stdout()
    );
    let json_plan = ws.run(&["plan", bp, "--json"]).expect(0);
    let json_plan: Value = serde_json::from_str(&json_plan.stdout()).unwrap();
    let vpc_step = json_plan["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "prod_vpc")
        .unwrap()
        .clone();
    assert_eq!(vpc_step["account"], Value::String(prod_id.clone()));
    let drift = ws.run(&["drift", bp]).expect(0);
    assert!(drift.stdout().contains("No drift"), "{}", drift.stdout());

    destroy_keeps_protected_accounts(&ws, bp, &vpc_id, &prod_id).await;
}

async fn organization_is_in_place(prod_id: &str, dev_id: &str) {
    let org = aws_sdk_organizations::Client::new(&sdk_config().await);
    let listed = org.list_accounts().send().await.unwrap();
    let active: Vec<&str> = listed.accounts().iter().filter_map(|a| a.id()).collect();
    assert!(
        active.contains(&prod_id) && active.contains(&dev_id),
        "{active:?}"
    );
    let parents = org.list_parents().child_id(prod_id).send().await.unwrap();
    let ou = parents.parents()[0].id().unwrap().to_string();
    let described = org
        .describe_organizational_unit()
        .organizational_unit_id(&ou)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.organizational_unit().and_then(|u| u.name()),
        Some("placement-workloads")
    );
}

async fn vpc_lives_only_in_prod(vpc_id: &str, prod_id: &str, dev_id: &str) {
    let prod = ec2_in(prod_id).await;
    assert!(vpc_ids(&prod).await.contains(&vpc_id.to_string()));
    let management = aws_sdk_ec2::Client::new(&sdk_config().await);
    assert!(!vpc_ids(&management).await.contains(&vpc_id.to_string()));
    let dev = ec2_in(dev_id).await;
    assert!(!vpc_ids(&dev).await.contains(&vpc_id.to_string()));
}

async fn destroy_keeps_protected_accounts(ws: &Workspace, bp: &str, vpc_id: &str, prod_id: &str) {
    let destroyed: Run = ws.run(&["destroy", bp, "--auto-approve"]).expect(1);
    let (out, err) = (destroyed.stdout(), destroyed.stderr());
    assert!(
        out.contains("# prod (organizations.account) protected: will not be closed"),
        "{out}"
    );
    assert!(
        out.contains("- prod_vpc (ec2.vpc, account"),
        "the plan shows where the VPC is destroyed: {out}"
    );
    assert!(
        err.contains("destroy kept 4 protected resource(s)"),
        "{err}"
    );
    assert!(err.contains("close_on_deletion: true"), "{err}");
    assert!(
        out.contains("Destroy finished, 4 protected resource(s) kept.")
            && !out.contains("Destroy complete!"),
        "a destroy that kept resources does not call itself complete: {out}"
    );

    // The VPC is gone from the prod account; the accounts are still active.
    let prod = ec2_in(prod_id).await;
    assert!(!vpc_ids(&prod).await.contains(&vpc_id.to_string()));
    let org = aws_sdk_organizations::Client::new(&sdk_config().await);
    let described = org
        .describe_account()
        .account_id(prod_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described
            .account()
            .and_then(|a| a.state())
            .map(|s| s.as_str()),
        Some("ACTIVE")
    );
    let state = state_json(ws);
    let kept: Vec<&String> = state["resources"].as_object().unwrap().keys().collect();
    assert_eq!(kept, ["dev", "org", "prod", "workloads"]);
}
