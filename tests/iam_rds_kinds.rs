//! The IAM and RDS kinds against the emulator, through the real SDK: every create, update
//! and delete is checked with the SDK directly, not only through the kind's own read.
//! Tests share one emulator, so every name carries this run's suffix and a test's own word.

mod common;

use aws_sdk_iam::Client as Iam;
use aws_sdk_rds::Client as Rds;
use common::emulator::sdk_config;
use common::kinds::{attrs, output, tags_for, KindDriver};
use innovate::aws::{registry, AwsContext};
use innovate::kinds::{StepCx, Tags};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

const BLUEPRINT: &str = "iam-rds-kinds";

struct Harness {
    kinds: KindDriver,
    iam: Iam,
    rds: Rds,
    ec2: aws_sdk_ec2::Client,
}

/// The kinds' calls (`h.create(...)`, `h.read_one(...)`) come from the shared driver.
impl std::ops::Deref for Harness {
    type Target = KindDriver;
    fn deref(&self) -> &KindDriver {
        &self.kinds
    }
}

impl Harness {
    async fn new() -> Harness {
        let config = sdk_config().await;
        Harness {
            iam: Iam::new(&config),
            rds: Rds::new(&config),
            ec2: aws_sdk_ec2::Client::new(&config),
            kinds: KindDriver::new(config, BLUEPRINT),
        }
    }
}

/// What the engine hands a kind at `address`: the blueprint's tags plus identity tags.
fn tags(address: &str, desired: &Value) -> Tags {
    tags_for(BLUEPRINT, address, desired)
}

/// `word` made unique to this run, in the lower case RDS stores names in.
fn unique(word: &str) -> String {
    static SUFFIX: OnceLock<String> = OnceLock::new();
    let suffix = SUFFIX.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        format!("{:x}{:x}", std::process::id(), nanos % 0x10000)
    });
    format!("{word}-{suffix}")
}

/// IAM returns policy documents URL-encoded.
fn decode_policy(text: &str) -> Value {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = text.get(i + 1..i + 3);
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(byte) if bytes[i] == b'%' => {
                out.push(byte);
                i += 3;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("policy {text:?} is no JSON: {e}"))
}

// ---------------------------------------------------------------- iam.role

const EKS_CLUSTER_POLICY: &str = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy";
const EKS_VPC_CONTROLLER: &str = "arn:aws:iam::aws:policy/AmazonEKSVPCResourceController";

/// The trust policy as a blueprint's YAML map arrives: a JSON object.
fn trust(service: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": [service]},
            "Action": ["sts:AssumeRole"],
        }]
    })
}

fn logs_policy(action: &str) -> Value {
    json!({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": [action], "Resource": "*"}]})
}

async fn role(iam: &Iam, name: &str) -> aws_sdk_iam::types::Role {
    let answer = iam.get_role().role_name(name).send().await;
    answer.unwrap().role.expect("GetRole answers with the role")
}

async fn role_tags(iam: &Iam, name: &str) -> BTreeMap<String, String> {
    let listed = iam.list_role_tags().role_name(name).send().await.unwrap();
    let pairs = listed.tags().iter();
    pairs
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

async fn attached(iam: &Iam, name: &str) -> Vec<String> {
    let listed = iam
        .list_attached_role_policies()
        .role_name(name)
        .send()
        .await
        .unwrap();
    let mut arns: Vec<String> = listed
        .attached_policies()
        .iter()
        .map(|p| p.policy_arn().unwrap().to_string())
        .collect();
    arns.sort();
    arns
}

async fn inline(iam: &Iam, name: &str) -> BTreeMap<String, Value> {
    let names = iam.list_role_policies().role_name(name).send().await;
    let mut docs = BTreeMap::new();
    for policy in names.unwrap().policy_names() {
        let doc = iam
            .get_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await
            .unwrap();
        docs.insert(policy.clone(), decode_policy(doc.policy_document()));
    }
    docs
}

#[tokio::test]
async fn role_with_trust_managed_and_inline_policies_is_created_updated_and_deleted() {
    let h = Harness::new().await;
    let name = unique("eks-cluster");
    let desired = json!({
        "name": name,
        "description": "EKS control plane",
        "assume_role_policy": trust("eks.amazonaws.com"),
        "managed_policy_arns": [EKS_CLUSTER_POLICY],
        "inline_policies": {"logs": logs_policy("logs:CreateLogGroup"), "gone-later": logs_policy("logs:PutLogEvents")},
        "max_session_duration": 7200,
        "tags": {"Team": "platform", "Old": "x"},
    });
    let live = h.create("iam.role", "cluster_role", &desired).await;

    assert_eq!(live.id, name);
    let described = role(&h.iam, &name).await;
    assert_eq!(output(&live, "arn"), described.arn());
    assert_eq!(output(&live, "unique_id"), described.role_id());
    assert_eq!(described.path(), "/");
    assert_eq!(described.description(), Some("EKS control plane"));
    assert_eq!(described.max_session_duration(), Some(7200));
    let stored_trust = decode_policy(described.assume_role_policy_document().unwrap());
    assert_eq!(stored_trust, trust("eks.amazonaws.com"));
    assert_eq!(
        role_tags(&h.iam, &name).await,
        tags("cluster_role", &desired)
    );
    assert_eq!(attached(&h.iam, &name).await, vec![EKS_CLUSTER_POLICY]);
    let docs = inline(&h.iam, &name).await;
    assert_eq!(docs.len(), 2);
    assert_eq!(docs["logs"], logs_policy("logs:CreateLogGroup"));

    // One read for several, in the order asked, a gone role as None.
    let read = h.read("iam.role", &["no-such-role", &name]).await;
    assert_eq!(read[0], None);
    assert_eq!(read[1].as_ref().map(|l| &l.outputs), Some(&live.outputs));
    let read = h.assert_no_drift("iam.role", &name, &desired).await;
    assert_eq!(
        read.attrs.unwrap()["tags"],
        json!({"Team": "platform", "Old": "x"})
    );

    // A tag changed outside innovate is drift in `tags`.
    h.iam
        .tag_role()
        .role_name(&name)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("Team")
                .value("someone-else")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let read = h.read_one("iam.role", &name).await;
    assert_eq!(h.drift("iam.role", &read, &desired), vec!["tags"]);

    let changed = json!({
        "name": name,
        "assume_role_policy": trust("eks-fargate-pods.amazonaws.com"),
        "managed_policy_arns": [EKS_VPC_CONTROLLER],
        "inline_policies": {"logs": logs_policy("logs:DescribeLogGroups"), "new": logs_policy("logs:GetLogEvents")},
        "tags": {"Team": "data"},
    });
    let updated = h
        .update("iam.role", "cluster_role", &live, &desired, &changed)
        .await;
    assert_eq!(
        (&updated.id, &updated.outputs),
        (&live.id, &live.outputs),
        "same role, same outputs"
    );
    let read = h.assert_no_drift("iam.role", &name, &changed).await;
    assert_eq!(read, updated, "the update reports what a read reports");
    assert_eq!(
        h.kind("iam.role")
            .list_tagged(&tags("cluster_role", &json!({})))
            .await
            .unwrap(),
        None,
        "ListRoles reports no tags"
    );
    let described = role(&h.iam, &name).await;
    let stored_trust = decode_policy(described.assume_role_policy_document().unwrap());
    assert_eq!(stored_trust, trust("eks-fargate-pods.amazonaws.com"));
    assert_eq!(
        described.description().unwrap_or_default(),
        "",
        "dropped description cleared"
    );
    assert_eq!(
        described.max_session_duration(),
        Some(3600),
        "back to the default"
    );
    assert_eq!(attached(&h.iam, &name).await, vec![EKS_VPC_CONTROLLER]);
    let docs = inline(&h.iam, &name).await;
    assert_eq!(
        docs.keys().collect::<Vec<_>>(),
        vec!["logs", "new"],
        "gone-later deleted"
    );
    assert_eq!(docs["logs"], logs_policy("logs:DescribeLogGroups"));
    assert_eq!(
        role_tags(&h.iam, &name).await,
        tags("cluster_role", &changed)
    );

    // The same grants written differently (keys reordered, single strings instead of
    // lists) change nothing: IAM keeps the text it stored before.
    let text_before = described.assume_role_policy_document().unwrap().to_string();
    let inline_before = inline(&h.iam, &name).await;
    let same_meaning = json!({
        "name": name,
        "assume_role_policy": {"Statement": {"Action": "sts:AssumeRole", "Effect": "Allow",
            "Principal": {"Service": "eks-fargate-pods.amazonaws.com"}}, "Version": "2012-10-17"},
        "managed_policy_arns": [EKS_VPC_CONTROLLER],
        "inline_policies": {
            "logs": {"Statement": [{"Resource": ["*"], "Action": "logs:DescribeLogGroups", "Effect": "Allow"}], "Version": "2012-10-17"},
            "new": logs_policy("logs:GetLogEvents"),
        },
        "tags": {"Team": "data"},
    });
    h.update("iam.role", "cluster_role", &live, &changed, &same_meaning)
        .await;
    let described = role(&h.iam, &name).await;
    assert_eq!(
        described.assume_role_policy_document().unwrap(),
        text_before
    );
    assert_eq!(inline(&h.iam, &name).await, inline_before);

    // Delete takes the role out of its instance profile and drops every policy first.
    let profile = unique("eks-profile");
    h.iam
        .create_instance_profile()
        .instance_profile_name(&profile)
        .send()
        .await
        .unwrap();
    h.iam
        .add_role_to_instance_profile()
        .instance_profile_name(&profile)
        .role_name(&name)
        .send()
        .await
        .unwrap();
    h.delete("iam.role", &live, &same_meaning).await;
    let err = h.iam.get_role().role_name(&name).send().await.unwrap_err();
    assert_eq!(
        aws_sdk_iam::error::ProvideErrorMetadata::code(&err),
        Some("NoSuchEntity")
    );
    let profile_now = h
        .iam
        .get_instance_profile()
        .instance_profile_name(&profile)
        .send()
        .await
        .unwrap();
    assert!(profile_now.instance_profile().unwrap().roles().is_empty());
    assert_eq!(h.read("iam.role", &[&name]).await, vec![None]);
    h.delete("iam.role", &live, &same_meaning).await;
}

/// Someone else detaches a managed policy, or deletes an inline one, while innovate cleans
/// the role up for its delete: IAM answers NoSuchEntity about that policy though the role
/// still exists. innovate takes the item as done and goes on, as terraform-provider-aws
/// does, and deletes the role. A proxy lets each call do its work and then answers
/// NoSuchEntity, as IAM does to the caller who came second.
#[tokio::test]
async fn a_role_delete_goes_on_past_policies_someone_else_removed() {
    use common::rewriting_proxy::{self, Response};
    use std::sync::atomic::{AtomicU32, Ordering};

    let h = Harness::new().await;
    let name = unique("raced");
    let desired = json!({
        "name": name,
        "assume_role_policy": trust("eks.amazonaws.com"),
        "managed_policy_arns": [EKS_CLUSTER_POLICY],
        "inline_policies": {"logs": logs_policy("logs:CreateLogGroup")},
    });
    let live = h.create("iam.role", "raced_role", &desired).await;

    let raced = Arc::new(AtomicU32::new(0));
    let counted = raced.clone();
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        let answer = forward();
        let action = request.form_action();
        let removes = matches!(action.as_str(), "DetachRolePolicy" | "DeleteRolePolicy");
        if !(removes && answer.status.contains(" 200 ")) {
            return answer;
        }
        counted.fetch_add(1, Ordering::SeqCst);
        let body = "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error>\
            <Type>Sender</Type><Code>NoSuchEntity</Code>\
            <Message>The policy was not found.</Message></Error>\
            <RequestId>raced</RequestId></ErrorResponse>";
        Response::client_error("text/xml", body)
    });
    let through = KindDriver::through(&endpoint, BLUEPRINT).await;
    through.delete("iam.role", &live, &desired).await;

    assert_eq!(
        raced.load(Ordering::SeqCst),
        2,
        "each policy answered NoSuchEntity"
    );
    let err = h.iam.get_role().role_name(&name).send().await.unwrap_err();
    assert_eq!(
        aws_sdk_iam::error::ProvideErrorMetadata::code(&err),
        Some("NoSuchEntity"),
        "the role itself is deleted"
    );
}

/// IAM refuses AttachRolePolicy and DetachRolePolicy for a moment while another request
/// changes the same role (ConcurrentModification); innovate sends each again. A proxy
/// refuses the first of each, without passing it on.
#[tokio::test]
async fn policy_changes_refused_for_a_concurrent_modification_are_sent_again() {
    use common::rewriting_proxy::{self, take, Response};
    use std::sync::atomic::{AtomicU32, Ordering};

    let h = Harness::new().await;
    let name = unique("busy");
    let first = json!({"name": name, "assume_role_policy": trust("eks.amazonaws.com")});
    let role_live = h.create("iam.role", "busy_role", &first).await;

    let (attach, detach) = (Arc::new(AtomicU32::new(1)), Arc::new(AtomicU32::new(1)));
    let (attach_left, detach_left) = (attach.clone(), detach.clone());
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        let refused = match request.form_action().as_str() {
            "AttachRolePolicy" => take(&attach_left),
            "DetachRolePolicy" => take(&detach_left),
            _ => false,
        };
        if !refused {
            return forward();
        }
        let body = "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error>\
            <Type>Sender</Type><Code>ConcurrentModification</Code>\
            <Message>The request was rejected because multiple requests to change this \
            object were submitted simultaneously. Wait a few minutes and submit your request \
            again.</Message></Error><RequestId>busy</RequestId></ErrorResponse>";
        Response::client_error("text/xml", body)
    });
    let through = KindDriver::through(&endpoint, BLUEPRINT).await;

    let with_policy = json!({"name": name, "assume_role_policy": trust("eks.amazonaws.com"),
        "managed_policy_arns": [EKS_CLUSTER_POLICY]});
    let role_live = through
        .update("iam.role", "busy_role", &role_live, &first, &with_policy)
        .await;
    assert_eq!(attach.load(Ordering::SeqCst), 0, "refused once");
    assert_eq!(attached(&h.iam, &name).await, [EKS_CLUSTER_POLICY]);

    through
        .update("iam.role", "busy_role", &role_live, &with_policy, &first)
        .await;
    assert_eq!(detach.load(Ordering::SeqCst), 0, "refused once");
    assert!(attached(&h.iam, &name).await.is_empty());
    h.delete("iam.role", &role_live, &first).await;
}

/// Right after CreateRole, GetRole may give the role's unique id as its ARN; the create
/// waits until IAM gives the real ARN, so dependents never read the unique id. A proxy
/// rewrites the first GetRole answer so.
#[tokio::test]
async fn a_fresh_role_is_read_with_its_arn_not_its_unique_id() {
    use common::rewriting_proxy;
    use std::sync::atomic::{AtomicU32, Ordering};

    let h = Harness::new().await;
    let name = unique("fresh");
    let rewritten = Arc::new(AtomicU32::new(0));
    let counted = rewritten.clone();
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        let mut answer = forward();
        let first_read = request.form_action() == "GetRole" && counted.load(Ordering::SeqCst) == 0;
        let between = |text: &str, open: &str, close: &str| {
            let start = text.find(open)? + open.len();
            Some(text[start..start + text[start..].find(close)?].to_string())
        };
        if first_read {
            let body = answer.body.clone();
            if let (Some(arn), Some(id)) = (
                between(&body, "<Arn>", "</Arn>"),
                between(&body, "<RoleId>", "</RoleId>"),
            ) {
                answer.body =
                    body.replace(&format!("<Arn>{arn}</Arn>"), &format!("<Arn>{id}</Arn>"));
                counted.fetch_add(1, Ordering::SeqCst);
            }
        }
        answer
    });
    let through = KindDriver::through(&endpoint, BLUEPRINT).await;
    let desired = json!({"name": name, "assume_role_policy": trust("eks.amazonaws.com")});
    let live = through.create("iam.role", "fresh_role", &desired).await;

    assert_eq!(
        rewritten.load(Ordering::SeqCst),
        1,
        "one answer gave the unique id"
    );
    assert_eq!(output(&live, "arn"), role(&h.iam, &name).await.arn());
    assert!(output(&live, "arn").starts_with("arn:"));
    h.delete("iam.role", &live, &desired).await;
}

#[tokio::test]
async fn role_with_a_path_and_permissions_boundary() {
    let h = Harness::new().await;
    let name = unique("bounded");
    let boundary = h
        .iam
        .create_policy()
        .policy_name(unique("boundary"))
        .policy_document(logs_policy("logs:*").to_string())
        .send()
        .await
        .unwrap();
    let boundary_arn = boundary.policy().unwrap().arn().unwrap().to_string();
    let desired = json!({"name": name, "path": "/innovate/", "assume_role_policy": trust("ec2.amazonaws.com"),
        "permissions_boundary": boundary_arn});
    let live = h.create("iam.role", "bounded", &desired).await;
    let described = role(&h.iam, &name).await;
    assert_eq!(described.path(), "/innovate/");
    let attached_boundary = described.permissions_boundary().unwrap();
    assert_eq!(
        attached_boundary.permissions_boundary_arn(),
        Some(boundary_arn.as_str())
    );

    let unbounded = json!({"name": name, "path": "/innovate/", "assume_role_policy": trust("ec2.amazonaws.com")});
    h.update("iam.role", "bounded", &live, &desired, &unbounded)
        .await;
    assert!(role(&h.iam, &name).await.permissions_boundary().is_none());
    h.delete("iam.role", &live, &unbounded).await;
    assert_eq!(h.read("iam.role", &[&name]).await, vec![None]);
}

// ------------------------------------------------ iam.openid_connect_provider

async fn provider(
    iam: &Iam,
    arn: &str,
) -> aws_sdk_iam::operation::get_open_id_connect_provider::GetOpenIdConnectProviderOutput {
    let answer = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await;
    answer.unwrap_or_else(|e| panic!("GetOpenIDConnectProvider {arn}: {e:?}"))
}

fn provider_tags(
    answer: &aws_sdk_iam::operation::get_open_id_connect_provider::GetOpenIdConnectProviderOutput,
) -> BTreeMap<String, String> {
    answer
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

const THUMBPRINT: &str = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";

#[tokio::test]
async fn oidc_provider_is_created_tagged_updated_and_deleted() {
    let h = Harness::new().await;
    let issuer = format!(
        "oidc.eks.us-east-1.amazonaws.com/id/{}",
        unique("cluster").to_uppercase()
    );
    let desired = json!({"url": format!("https://{issuer}"), "tags": {"Cluster": "main"}});
    let live = h
        .create("iam.openid_connect_provider", "oidc", &desired)
        .await;

    assert!(
        live.id.ends_with(&format!(":oidc-provider/{issuer}")),
        "{}",
        live.id
    );
    assert_eq!(output(&live, "arn"), live.id);
    let described = provider(&h.iam, &live.id).await;
    assert_eq!(described.url(), Some(issuer.as_str()));
    assert_eq!(described.client_id_list(), ["sts.amazonaws.com"]);
    assert!(
        described.thumbprint_list().is_empty(),
        "no thumbprint sent: IAM's own"
    );
    assert_eq!(provider_tags(&described), tags("oidc", &desired));
    let gone = live.id.replace("/id/", "/id/GONE");
    assert_eq!(
        h.read("iam.openid_connect_provider", &[&live.id, &gone])
            .await,
        vec![Some(live.clone()), None]
    );
    h.assert_no_drift("iam.openid_connect_provider", &live.id, &desired)
        .await;

    // A create sent again after its answer was lost meets a conflict the engine settles by
    // adoption: the provider is found by its identity tags, and only by its own.
    let kind = h.kind("iam.openid_connect_provider");
    let again = h
        .try_create("iam.openid_connect_provider", "oidc", &desired)
        .await;
    let err = again.expect_err("one provider per URL");
    assert!(err.has_code_in(kind.conflict_codes()), "{err}");
    let listed = kind.list_tagged(&tags("oidc", &json!({}))).await.unwrap();
    assert_eq!(listed, Some(vec![live.clone()]));
    let others = kind.list_tagged(&tags("other", &json!({}))).await.unwrap();
    assert_eq!(others, Some(vec![]));

    let pinned = json!({"url": format!("https://{issuer}"), "thumbprint_list": [THUMBPRINT], "tags": {"Cluster": "blue"}});
    let updated = h
        .update(
            "iam.openid_connect_provider",
            "oidc",
            &live,
            &desired,
            &pinned,
        )
        .await;
    assert_eq!((&updated.id, &updated.outputs), (&live.id, &live.outputs));
    let read = h
        .assert_no_drift("iam.openid_connect_provider", &live.id, &pinned)
        .await;
    assert_eq!(read, updated);
    let described = provider(&h.iam, &live.id).await;
    assert_eq!(described.thumbprint_list(), [THUMBPRINT]);
    assert_eq!(described.client_id_list(), ["sts.amazonaws.com"]);
    assert_eq!(provider_tags(&described), tags("oidc", &pinned));

    h.delete("iam.openid_connect_provider", &live, &pinned)
        .await;
    let err = h
        .iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&live.id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_iam::error::ProvideErrorMetadata::code(&err),
        Some("NoSuchEntity")
    );
    h.delete("iam.openid_connect_provider", &live, &pinned)
        .await;
}

/// Needs AddClientIDToOpenIDConnectProvider and RemoveClientIDFromOpenIDConnectProvider,
/// which moto 5.2.5 does not serve.
#[tokio::test]
async fn oidc_provider_client_ids_change_in_place() {
    let h = Harness::new().await;
    let issuer = format!("https://token.actions.example.com/{}", unique("ci"));
    let desired = json!({"url": issuer, "client_id_list": ["sts.amazonaws.com", "old-client"]});
    let live = h
        .create("iam.openid_connect_provider", "ci", &desired)
        .await;
    assert_eq!(
        provider(&h.iam, &live.id).await.client_id_list(),
        ["sts.amazonaws.com", "old-client"]
    );

    let changed = json!({"url": issuer, "client_id_list": ["sts.amazonaws.com", "new-client"]});
    let updated = h
        .update(
            "iam.openid_connect_provider",
            "ci",
            &live,
            &desired,
            &changed,
        )
        .await;
    assert_eq!(updated.id, live.id, "changed in place, not replaced");
    let mut ids = provider(&h.iam, &live.id).await.client_id_list().to_vec();
    ids.sort();
    assert_eq!(ids, ["new-client", "sts.amazonaws.com"]);
    h.delete("iam.openid_connect_provider", &live, &changed)
        .await;
}

// ----------------------------------------------------------------- rds.*

/// A VPC with two subnets in two AZs, as a DB subnet group needs.
async fn network(h: &Harness, cidr_prefix: &str) -> (String, Vec<String>) {
    let vpc = h
        .ec2
        .create_vpc()
        .cidr_block(format!("{cidr_prefix}.0.0/16"))
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let mut subnets = Vec::new();
    for (i, az) in ["us-east-1a", "us-east-1b", "us-east-1c"]
        .into_iter()
        .enumerate()
    {
        let subnet = h
            .ec2
            .create_subnet()
            .vpc_id(&vpc_id)
            .cidr_block(format!("{cidr_prefix}.{i}.0/24"))
            .availability_zone(az)
            .send()
            .await
            .unwrap();
        subnets.push(subnet.subnet().unwrap().subnet_id().unwrap().to_string());
    }
    (vpc_id, subnets)
}

async fn rds_tags(rds: &Rds, arn: &str) -> BTreeMap<String, String> {
    let listed = rds
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .unwrap();
    listed
        .tag_list()
        .iter()
        .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
        .collect()
}

async fn subnet_group(rds: &Rds, name: &str) -> aws_sdk_rds::types::DbSubnetGroup {
    let described = rds
        .describe_db_subnet_groups()
        .db_subnet_group_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DescribeDBSubnetGroups {name}: {e:?}"));
    described.db_subnet_groups()[0].clone()
}

fn subnet_ids(group: &aws_sdk_rds::types::DbSubnetGroup) -> Vec<String> {
    let mut ids: Vec<String> = group
        .subnets()
        .iter()
        .map(|s| s.subnet_identifier().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test]
async fn db_subnet_group_is_created_tagged_and_deleted() {
    let h = Harness::new().await;
    let (vpc_id, subnets) = network(&h, "10.60").await;
    let name = unique("data-subnets");
    let desired = json!({"name": name, "subnet_ids": subnets[..2], "tags": {"Tier": "data"}});
    let live = h
        .create("rds.db_subnet_group", "db_subnets", &desired)
        .await;

    assert_eq!(live.id, name);
    assert_eq!(output(&live, "vpc_id"), vpc_id);
    let described = subnet_group(&h.rds, &name).await;
    assert_eq!(
        described.db_subnet_group_description(),
        Some("Managed by innovate")
    );
    assert_eq!(subnet_ids(&described), sorted(subnets[..2].to_vec()));
    assert_eq!(described.db_subnet_group_arn(), Some(output(&live, "arn")));
    assert_eq!(
        rds_tags(&h.rds, output(&live, "arn")).await,
        tags("db_subnets", &desired)
    );
    assert_eq!(
        h.read("rds.db_subnet_group", &[&name, "no-such-group"])
            .await,
        vec![Some(live.clone()), None]
    );
    h.assert_no_drift("rds.db_subnet_group", &name, &desired)
        .await;
    assert_eq!(
        h.kind("rds.db_subnet_group")
            .list_tagged(&tags("db_subnets", &json!({})))
            .await
            .unwrap(),
        None,
        "tags would take a call per group"
    );

    // Only the tags change: no ModifyDBSubnetGroup needed.
    let retagged = json!({"name": name, "subnet_ids": subnets[..2], "tags": {"Tier": "db"}});
    let updated = h
        .update(
            "rds.db_subnet_group",
            "db_subnets",
            &live,
            &desired,
            &retagged,
        )
        .await;
    assert_eq!(updated, live);
    assert_eq!(
        rds_tags(&h.rds, output(&live, "arn")).await,
        tags("db_subnets", &retagged)
    );

    h.delete("rds.db_subnet_group", &live, &retagged).await;
    let err = h
        .rds
        .describe_db_subnet_groups()
        .db_subnet_group_name(&name)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_rds::error::ProvideErrorMetadata::code(&err),
        Some("DBSubnetGroupNotFoundFault")
    );
    h.delete("rds.db_subnet_group", &live, &retagged).await;
}

/// Needs a ModifyDBSubnetGroup that keeps the group: moto 5.2.5 drops it from its registry.
#[tokio::test]
async fn db_subnet_group_description_and_subnets_change_in_place() {
    let h = Harness::new().await;
    let (_, subnets) = network(&h, "10.61").await;
    let name = unique("moving-subnets");
    let desired = json!({"name": name, "subnet_ids": subnets[..2]});
    let live = h.create("rds.db_subnet_group", "moving", &desired).await;

    let changed = json!({"name": name, "description": "three AZs", "subnet_ids": subnets.clone()});
    let updated = h
        .update("rds.db_subnet_group", "moving", &live, &desired, &changed)
        .await;
    assert_eq!(updated.id, live.id);
    let described = subnet_group(&h.rds, &name).await;
    assert_eq!(described.db_subnet_group_description(), Some("three AZs"));
    assert_eq!(subnet_ids(&described), sorted(subnets.clone()));
    h.delete("rds.db_subnet_group", &live, &changed).await;
}

async fn user_parameters(rds: &Rds, group: &str) -> BTreeMap<String, String> {
    let described = rds
        .describe_db_parameters()
        .db_parameter_group_name(group)
        .source("user")
        .send()
        .await
        .unwrap();
    described
        .parameters()
        .iter()
        .map(|p| {
            (
                p.parameter_name().unwrap().to_string(),
                p.parameter_value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn db_parameter_group_is_created_with_parameters_changed_and_deleted() {
    let h = Harness::new().await;
    let name = unique("postgres16-ssl");
    let desired = json!({"name": name, "family": "postgres16",
        "parameters": {"rds.force_ssl": "1", "log_min_duration_statement": "500"},
        "tags": {"Engine": "postgres"}});
    let live = h.create("rds.db_parameter_group", "pg", &desired).await;

    assert_eq!(live.id, name);
    let described = h
        .rds
        .describe_db_parameter_groups()
        .db_parameter_group_name(&name)
        .send()
        .await
        .unwrap();
    let group = &described.db_parameter_groups()[0];
    assert_eq!(group.db_parameter_group_family(), Some("postgres16"));
    assert_eq!(group.description(), Some("Managed by innovate"));
    assert_eq!(group.db_parameter_group_arn(), Some(output(&live, "arn")));
    assert_eq!(
        user_parameters(&h.rds, &name).await,
        params(&[
            ("log_min_duration_statement", "500"),
            ("rds.force_ssl", "1")
        ])
    );
    assert_eq!(
        rds_tags(&h.rds, output(&live, "arn")).await,
        tags("pg", &desired)
    );
    assert_eq!(
        h.read("rds.db_parameter_group", &["no-such-group", &name])
            .await,
        vec![None, Some(live.clone())]
    );
    h.assert_no_drift("rds.db_parameter_group", &name, &desired)
        .await;

    let changed = json!({"name": name, "family": "postgres16",
        "parameters": {"rds.force_ssl": "1", "log_min_duration_statement": "1000", "work_mem": "8192"}});
    let updated = h
        .update("rds.db_parameter_group", "pg", &live, &desired, &changed)
        .await;
    assert_eq!(updated, live);
    assert_eq!(
        user_parameters(&h.rds, &name).await,
        params(&[
            ("log_min_duration_statement", "1000"),
            ("rds.force_ssl", "1"),
            ("work_mem", "8192")
        ])
    );
    assert_eq!(
        rds_tags(&h.rds, output(&live, "arn")).await,
        tags("pg", &changed)
    );

    h.delete("rds.db_parameter_group", &live, &changed).await;
    assert_eq!(h.read("rds.db_parameter_group", &[&name]).await, vec![None]);
    h.delete("rds.db_parameter_group", &live, &changed).await;
}

/// Needs ResetDBParameterGroup, which moto 5.2.5 does not serve.
#[tokio::test]
async fn db_parameter_group_dropped_parameter_is_reset() {
    let h = Harness::new().await;
    let name = unique("postgres16-reset");
    let desired = json!({"name": name, "family": "postgres16",
        "parameters": {"rds.force_ssl": "1", "work_mem": "8192"}});
    let live = h
        .create("rds.db_parameter_group", "pg_reset", &desired)
        .await;

    let fewer = json!({"name": name, "family": "postgres16", "parameters": {"rds.force_ssl": "1"}});
    h.update(
        "rds.db_parameter_group",
        "pg_reset",
        &live,
        &desired,
        &fewer,
    )
    .await;
    assert_eq!(
        user_parameters(&h.rds, &name).await,
        params(&[("rds.force_ssl", "1")])
    );
    h.delete("rds.db_parameter_group", &live, &fewer).await;
}

async fn instance(rds: &Rds, id: &str) -> Option<aws_sdk_rds::types::DbInstance> {
    let answer = rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await;
    match answer {
        Ok(found) => found.db_instances().first().cloned(),
        Err(err) => {
            let code = aws_sdk_rds::error::ProvideErrorMetadata::code(&err);
            assert_eq!(code, Some("DBInstanceNotFound"), "{err:?}");
            None
        }
    }
}

async fn snapshots_of(rds: &Rds, id: &str) -> Vec<String> {
    let described = rds
        .describe_db_snapshots()
        .db_instance_identifier(id)
        .snapshot_type("manual")
        .send()
        .await
        .unwrap();
    described
        .db_snapshots()
        .iter()
        .map(|s| s.db_snapshot_identifier().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn db_instance_with_managed_password_is_protected_updated_and_snapshotted_on_delete() {
    let h = Harness::new().await;
    let (_, subnets) = network(&h, "10.62").await;
    let subnets_spec = json!({"name": unique("db-subnets"), "subnet_ids": subnets});
    let group = h
        .create("rds.db_subnet_group", "db_subnets", &subnets_spec)
        .await;
    let params_spec = json!({"name": unique("db-params"), "family": "postgres16",
        "parameters": {"rds.force_ssl": "1"}});
    let parameters = h
        .create("rds.db_parameter_group", "db_params", &params_spec)
        .await;

    let id = unique("innovate-db");
    let desired = json!({
        "identifier": id, "engine": "postgres", "engine_version": "16.3",
        "instance_class": "db.t4g.medium", "allocated_storage": 20,
        "multi_az": true, "storage_encrypted": true, "backup_retention_period": 30,
        "deletion_protection": true, "db_subnet_group_name": group.id,
        "db_parameter_group_name": parameters.id, "db_name": "innovate",
        "tags": {"Tier": "data"},
    });
    let live = h.create("rds.db_instance", "db", &desired).await;

    assert_eq!(live.id, id);
    let described = instance(&h.rds, &id).await.expect("the instance exists");
    assert_eq!(described.db_instance_status(), Some("available"));
    assert_eq!(described.engine(), Some("postgres"));
    assert_eq!(described.multi_az(), Some(true));
    assert_eq!(described.storage_encrypted(), Some(true));
    assert_eq!(described.storage_type(), Some("gp3"));
    assert_eq!(described.backup_retention_period(), Some(30));
    assert_eq!(described.deletion_protection(), Some(true));
    assert_eq!(described.master_username(), Some("postgres"));
    assert_eq!(
        described
            .db_subnet_group()
            .and_then(|g| g.db_subnet_group_name()),
        Some(group.id.as_str())
    );
    assert_eq!(
        described.db_parameter_groups()[0].db_parameter_group_name(),
        Some(parameters.id.as_str())
    );
    let secret = described
        .master_user_secret()
        .and_then(|s| s.secret_arn())
        .expect("RDS manages the master password");
    assert!(secret.starts_with("arn:aws:secretsmanager:"), "{secret}");
    assert_eq!(output(&live, "master_user_secret_arn"), secret);
    assert_eq!(described.db_instance_arn(), Some(output(&live, "arn")));
    assert_eq!(
        described.endpoint().and_then(|e| e.address()),
        Some(output(&live, "endpoint"))
    );
    assert_eq!(live.outputs["port"], json!(5432));
    assert_eq!(
        described.dbi_resource_id(),
        Some(output(&live, "resource_id"))
    );
    let outputs_json = Value::Object(live.outputs.clone()).to_string();
    assert!(
        !outputs_json.to_lowercase().contains("password"),
        "{outputs_json}"
    );
    assert_eq!(
        rds_tags(&h.rds, output(&live, "arn")).await,
        tags("db", &desired)
    );
    assert_eq!(
        h.read("rds.db_instance", &[&id, "no-such-db"]).await,
        vec![Some(live.clone()), None]
    );
    h.assert_no_drift("rds.db_instance", &id, &desired).await;

    // Instances are listed by tag: exactly this one for its address, none elsewhere.
    let listed = h
        .kind("rds.db_instance")
        .list_tagged(&tags("db", &json!({})))
        .await
        .unwrap()
        .expect("DescribeDBInstances reports tags");
    assert_eq!(listed, vec![live.clone()]);
    let elsewhere = h
        .kind("rds.db_instance")
        .list_tagged(&tags("no-such-address", &json!({})))
        .await
        .unwrap();
    assert_eq!(elsewhere, Some(vec![]));

    // Backup retention changed outside innovate: drift with AWS's value.
    h.rds
        .modify_db_instance()
        .db_instance_identifier(&id)
        .backup_retention_period(21)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    let read = h.read_one("rds.db_instance", &id).await;
    assert_eq!(
        h.drift("rds.db_instance", &read, &desired),
        vec!["backup_retention_period"]
    );
    assert_eq!(read.attrs.unwrap()["backup_retention_period"], json!(21));

    // Backup retention changes in place: same instance, new value.
    let mut longer = desired.clone();
    longer["backup_retention_period"] = json!(14);
    let updated = h
        .update("rds.db_instance", "db", &live, &desired, &longer)
        .await;
    assert_eq!(updated.id, live.id);
    let described = instance(&h.rds, &id).await.unwrap();
    assert_eq!(described.backup_retention_period(), Some(14));
    assert_eq!(described.multi_az(), Some(true), "untouched");
    h.assert_no_drift("rds.db_instance", &id, &longer).await;

    // A new subnet group moves the instance in place (ModifyDBInstance), no replace.
    assert!(
        !h.kind("rds.db_instance")
            .schema()
            .attr("db_subnet_group_name")
            .unwrap()
            .force_new
    );
    let other_spec = json!({"name": unique("db-subnets-b"), "subnet_ids": subnets});
    let other = h
        .create("rds.db_subnet_group", "db_subnets_b", &other_spec)
        .await;
    let mut moved = longer.clone();
    moved["db_subnet_group_name"] = json!(other.id);
    let updated = h
        .update("rds.db_instance", "db", &live, &longer, &moved)
        .await;
    assert_eq!(updated.id, live.id);
    let described = instance(&h.rds, &id).await.unwrap();
    let group_now = described
        .db_subnet_group()
        .and_then(|g| g.db_subnet_group_name());
    assert_eq!(group_now, Some(other.id.as_str()));
    let longer = moved;

    // Protected: delete refuses with what to do, and the instance stays.
    let refused = h.try_delete("rds.db_instance", &live, &longer).await;
    let err = refused.expect_err("deletion protection must refuse the delete");
    assert!(
        err.to_string().contains("deletion_protection: false"),
        "{err}"
    );
    assert!(instance(&h.rds, &id).await.is_some());

    let mut unprotected = longer.clone();
    unprotected["deletion_protection"] = json!(false);
    h.update("rds.db_instance", "db", &live, &longer, &unprotected)
        .await;
    let described = instance(&h.rds, &id).await.unwrap();
    assert_eq!(described.deletion_protection(), Some(false));

    h.delete("rds.db_instance", &live, &unprotected).await;
    assert!(instance(&h.rds, &id).await.is_none());
    let snapshots = snapshots_of(&h.rds, &id).await;
    assert_eq!(snapshots.len(), 1, "{snapshots:?}");
    assert!(
        snapshots[0].starts_with(&format!("{id}-final-")),
        "{snapshots:?}"
    );
    h.delete("rds.db_instance", &live, &unprotected).await;

    h.delete("rds.db_parameter_group", &parameters, &params_spec)
        .await;
    h.delete("rds.db_subnet_group", &group, &subnets_spec).await;
}

#[tokio::test]
async fn db_instance_deleted_with_skip_final_snapshot_and_its_replica_leave_no_snapshot() {
    let h = Harness::new().await;
    let id = unique("scratch-db");
    let desired = json!({"identifier": id, "engine": "postgres", "instance_class": "db.t4g.micro",
        "allocated_storage": 20, "skip_final_snapshot": true, "final_snapshot_identifier": "unused"});
    let live = h.create("rds.db_instance", "scratch", &desired).await;
    let described = instance(&h.rds, &id).await.unwrap();
    assert_eq!(described.backup_retention_period(), Some(7), "default");
    assert_eq!(described.copy_tags_to_snapshot(), Some(true), "default");
    h.assert_no_drift("rds.db_instance", &id, &desired).await;

    let replica_id = unique("scratch-replica");
    let replica_spec = json!({"identifier": replica_id, "engine": "postgres",
        "instance_class": "db.t4g.micro", "replicate_source_db": id});
    let replica = h.create("rds.db_instance", "replica", &replica_spec).await;
    let described = instance(&h.rds, &replica_id).await.unwrap();
    assert_eq!(
        described.read_replica_source_db_instance_identifier(),
        Some(id.as_str())
    );
    assert_eq!(
        rds_tags(&h.rds, output(&replica, "arn")).await,
        tags("replica", &replica_spec)
    );
    // A replica's backups and password are its source's: no drift from the defaults.
    h.assert_no_drift("rds.db_instance", &replica_id, &replica_spec)
        .await;

    // No final snapshot of a replica, even without skip_final_snapshot.
    h.delete("rds.db_instance", &replica, &replica_spec).await;
    assert!(instance(&h.rds, &replica_id).await.is_none());
    assert!(snapshots_of(&h.rds, &replica_id).await.is_empty());

    h.delete("rds.db_instance", &live, &desired).await;
    assert!(instance(&h.rds, &id).await.is_none());
    assert!(snapshots_of(&h.rds, &id).await.is_empty());
}

// ------------------------------------- waiting and retrying while an instance is busy

/// Sits between the SDK and the emulator and makes RDS as slow as AWS: the first `pending`
/// DescribeDBInstances answers report the instance `creating`, and the first `busy`
/// ModifyDBInstance calls are refused with InvalidDBInstanceState.
mod slow_rds {
    use crate::common::rewriting_proxy::{self, take, Response};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    #[derive(Default)]
    pub struct Counters {
        pub pending: AtomicU32,
        pub busy: AtomicU32,
        pub describes: AtomicU32,
        pub modifies: AtomicU32,
    }

    /// Starts the proxy in front of `upstream` and answers its endpoint.
    pub fn start(upstream: &str, counters: Arc<Counters>) -> String {
        rewriting_proxy::start(upstream, move |request, forward| {
            let action = request.form_action();
            match action.as_str() {
                "DescribeDBInstances" => counters.describes.fetch_add(1, Ordering::SeqCst),
                "ModifyDBInstance" => counters.modifies.fetch_add(1, Ordering::SeqCst),
                _ => 0,
            };
            if action == "ModifyDBInstance" && take(&counters.busy) {
                return busy();
            }
            let mut answer = forward();
            if action == "DescribeDBInstances" && take(&counters.pending) {
                answer.body = answer.body.replace(
                    "<DBInstanceStatus>available</DBInstanceStatus>",
                    "<DBInstanceStatus>creating</DBInstanceStatus>",
                );
            }
            answer
        })
    }

    /// What RDS answers while an instance is creating, modifying or backing up.
    fn busy() -> Response {
        let body = "<ErrorResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><Error>\
            <Type>Sender</Type><Code>InvalidDBInstanceState</Code>\
            <Message>Instance is not in available state.</Message></Error>\
            <RequestId>slow-rds</RequestId></ErrorResponse>";
        Response::client_error("text/xml", body)
    }
}

#[tokio::test]
async fn db_instance_waits_while_creating_and_retries_a_modify_refused_while_busy() {
    use std::sync::atomic::Ordering;
    use std::sync::Mutex;

    let direct = sdk_config().await;
    let counters = Arc::new(slow_rds::Counters::default());
    counters.pending.store(1, Ordering::SeqCst);
    counters.busy.store(1, Ordering::SeqCst);
    let proxy = slow_rds::start(common::emulator::endpoint(), counters.clone());
    let slow = direct.to_builder().endpoint_url(proxy).build();
    let kinds = registry(AwsContext::with_config(slow));
    let kind = kinds.get("rds.db_instance").unwrap().clone();
    let rds = Rds::new(&direct);
    let phases = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = phases.clone();
    let cx = StepCx::new(
        "slow_db".into(),
        Arc::new(move |_, phase| sink.lock().unwrap().push(phase.into())),
    );

    let id = unique("slow-db");
    let desired = json!({"identifier": id, "engine": "postgres", "instance_class": "db.t4g.micro",
        "allocated_storage": 20, "skip_final_snapshot": true});
    let live = kind
        .create(&cx, &attrs(&desired), &tags("slow_db", &desired))
        .await
        .unwrap();
    assert_eq!(live.id, id);
    assert_eq!(
        counters.describes.load(Ordering::SeqCst),
        3,
        "polled once more after `creating`, then read once for what create reports"
    );
    let phases_seen = phases.lock().unwrap().clone();
    assert_eq!(phases_seen.len(), 1, "{phases_seen:?}");
    assert!(
        phases_seen[0].starts_with("waiting for available "),
        "{phases_seen:?}"
    );

    let mut changed = desired.clone();
    changed["backup_retention_period"] = json!(1);
    let updated = kind
        .update(
            &cx,
            &live,
            &attrs(&desired),
            &attrs(&changed),
            &tags("slow_db", &changed),
        )
        .await
        .unwrap();
    assert_eq!(updated.id, id);
    assert_eq!(
        counters.modifies.load(Ordering::SeqCst),
        2,
        "refused once, then sent again"
    );
    let described = instance(&rds, &id).await.unwrap();
    assert_eq!(described.backup_retention_period(), Some(1));

    // Adopted while still `creating` (its create's answer was lost): the update that adopts
    // it waits until it is available, so what gets recorded is complete.
    counters.pending.store(2, Ordering::SeqCst);
    phases.lock().unwrap().clear();
    let adopted = kind
        .update(
            &cx,
            &live,
            &attrs(&changed),
            &attrs(&changed),
            &tags("slow_db", &changed),
        )
        .await
        .unwrap();
    assert_eq!(adopted.id, id);
    assert_eq!(
        counters.pending.load(Ordering::SeqCst),
        0,
        "looked until both `creating` answers were seen"
    );
    let phases_seen = phases.lock().unwrap().clone();
    assert!(
        phases_seen
            .iter()
            .any(|p| p.starts_with("waiting for available ")),
        "{phases_seen:?}"
    );

    kind.delete(&cx, &live, &attrs(&changed)).await.unwrap();
    assert!(instance(&rds, &id).await.is_none());
}
