//! The Organizations kinds against the emulator, through the real SDK: every create, update
//! and delete is checked with the SDK directly, not only through the kind's own read.
//!
//! The emulator keeps one organization per management account, and this binary has one
//! emulator: the organization, its OUs, an account and a policy are exercised in one test,
//! in the order an estate is built and torn down. The kinds talk to the emulator through a
//! small proxy that counts operations and makes the emulator as slow and as busy as AWS:
//! account creation reports IN_PROGRESS first, and a MoveAccount is refused once with
//! ConcurrentModificationException.

mod common;

use aws_sdk_ec2::config::Credentials;
use aws_sdk_organizations::types::{AccountState, PolicyType, PolicyTypeStatus};
use aws_sdk_organizations::Client as Organizations;
use common::emulator::sdk_config;
use common::kinds::{output, tags_for, KindDriver};
use innovate::kinds::{Live, Tags};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

const BLUEPRINT: &str = "org-tests";

struct Harness {
    /// Through the proxy, recording every step's phases.
    kinds: KindDriver,
    /// Direct to the emulator: what the checks see.
    org: Organizations,
    config: aws_config::SdkConfig,
    faults: Arc<proxy::Faults>,
}

/// The kinds' calls (`h.create(...)`, `h.phases()`) come from the shared driver.
impl std::ops::Deref for Harness {
    type Target = KindDriver;
    fn deref(&self) -> &KindDriver {
        &self.kinds
    }
}

impl Harness {
    async fn new() -> Harness {
        let config = sdk_config().await;
        let faults = Arc::new(proxy::Faults::default());
        let endpoint = proxy::start(common::emulator::endpoint(), faults.clone());
        let proxied = config.to_builder().endpoint_url(endpoint).build();
        Harness {
            kinds: KindDriver::new(proxied, BLUEPRINT).recording_phases(),
            org: Organizations::new(&config),
            config,
            faults,
        }
    }

    async fn parent(&self, child: &str) -> String {
        let parents = self
            .org
            .list_parents()
            .child_id(child)
            .send()
            .await
            .unwrap();
        assert_eq!(parents.parents().len(), 1, "{child} has one parent");
        parents.parents()[0].id().unwrap().to_string()
    }

    async fn tags_of(&self, id: &str) -> Tags {
        let listed = self
            .org
            .list_tags_for_resource()
            .resource_id(id)
            .send()
            .await
            .unwrap();
        listed
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()
    }

    async fn account_ids(&self) -> BTreeSet<String> {
        let listed = self.org.list_accounts().send().await.unwrap();
        assert!(listed.next_token().is_none(), "one page of accounts");
        listed
            .accounts()
            .iter()
            .map(|a| a.id().unwrap().to_string())
            .collect()
    }

    async fn attached_to(&self, target: &str) -> Vec<String> {
        let listed = self
            .org
            .list_policies_for_target()
            .target_id(target)
            .filter(PolicyType::ServiceControlPolicy)
            .send()
            .await
            .unwrap();
        listed
            .policies()
            .iter()
            .map(|p| p.id().unwrap().to_string())
            .collect()
    }
}

/// The user's tags plus innovate's identity tags, as the executor passes them.
fn tags(address: &str, desired: &Value) -> Tags {
    tags_for(BLUEPRINT, address, desired)
}

fn observed<'a>(live: &'a Live, name: &str) -> &'a Value {
    let attrs = live.attrs.as_ref().expect("the kind reports attributes");
    attrs
        .get(name)
        .unwrap_or_else(|| panic!("{} reports no {name}: {attrs:?}", live.id))
}

fn carries(tags: &Tags, pairs: &[(&str, &str)]) -> bool {
    pairs
        .iter()
        .all(|(k, v)| tags.get(*k).map(String::as_str) == Some(*v))
}

#[tokio::test]
async fn an_organization_with_ous_an_account_and_a_guardrail_policy() {
    let h = Harness::new().await;
    let (org, org_spec) = organization(&h).await;
    let root_id = output(&org, "root_id").to_string();
    let ous = organizational_units(&h, &root_id).await;
    let (account, account_spec) = account(&h, &ous).await;

    // While a member account exists AWS refuses to delete the organization; its message
    // reaches the operator.
    let refused = h
        .try_delete("organizations.organization", &org, &org_spec)
        .await;
    let err = refused.expect_err("an organization with members is not deleted");
    assert_eq!(
        err.code.as_deref(),
        Some("OrganizationNotEmptyException"),
        "{err}"
    );
    assert!(!err.message.is_empty());
    assert_eq!(
        h.org
            .describe_organization()
            .send()
            .await
            .unwrap()
            .organization()
            .unwrap()
            .id(),
        Some(org.id.as_str())
    );

    cross_account(&h, &account.id).await;
    policy(&h, &root_id, &ous).await;
    teardown(&h, &root_id, org, &org_spec, ous, account, account_spec).await;
}

// ------------------------------------------------------------------------ organization

async fn organization(h: &Harness) -> (Live, Value) {
    let spec = json!({"feature_set": "ALL"});
    // ListRoots may answer an empty first page with a NextToken. Every first page is empty
    // here, so the root is found only by following the token.
    h.faults.empty_roots.store(u32::MAX, Ordering::SeqCst);
    let org = h.create("organizations.organization", "org", &spec).await;
    assert!(h.faults.empty_roots.swap(0, Ordering::SeqCst) < u32::MAX);
    let described = h.org.describe_organization().send().await.unwrap();
    let described = described.organization().unwrap();
    assert_eq!(described.id(), Some(org.id.as_str()));
    assert_eq!(described.feature_set().unwrap().as_str(), "ALL");
    assert_eq!(output(&org, "arn"), described.arn().unwrap());
    assert_eq!(
        output(&org, "master_account_id"),
        described.master_account_id().unwrap()
    );
    let roots = h.org.list_roots().send().await.unwrap();
    assert_eq!(roots.roots().len(), 1);
    assert_eq!(output(&org, "root_id"), roots.roots()[0].id().unwrap());
    assert_eq!(observed(&org, "feature_set"), "ALL");

    // Running the blueprint again adopts the organization the account already manages.
    let again = h.create("organizations.organization", "org", &spec).await;
    assert_eq!(again.id, org.id);
    assert_eq!(output(&again, "root_id"), output(&org, "root_id"));
    // ... but not one with another feature set.
    let billing = json!({"feature_set": "CONSOLIDATED_BILLING"});
    let err = h
        .try_create("organizations.organization", "org", &billing)
        .await
        .expect_err("another feature set is not adopted");
    assert_eq!(err.code.as_deref(), Some("AlreadyInOrganizationException"));
    assert!(err.message.contains("feature_set ALL"), "{err}");

    let read = h
        .read("organizations.organization", &[&org.id, "o-0000000000"])
        .await;
    assert_eq!(read[0].as_ref(), Some(&org));
    assert_eq!(read[1], None);
    (org, spec)
}

// ------------------------------------------------------------------ organizational units

struct Ous {
    workloads: (Live, Value),
    prod: (Live, Value),
    staging: (Live, Value),
}

async fn organizational_units(h: &Harness, root_id: &str) -> Ous {
    let kind = "organizations.organizational_unit";
    let workloads_spec =
        json!({"name": "workloads", "parent_id": root_id, "tags": {"team": "platform"}});
    let workloads = h.create(kind, "workloads", &workloads_spec).await;
    let prod_spec = json!({"name": "prod", "parent_id": workloads.id});
    let prod = h.create(kind, "prod", &prod_spec).await;
    let staging_spec = json!({"name": "staging", "parent_id": workloads.id});
    let staging = h.create(kind, "staging", &staging_spec).await;

    // Nested: root > workloads > {prod, staging}.
    assert_eq!(h.parent(&workloads.id).await, root_id);
    assert_eq!(h.parent(&prod.id).await, workloads.id);
    assert_eq!(h.parent(&staging.id).await, workloads.id);
    let described = h
        .org
        .describe_organizational_unit()
        .organizational_unit_id(&prod.id)
        .send()
        .await
        .unwrap();
    let described = described.organizational_unit().unwrap();
    assert_eq!(described.name(), Some("prod"));
    assert_eq!(output(&prod, "arn"), described.arn().unwrap());
    assert!(carries(
        &h.tags_of(&workloads.id).await,
        &[("team", "platform"), ("innovate:address", "workloads")]
    ));
    assert_eq!(observed(&workloads, "parent_id"), root_id);
    assert_eq!(observed(&workloads, "tags"), &json!({"team": "platform"}));

    // Rename in place; tags follow the blueprint, identity tags stay.
    let renamed_spec = json!({"name": "stage", "parent_id": workloads.id});
    let renamed = h
        .update(kind, "staging", &staging, &staging_spec, &renamed_spec)
        .await;
    assert_eq!(renamed.id, staging.id);
    let described = h
        .org
        .describe_organizational_unit()
        .organizational_unit_id(&staging.id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.organizational_unit().unwrap().name(),
        Some("stage")
    );
    assert_eq!(observed(&renamed, "name"), "stage");
    let retagged_spec =
        json!({"name": "workloads", "parent_id": root_id, "tags": {"team": "data", "tier": "1"}});
    let retagged = h
        .update(
            kind,
            "workloads",
            &workloads,
            &workloads_spec,
            &retagged_spec,
        )
        .await;
    let carried = h.tags_of(&workloads.id).await;
    assert!(
        carries(
            &carried,
            &[
                ("team", "data"),
                ("tier", "1"),
                ("innovate:address", "workloads")
            ]
        ),
        "{carried:?}"
    );
    assert_eq!(
        observed(&retagged, "tags"),
        &json!({"team": "data", "tier": "1"})
    );

    let read = h
        .read(kind, &[&prod.id, &staging.id, "ou-zzzz-zzzzzzzz"])
        .await;
    let read_prod = read[0].as_ref().expect("prod is there");
    assert_eq!(observed(read_prod, "name"), "prod");
    assert_eq!(observed(read_prod, "parent_id"), workloads.id.as_str());
    assert_eq!(observed(read[1].as_ref().unwrap(), "name"), "stage");
    assert_eq!(read[2], None);

    // Found by identity tags (what an interrupted apply left behind).
    let tagged = h
        .kind(kind)
        .list_tagged(&tags("prod", &json!({})))
        .await
        .unwrap()
        .expect("OUs can be listed by tag");
    let ids: Vec<&str> = tagged.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, vec![prod.id.as_str()]);

    Ous {
        workloads: (retagged, retagged_spec),
        prod: (prod, prod_spec),
        staging: (renamed, renamed_spec),
    }
}

// ----------------------------------------------------------------------------- account

async fn account(h: &Harness, ous: &Ous) -> (Live, Value) {
    let kind = "organizations.account";
    let (prod, staging) = (&ous.prod.0.id, &ous.staging.0.id);
    let before = h.account_ids().await;
    // AWS takes minutes: the creation is reported IN_PROGRESS once, and the move into the
    // OU is refused once because the organization is busy.
    h.faults.pending_creations.store(1, Ordering::SeqCst);
    h.faults.busy_moves.store(1, Ordering::SeqCst);
    // ListParents may answer an empty first page with a NextToken. Every first page is
    // empty here, so the account's parent is found only by following the token.
    h.faults.empty_parents.store(u32::MAX, Ordering::SeqCst);
    let spec = json!({"account_name": "innovate-prod", "email": "aws-prod@innovate.example",
        "parent_id": prod, "tags": {"cost-center": "42"}});
    let account = h.create(kind, "prod_account", &spec).await;

    assert_eq!(
        h.faults.calls("DescribeCreateAccountStatus"),
        2,
        "polled past IN_PROGRESS"
    );
    let waits: Vec<String> = h
        .phases()
        .into_iter()
        .filter(|p| p.starts_with("waiting for account creation "))
        .collect();
    assert_eq!(waits.len(), 1, "{:?}", h.phases());
    assert_eq!(
        h.faults.calls("MoveAccount"),
        2,
        "refused once, then sent again"
    );
    assert_eq!(h.faults.pending_creations.load(Ordering::SeqCst), 0);
    assert_eq!(h.faults.busy_moves.load(Ordering::SeqCst), 0);
    assert!(h.faults.empty_parents.swap(0, Ordering::SeqCst) < u32::MAX);

    let after = h.account_ids().await;
    assert_eq!(
        after.difference(&before).collect::<Vec<_>>(),
        vec![&account.id]
    );
    let described = h
        .org
        .describe_account()
        .account_id(&account.id)
        .send()
        .await
        .unwrap();
    let described = described.account().unwrap();
    assert_eq!(described.name(), Some("innovate-prod"));
    assert_eq!(described.email(), Some("aws-prod@innovate.example"));
    assert_eq!(described.state(), Some(&AccountState::Active));
    assert_eq!(h.parent(&account.id).await, *prod);
    assert!(carries(
        &h.tags_of(&account.id).await,
        &[("cost-center", "42"), ("innovate:address", "prod_account")]
    ));
    assert_eq!(output(&account, "status"), "ACTIVE");
    assert_eq!(output(&account, "arn"), described.arn().unwrap());
    assert_eq!(observed(&account, "parent_id"), prod.as_str());
    assert_eq!(observed(&account, "email"), "aws-prod@innovate.example");
    assert_eq!(observed(&account, "tags"), &json!({"cost-center": "42"}));

    // Applying again after an interruption adopts the account with that email...
    let creations = h.faults.calls("CreateAccount");
    let again = h.create(kind, "prod_account", &spec).await;
    assert_eq!(again.id, account.id);
    assert_eq!(
        h.faults.calls("CreateAccount"),
        creations,
        "no second account"
    );
    // ... which another address of the blueprint cannot take over.
    let err = h
        .try_create(kind, "other_account", &spec)
        .await
        .expect_err("someone else's account is not adopted");
    assert_eq!(err.code.as_deref(), Some("EMAIL_ALREADY_EXISTS"), "{err}");
    assert!(err.message.contains(&account.id), "{err}");
    assert_eq!(h.account_ids().await, after);

    // A new parent moves the account in place.
    let mut moved_spec = spec.clone();
    moved_spec["parent_id"] = json!(staging);
    let moves = h.faults.calls("MoveAccount");
    let moved = h
        .update(kind, "prod_account", &account, &spec, &moved_spec)
        .await;
    assert_eq!(moved.id, account.id);
    assert_eq!(h.parent(&account.id).await, *staging);
    assert_eq!(h.faults.calls("MoveAccount"), moves + 1);
    assert_eq!(h.account_ids().await, after, "moved, not replaced");
    let read = h.read(kind, &[&account.id, "999999999999"]).await;
    assert_eq!(
        observed(read[0].as_ref().unwrap(), "parent_id"),
        staging.as_str()
    );
    assert_eq!(read[1], None);

    // Accounts are protected: without close_on_deletion the delete is refused.
    let err = h
        .try_delete(kind, &moved, &moved_spec)
        .await
        .expect_err("an account is not closed unless the blueprint says so");
    assert!(err.message.contains("close_on_deletion: true"), "{err}");
    assert!(err.message.contains("90 days"), "{err}");
    assert_eq!(h.faults.calls("CloseAccount"), 0);
    let described = h
        .org
        .describe_account()
        .account_id(&account.id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.account().unwrap().state(),
        Some(&AccountState::Active)
    );
    assert_eq!(h.parent(&account.id).await, *staging);

    (moved, moved_spec)
}

// ------------------------------------------------------------------------ cross-account

/// What the engine builds on: credentials from AssumeRole into the member account's
/// OrganizationAccountAccessRole act in that account.
async fn cross_account(h: &Harness, account_id: &str) {
    let sts = aws_sdk_sts::Client::new(&h.config);
    let role = format!("arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole");
    let assumed = sts
        .assume_role()
        .role_arn(&role)
        .role_session_name("innovate-test")
        .send()
        .await
        .unwrap();
    let credentials = assumed
        .credentials()
        .expect("AssumeRole returns credentials");
    let member_credentials = Credentials::new(
        credentials.access_key_id(),
        credentials.secret_access_key(),
        Some(credentials.session_token().to_string()),
        None,
        "assumed",
    );
    let member_sts = aws_sdk_sts::config::Builder::from(&h.config)
        .credentials_provider(member_credentials.clone())
        .build();
    let identity = aws_sdk_sts::Client::from_conf(member_sts)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(identity.account(), Some(account_id));

    let member_ec2 = aws_sdk_ec2::config::Builder::from(&h.config)
        .credentials_provider(member_credentials)
        .build();
    let member = aws_sdk_ec2::Client::from_conf(member_ec2);
    let management = aws_sdk_ec2::Client::new(&h.config);
    let vpc = member
        .create_vpc()
        .cidr_block("10.77.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let vpc_ids = |described: aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsOutput| {
        described
            .vpcs()
            .iter()
            .map(|v| {
                (
                    v.vpc_id().unwrap().to_string(),
                    v.owner_id().map(str::to_string),
                )
            })
            .collect::<Vec<_>>()
    };
    let seen_by_member = vpc_ids(member.describe_vpcs().send().await.unwrap());
    assert!(
        seen_by_member.contains(&(vpc_id.clone(), Some(account_id.to_string()))),
        "{seen_by_member:?}"
    );
    let seen_by_management = vpc_ids(management.describe_vpcs().send().await.unwrap());
    assert!(
        seen_by_management.iter().all(|(id, _)| *id != vpc_id),
        "{seen_by_management:?}"
    );
    member.delete_vpc().vpc_id(&vpc_id).send().await.unwrap();
}

// ------------------------------------------------------------------------------ policy

fn guardrails() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "StayInTheOrganization", "Effect": "Deny",
             "Action": ["organizations:LeaveOrganization"], "Resource": "*"},
            {"Sid": "KeepTheTrail", "Effect": "Deny",
             "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail"], "Resource": "*"}
        ]
    })
}

async fn policy(h: &Harness, root_id: &str, ous: &Ous) {
    let kind = "organizations.policy";
    let (prod, staging) = (&ous.prod.0.id, &ous.staging.0.id);
    let spec = json!({"name": "guardrails", "content": guardrails(), "target_ids": [prod],
        "tags": {"owner": "security"}});
    let policy = h.create(kind, "guardrails", &spec).await;

    // SCPs had to be enabled on the root before the attachment.
    let roots = h.org.list_roots().send().await.unwrap();
    let root = &roots.roots()[0];
    assert_eq!(root.id(), Some(root_id));
    let scp = root
        .policy_types()
        .iter()
        .find(|t| t.r#type() == Some(&PolicyType::ServiceControlPolicy))
        .expect("SCPs are enabled on the root");
    assert_eq!(scp.status(), Some(&PolicyTypeStatus::Enabled));
    assert_eq!(h.faults.calls("EnablePolicyType"), 1);

    let described = h
        .org
        .describe_policy()
        .policy_id(&policy.id)
        .send()
        .await
        .unwrap();
    let described = described.policy().unwrap();
    let summary = described.policy_summary().unwrap();
    assert_eq!(summary.name(), Some("guardrails"));
    assert_eq!(summary.description(), Some("Managed by innovate"));
    assert_eq!(summary.r#type(), Some(&PolicyType::ServiceControlPolicy));
    assert_eq!(output(&policy, "arn"), summary.arn().unwrap());
    let content: Value = serde_json::from_str(described.content().unwrap()).unwrap();
    assert_eq!(content, guardrails());
    assert!(h.attached_to(prod).await.contains(&policy.id));
    assert!(!h.attached_to(staging).await.contains(&policy.id));
    assert!(carries(
        &h.tags_of(&policy.id).await,
        &[("owner", "security"), ("innovate:address", "guardrails")]
    ));
    assert_eq!(observed(&policy, "content"), &guardrails());
    assert_eq!(observed(&policy, "target_ids"), &json!([prod]));

    // Names are unique: applying again adopts this policy, another address may not.
    let again = h.create(kind, "guardrails", &spec).await;
    assert_eq!(again.id, policy.id);
    let err = h
        .try_create(kind, "copy", &spec)
        .await
        .expect_err("someone else's policy is not adopted");
    assert_eq!(
        err.code.as_deref(),
        Some("DuplicatePolicyException"),
        "{err}"
    );
    assert!(err.message.contains(&policy.id), "{err}");

    // The same document written differently is no change at all.
    let reformatted = json!({
        "Statement": [
            {"Resource": ["*"], "Action": "organizations:LeaveOrganization", "Effect": "Deny",
             "Sid": "StayInTheOrganization"},
            {"Sid": "KeepTheTrail", "Effect": "Deny", "Resource": "*",
             "Action": ["cloudtrail:DeleteTrail", "cloudtrail:StopLogging"]}
        ],
        "Version": "2012-10-17"
    });
    let mut same_spec = spec.clone();
    same_spec["content"] = reformatted;
    let updates = h.faults.calls("UpdatePolicy");
    h.update(kind, "guardrails", &policy, &spec, &same_spec)
        .await;
    assert_eq!(h.faults.calls("UpdatePolicy"), updates);

    // New content and description in place; the policy moves from prod to staging.
    let mut tightened = guardrails();
    tightened["Statement"]
        .as_array_mut()
        .unwrap()
        .push(json!({"Sid": "KeepTheOrganization", "Effect": "Deny",
                     "Action": "organizations:DeleteOrganization", "Resource": "*"}));
    let changed_spec = json!({"name": "guardrails", "description": "No leaving, no blind spots",
        "content": tightened, "target_ids": [staging], "tags": {"owner": "security"}});
    let changed = h
        .update(kind, "guardrails", &policy, &spec, &changed_spec)
        .await;
    assert_eq!(changed.id, policy.id);
    assert_eq!(h.faults.calls("UpdatePolicy"), updates + 1);
    let described = h
        .org
        .describe_policy()
        .policy_id(&policy.id)
        .send()
        .await
        .unwrap();
    let described = described.policy().unwrap();
    let content: Value = serde_json::from_str(described.content().unwrap()).unwrap();
    assert_eq!(content, tightened);
    assert_eq!(
        described.policy_summary().unwrap().description(),
        Some("No leaving, no blind spots")
    );
    assert!(!h.attached_to(prod).await.contains(&policy.id));
    assert!(h.attached_to(staging).await.contains(&policy.id));
    let targets = h
        .org
        .list_targets_for_policy()
        .policy_id(&policy.id)
        .send()
        .await
        .unwrap();
    let targets: Vec<&str> = targets
        .targets()
        .iter()
        .map(|t| t.target_id().unwrap())
        .collect();
    assert_eq!(targets, vec![staging.as_str()]);
    let read = h.read(kind, &[&policy.id, "p-zzzzzzzz"]).await;
    let read_policy = read[0].as_ref().expect("the policy is there");
    assert_eq!(observed(read_policy, "content"), &tightened);
    assert_eq!(observed(read_policy, "target_ids"), &json!([staging]));
    assert_eq!(
        observed(read_policy, "description"),
        "No leaving, no blind spots"
    );
    assert_eq!(read[1], None);

    // Deleted: detached from its targets first.
    h.delete(kind, &changed, &changed_spec).await;
    let gone = h.org.describe_policy().policy_id(&policy.id).send().await;
    let err = gone
        .expect_err("the policy is deleted")
        .into_service_error();
    assert!(err.is_policy_not_found_exception(), "{err:?}");
    assert!(!h.attached_to(staging).await.contains(&policy.id));
    h.delete(kind, &changed, &changed_spec).await;
}

// ---------------------------------------------------------------------------- teardown

async fn teardown(
    h: &Harness,
    root_id: &str,
    org: Live,
    org_spec: &Value,
    ous: Ous,
    account: Live,
    account_spec: Value,
) {
    // close_on_deletion: true closes the account, after moving it to the root so that
    // its OU can go.
    let kind = "organizations.account";
    let mut closing_spec = account_spec.clone();
    closing_spec["close_on_deletion"] = json!(true);
    let updated = h
        .update(kind, "prod_account", &account, &account_spec, &closing_spec)
        .await;
    assert_eq!(updated.id, account.id);
    h.delete(kind, &updated, &closing_spec).await;
    assert_eq!(h.faults.calls("CloseAccount"), 1);
    let described = h
        .org
        .describe_account()
        .account_id(&account.id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.account().unwrap().state(),
        Some(&AccountState::Suspended)
    );
    assert_eq!(h.parent(&account.id).await, root_id);
    assert_eq!(h.read(kind, &[&account.id]).await, vec![None]);
    h.delete(kind, &updated, &closing_spec).await;
    assert_eq!(
        h.faults.calls("CloseAccount"),
        1,
        "a closed account is gone already"
    );

    let ou_kind = "organizations.organizational_unit";
    for (live, spec) in [&ous.prod, &ous.staging, &ous.workloads] {
        h.delete(ou_kind, live, spec).await;
        let described = h
            .org
            .describe_organizational_unit()
            .organizational_unit_id(&live.id)
            .send()
            .await;
        let err = described
            .expect_err("the OU is deleted")
            .into_service_error();
        assert!(err.is_organizational_unit_not_found_exception(), "{err:?}");
        h.delete(ou_kind, live, spec).await;
    }

    // AWS keeps a closed account in the organization for 90 days; the emulator lets it be
    // removed at once, so the organization itself can be deleted here.
    h.org
        .remove_account_from_organization()
        .account_id(&account.id)
        .send()
        .await
        .unwrap();
    h.delete("organizations.organization", &org, org_spec).await;
    let described = h.org.describe_organization().send().await;
    let err = described
        .expect_err("the organization is deleted")
        .into_service_error();
    assert!(err.is_aws_organizations_not_in_use_exception(), "{err:?}");
    assert_eq!(
        h.read("organizations.organization", &[&org.id]).await,
        vec![None]
    );
    h.delete("organizations.organization", &org, org_spec).await;
}

// ------------------------------------------------------------------------------- proxy

/// Sits between the SDK and the emulator, counts operations, and makes the emulator
/// behave like AWS under load: the first `pending_creations` DescribeCreateAccountStatus
/// answers say IN_PROGRESS, and the first `busy_moves` MoveAccount calls are refused with
/// ConcurrentModificationException.
mod proxy {
    use crate::common::rewriting_proxy::{self, take, Response};
    use std::collections::HashMap;
    use std::sync::atomic::AtomicU32;
    use std::sync::{Arc, Mutex};

    #[derive(Default)]
    pub struct Faults {
        pub pending_creations: AtomicU32,
        pub busy_moves: AtomicU32,
        /// ListRoots and ListParents first pages answered empty with a NextToken, as AWS
        /// may answer a paginated list.
        pub empty_roots: AtomicU32,
        pub empty_parents: AtomicU32,
        calls: Mutex<HashMap<String, u32>>,
    }

    impl Faults {
        /// How many times an operation (Organizations: "MoveAccount") reached the proxy.
        pub fn calls(&self, operation: &str) -> u32 {
            let calls = self.calls.lock().unwrap();
            calls.get(operation).copied().unwrap_or(0)
        }
    }

    /// Starts the proxy in front of `upstream` and answers its endpoint. Only the JSON
    /// protocol's operations are told apart (for STS and EC2 the operation is "").
    pub fn start(upstream: &str, faults: Arc<Faults>) -> String {
        rewriting_proxy::start(upstream, move |request, forward| {
            let operation = request.json_target();
            *faults
                .calls
                .lock()
                .unwrap()
                .entry(operation.clone())
                .or_default() += 1;
            if operation == "MoveAccount" && take(&faults.busy_moves) {
                return busy();
            }
            let first_page = !String::from_utf8_lossy(&request.body).contains("NextToken");
            let list = match operation.as_str() {
                "ListRoots" => Some(("Roots", &faults.empty_roots)),
                "ListParents" => Some(("Parents", &faults.empty_parents)),
                _ => None,
            };
            if let Some((items, empty)) = list.filter(|_| first_page) {
                if take(empty) {
                    return empty_page(items);
                }
            }
            let mut answer = forward();
            if operation == "DescribeCreateAccountStatus"
                && answer.body.contains("SUCCEEDED")
                && take(&faults.pending_creations)
            {
                answer.body = answer.body.replace("\"SUCCEEDED\"", "\"IN_PROGRESS\"");
            }
            answer
        })
    }

    /// A page with nothing on it and a token for the next: the emulator ignores the token
    /// and answers everything on the second page.
    fn empty_page(items: &str) -> Response {
        Response {
            status: "HTTP/1.1 200 OK".into(),
            content_type: "application/x-amz-json-1.1".into(),
            error_type: None,
            body: format!(r#"{{"{items}": [], "NextToken": "page-2"}}"#),
        }
    }

    /// What Organizations answers while another request changes the same thing.
    fn busy() -> Response {
        let body = r#"{"__type":"ConcurrentModificationException","Message":"The target of the operation is currently being modified by a different request. Try again later."}"#;
        Response::client_error("application/x-amz-json-1.1", body)
    }
}
