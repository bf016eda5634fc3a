//! The CloudWatch Logs log group and the EC2 flow log against the emulator, through the
//! real SDK: every create, update and delete is checked with the SDK directly. What moto
//! does not do as AWS does (a change refused while another runs, a role not assumable yet,
//! AssociateKmsKey, a key the service cannot use) is answered by a scripted proxy with
//! AWS's own codes and messages. Names carry the process id: tests share one emulator.

mod common;

use aws_sdk_cloudwatchlogs::Client as Logs;
use aws_sdk_ec2::Client as Ec2;
use common::emulator::sdk_config;
use common::kinds::{attrs, output, tags_for, KindDriver};
use common::rewriting_proxy::{self, take, Request, Response};
use innovate::kinds::{find_made_by, identity_tags, ResourceKind, Tags, CREATED_TAG, LINEAGE_TAG};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

const BLUEPRINT: &str = "logs-kinds";

/// The SDK clients innovate's work is checked with.
struct Sdk {
    logs: Logs,
    ec2: Ec2,
}

/// The kinds, and the SDK clients to check them with.
async fn harness() -> (KindDriver, Sdk) {
    let config = sdk_config().await;
    let sdk = Sdk {
        logs: Logs::new(&config),
        ec2: Ec2::new(&config),
    };
    (KindDriver::new(config, BLUEPRINT), sdk)
}

impl Sdk {
    /// The group `name` as DescribeLogGroups reports it.
    async fn group(&self, name: &str) -> Option<aws_sdk_cloudwatchlogs::types::LogGroup> {
        let listed = self.logs.describe_log_groups().log_group_name_prefix(name);
        let listed = listed.send().await.unwrap();
        let found = listed
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name));
        found.cloned()
    }

    async fn group_tags(&self, arn: &str) -> Value {
        let listed = self
            .logs
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await;
        json!(listed.unwrap().tags().cloned().unwrap_or_default())
    }

    async fn vpc(&self, cidr: &str) -> String {
        let created = self.ec2.create_vpc().cidr_block(cidr).send().await.unwrap();
        created.vpc().unwrap().vpc_id().unwrap().to_string()
    }

    async fn flow_logs_of(&self, vpc: &str) -> Vec<aws_sdk_ec2::types::FlowLog> {
        let by_vpc = aws_sdk_ec2::types::Filter::builder()
            .name("resource-id")
            .values(vpc);
        let request = self.ec2.describe_flow_logs().filter(by_vpc.build());
        request.send().await.unwrap().flow_logs().to_vec()
    }
}

/// `word` made unique to this run, as a log group name.
fn group_name(word: &str) -> String {
    format!("/innovate/{word}-{}", std::process::id())
}

/// A refusal in the JSON protocol (CloudWatch Logs), as AWS sends it.
fn json_refusal(code: &str, message: &str) -> Response {
    let body = json!({"__type": code, "message": message}).to_string();
    Response::client_error("application/x-amz-json-1.1", &body)
}

/// A proxy refusing the first `times` calls of JSON operation `op` with `code`, and the
/// count of refusals still due.
fn refusing(
    op: &'static str,
    times: u32,
    code: &'static str,
    message: &'static str,
) -> (String, Arc<AtomicU32>) {
    let due = Arc::new(AtomicU32::new(times));
    let left = due.clone();
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        if request.json_target() == op && take(&left) {
            return json_refusal(code, message);
        }
        forward()
    });
    (endpoint, due)
}

#[tokio::test]
async fn a_log_group_changes_in_place_drifts_and_is_deleted() {
    let (h, aws) = harness().await;
    let name = group_name("in-place");
    let spec = json!({"name": name, "retention_in_days": 30, "tags": {"Team": "platform"}});
    let group = h.create("logs.log_group", "in_place", &spec).await;
    assert_eq!(group.id, name);
    let arn = output(&group, "arn");
    assert!(arn.ends_with(&format!(":log-group:{name}")), "{arn}");
    assert_eq!(
        aws.group(&name).await.unwrap().retention_in_days(),
        Some(30)
    );
    assert_eq!(aws.group_tags(arn).await["Team"], "platform");
    h.assert_no_drift("logs.log_group", &name, &spec).await;

    let changed = json!({"name": name, "retention_in_days": 365, "tags": {"Team": "security"}});
    let updated = h
        .update("logs.log_group", "in_place", &group, &spec, &changed)
        .await;
    assert_eq!(updated.id, name, "changed in place");
    assert_eq!(
        aws.group(&name).await.unwrap().retention_in_days(),
        Some(365)
    );
    assert_eq!(aws.group_tags(arn).await["Team"], "security");
    h.assert_no_drift("logs.log_group", &name, &changed).await;

    // Behind innovate's back: a shorter retention is drift, and the update puts it back.
    let request = aws
        .logs
        .put_retention_policy()
        .log_group_name(&name)
        .retention_in_days(1);
    request.send().await.unwrap();
    let live = h.read_one("logs.log_group", &name).await;
    assert_eq!(
        h.drift("logs.log_group", &live, &changed),
        ["retention_in_days"]
    );
    h.update("logs.log_group", "in_place", &group, &changed, &changed)
        .await;
    h.assert_no_drift("logs.log_group", &name, &changed).await;

    // No retention: the events never expire (DeleteRetentionPolicy).
    let forever = json!({"name": name, "tags": {"Team": "security"}});
    h.update("logs.log_group", "in_place", &group, &changed, &forever)
        .await;
    assert_eq!(aws.group(&name).await.unwrap().retention_in_days(), None);

    h.delete("logs.log_group", &updated, &forever).await;
    assert!(aws.group(&name).await.is_none());
    assert_eq!(h.read("logs.log_group", &[&name]).await, vec![None]);
    h.try_delete("logs.log_group", &updated, &forever)
        .await
        .unwrap();
}

/// The name forces a new group; retention and the key do not.
#[tokio::test]
async fn a_new_name_replaces_the_group() {
    let (h, aws) = harness().await;
    let schema = h.kind("logs.log_group").schema();
    assert!(schema.attr("name").unwrap().force_new);
    assert!(!schema.attr("retention_in_days").unwrap().force_new);
    assert!(!schema.attr("kms_key_id").unwrap().force_new);
    let old_spec = json!({"name": group_name("replaced-old")});
    let old = h.create("logs.log_group", "replaced", &old_spec).await;
    let new_spec = json!({"name": group_name("replaced-new")});
    let new = h.create("logs.log_group", "replaced", &new_spec).await;
    h.delete("logs.log_group", &old, &old_spec).await;
    assert_ne!(new.id, old.id);
    assert!(aws.group(&old.id).await.is_none());
    h.assert_no_drift("logs.log_group", &new.id, &new_spec)
        .await;
    h.delete("logs.log_group", &new, &new_spec).await;
}

/// A group made outside innovate reads with what AWS reports, as `import` records it.
#[tokio::test]
async fn a_log_group_made_elsewhere_is_imported_as_aws_reports_it() {
    let (h, aws) = harness().await;
    let name = group_name("imported");
    aws.logs
        .create_log_group()
        .log_group_name(&name)
        .send()
        .await
        .unwrap();
    let request = aws
        .logs
        .put_retention_policy()
        .log_group_name(&name)
        .retention_in_days(14);
    request.send().await.unwrap();
    let spec = json!({"name": name, "retention_in_days": 14});
    let live = h.assert_no_drift("logs.log_group", &name, &spec).await;
    assert_eq!(live.attrs.as_ref().unwrap()["kms_key_id"], Value::Null);
    h.delete("logs.log_group", &live, &spec).await;
}

/// Many names are read from one DescribeLogGroups listing under their common prefix, in
/// the order asked, a gone one as `None`; names sharing no prefix from one listing each.
#[tokio::test]
async fn log_groups_are_read_in_one_listing() {
    let (h, _) = harness().await;
    let (a, b) = (group_name("listed/a"), group_name("listed/b"));
    let first = h
        .create("logs.log_group", "listed_a", &json!({"name": a}))
        .await;
    let second = h
        .create("logs.log_group", "listed_b", &json!({"name": b}))
        .await;
    let calls = Arc::new(AtomicU32::new(0));
    let seen = calls.clone();
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        if request.json_target() == "DescribeLogGroups" {
            seen.fetch_add(1, Ordering::SeqCst);
        }
        forward()
    });
    let missing = group_name("listed/gone");
    let driver = KindDriver::through(&endpoint, BLUEPRINT).await;
    let read = driver.read("logs.log_group", &[&b, &missing, &a]).await;
    let ids: Vec<Option<&str>> = read
        .iter()
        .map(|l| l.as_ref().map(|l| l.id.as_str()))
        .collect();
    assert_eq!(ids, [Some(b.as_str()), None, Some(a.as_str())]);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one listing for three names"
    );
    // Names sharing no prefix: one listing each, not the whole account's groups.
    let bare = format!("innovate-bare-{}", std::process::id());
    let third = h
        .create("logs.log_group", "listed_c", &json!({"name": bare}))
        .await;
    let read = driver.read("logs.log_group", &[&a, &bare]).await;
    assert!(read.iter().all(Option::is_some), "{read:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 3, "one more listing per name");
    h.delete("logs.log_group", &third, &json!({"name": bare}))
        .await;
    h.delete("logs.log_group", &first, &json!({"name": a}))
        .await;
    h.delete("logs.log_group", &second, &json!({"name": b}))
        .await;
}

/// DeleteLogGroup answers OperationAbortedException while another change to the group is
/// in progress; innovate sends it again, as terraform-provider-aws does.
#[tokio::test]
async fn a_delete_aborted_by_a_conflicting_operation_is_sent_again() {
    let (h, aws) = harness().await;
    let spec = json!({"name": group_name("aborted")});
    let group = h.create("logs.log_group", "aborted", &spec).await;
    let conflict = "A conflicting operation is currently in progress against this resource. \
                    Please try again.";
    let (endpoint, due) = refusing("DeleteLogGroup", 2, "OperationAbortedException", conflict);
    KindDriver::through(&endpoint, BLUEPRINT)
        .await
        .delete("logs.log_group", &group, &spec)
        .await;
    assert_eq!(
        due.load(Ordering::SeqCst),
        0,
        "refused twice, then sent again"
    );
    assert!(aws.group(&group.id).await.is_none());
}

/// A key whose policy does not let CloudWatch Logs use it: AWS refuses CreateLogGroup, and
/// the error names the key and what its policy needs. The key then changes in place with
/// AssociateKmsKey (which moto lacks: the proxy answers it as AWS does, and records it).
#[tokio::test]
async fn the_kms_key_is_named_when_refused_and_associated_in_place() {
    let (h, _) = harness().await;
    let key = common::emulator::kms_key_arn("1234abcd-12ab-34cd-56ef-1234567890ab");
    let name = group_name("keyed");
    let refused = "The specified KMS key does not exist or is not allowed to be used with \
                   Arn 'arn:aws:logs:us-east-1:000000000000:log-group:x'";
    let (endpoint, _) = refusing("CreateLogGroup", 1, "AccessDeniedException", refused);
    let spec = json!({"name": name, "kms_key_id": key});
    let err = KindDriver::through(&endpoint, BLUEPRINT)
        .await
        .try_create("logs.log_group", "keyed", &spec)
        .await
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("AccessDeniedException"));
    assert!(
        err.message.contains(&key) && err.message.contains("logs.REGION.amazonaws.com"),
        "{err}"
    );

    let plain = json!({"name": name});
    let group = h.create("logs.log_group", "keyed", &plain).await;
    let associated = Arc::new(Mutex::new(Vec::new()));
    let sent = associated.clone();
    let endpoint = rewriting_proxy::start(
        common::emulator::endpoint(),
        move |request: &Request, forward| {
            if request.json_target() != "AssociateKmsKey" {
                return forward();
            }
            sent.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&request.body).to_string());
            Response {
                status: "HTTP/1.1 200 OK".into(),
                content_type: "application/x-amz-json-1.1".into(),
                error_type: None,
                body: "{}".into(),
            }
        },
    );
    let driver = KindDriver::through(&endpoint, BLUEPRINT).await;
    driver
        .update("logs.log_group", "keyed", &group, &plain, &spec)
        .await;
    let bodies = associated.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1, "one AssociateKmsKey: {bodies:?}");
    let body: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(body, json!({"logGroupName": name, "kmsKeyId": key}));
    h.delete("logs.log_group", &group, &plain).await;
}

/// A CreateLogGroup whose answer was lost left the group: the retry meets
/// ResourceAlreadyExistsException, a conflict code of the kind, and the group is found by
/// its name and adopted only when it carries this create's owner tags.
#[tokio::test]
async fn a_lost_create_answer_is_adopted_only_when_the_group_is_ours() {
    let (h, aws) = harness().await;
    let name = group_name("lost");
    let spec = json!({"name": name});
    let tags = owned_tags("lost", &spec);
    let request = aws.logs.create_log_group().log_group_name(&name);
    let request = request.set_tags(Some(tags.clone().into_iter().collect()));
    request.send().await.unwrap();

    let kind = h.kind("logs.log_group");
    let err = kind.create(&h.cx("lost"), &attrs(&spec), &tags).await;
    let err = err.unwrap_err();
    assert!(err.has_code_in(kind.conflict_codes()), "{err}");
    let expected = kind.natural_id(&attrs(&spec));
    let found = adoptable(kind.as_ref(), &tags, expected.as_deref()).await;
    assert_eq!(found, [name.as_str()]);
    let live = h.read_one("logs.log_group", &name).await;
    h.delete("logs.log_group", &live, &spec).await;
}

/// The tags of a create at `address`: the blueprint's, innovate's identity, and the owner
/// tags (this state's lineage, the create's stamp).
fn owned_tags(address: &str, spec: &Value) -> Tags {
    let mut tags = tags_for(BLUEPRINT, address, spec);
    tags.insert(LINEAGE_TAG.into(), "lineage-1".into());
    tags.insert(CREATED_TAG.into(), "2026-12-04T18:00:00.000Z".into());
    tags
}

/// The ids the engine adopts after a conflict: what carries this create's owner tags,
/// found by tag or by the `expected` id. Another state's lineage finds nothing.
async fn adoptable(kind: &dyn ResourceKind, tags: &Tags, expected: Option<&str>) -> Vec<String> {
    let identity = identity_tags(tags);
    let found = find_made_by(kind, &identity, expected).await.unwrap();
    let mut other = identity.clone();
    other.insert(LINEAGE_TAG.into(), "another-state".into());
    let theirs = find_made_by(kind, &other, expected).await.unwrap();
    assert!(
        theirs.is_empty(),
        "another state's is never adopted: {theirs:?}"
    );
    found.into_iter().map(|live| live.id).collect()
}

/// What a flow log to CloudWatch Logs needs: a VPC, a log group, the role AWS assumes.
async fn flow_log_spec(aws: &Sdk, word: &str, cidr: &str) -> Value {
    let group = group_name(&format!("flows/{word}"));
    aws.logs
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    let role = format!(
        "arn:aws:iam::{}:role/flow-logs",
        common::emulator::account_id()
    );
    json!({"resource_id": aws.vpc(cidr).await, "log_group_name": group,
        "deliver_logs_permission_arn": role})
}

#[tokio::test]
async fn a_flow_log_is_created_retagged_in_place_and_deleted() {
    let (h, aws) = harness().await;
    let mut spec = flow_log_spec(&aws, "flow", "10.40.0.0/16").await;
    spec["tags"] = json!({"Team": "platform"});
    let flow = h.create("ec2.flow_log", "flow", &spec).await;
    let vpc = spec["resource_id"].as_str().unwrap();
    let described = aws.flow_logs_of(vpc).await;
    assert_eq!(described.len(), 1);
    assert_eq!(described[0].flow_log_id(), Some(flow.id.as_str()));
    assert_eq!(described[0].traffic_type().unwrap().as_str(), "ALL");
    assert_eq!(described[0].max_aggregation_interval(), Some(600));
    h.assert_no_drift("ec2.flow_log", &flow.id, &spec).await;

    let schema = h.kind("ec2.flow_log").schema();
    let replacing: Vec<&str> = schema
        .attrs
        .iter()
        .filter(|a| a.force_new)
        .map(|a| a.name)
        .collect();
    assert_eq!(
        replacing.len(),
        schema.attrs.len() - 1,
        "all but tags: {replacing:?}"
    );

    let mut retagged = spec.clone();
    retagged["tags"] = json!({"Team": "security"});
    let updated = h
        .update("ec2.flow_log", "flow", &flow, &spec, &retagged)
        .await;
    assert_eq!(updated.id, flow.id);
    let team = |f: &aws_sdk_ec2::types::FlowLog| {
        let tag = f.tags().iter().find(|t| t.key() == Some("Team"));
        tag.and_then(|t| t.value()).map(str::to_string)
    };
    assert_eq!(
        team(&aws.flow_logs_of(vpc).await[0]).as_deref(),
        Some("security")
    );

    // Behind innovate's back: a tag changed is drift.
    let tag = aws_sdk_ec2::types::Tag::builder()
        .key("Team")
        .value("ops")
        .build();
    aws.ec2
        .create_tags()
        .resources(&flow.id)
        .tags(tag)
        .send()
        .await
        .unwrap();
    let live = h.read_one("ec2.flow_log", &flow.id).await;
    assert_eq!(h.drift("ec2.flow_log", &live, &retagged), ["tags"]);

    h.delete("ec2.flow_log", &updated, &retagged).await;
    assert!(aws.flow_logs_of(vpc).await.is_empty());
    assert_eq!(h.read("ec2.flow_log", &[&flow.id]).await, vec![None]);
    // Gone already: DeleteFlowLogs' InvalidFlowLogId.NotFound counts as deleted.
    h.try_delete("ec2.flow_log", &updated, &retagged)
        .await
        .unwrap();
}

/// A new traffic type is a new flow log (AWS modifies none); flow logs made elsewhere read
/// as AWS reports them, as `import` records them, several in one call.
#[tokio::test]
async fn a_flow_log_is_replaced_for_a_new_traffic_type_and_imported() {
    let (h, aws) = harness().await;
    let spec = flow_log_spec(&aws, "replaced", "10.41.0.0/16").await;
    let old = h.create("ec2.flow_log", "replaced", &spec).await;
    let mut rejected = spec.clone();
    rejected["traffic_type"] = json!("REJECT");
    h.delete("ec2.flow_log", &old, &spec).await;
    let new = h.create("ec2.flow_log", "replaced", &rejected).await;
    assert_ne!(new.id, old.id);
    h.assert_no_drift("ec2.flow_log", &new.id, &rejected).await;

    let elsewhere = flow_log_spec(&aws, "imported", "10.42.0.0/16").await;
    let made = aws
        .ec2
        .create_flow_logs()
        .resource_type(aws_sdk_ec2::types::FlowLogsResourceType::Vpc)
        .resource_ids(elsewhere["resource_id"].as_str().unwrap())
        .traffic_type(aws_sdk_ec2::types::TrafficType::All)
        .log_group_name(elsewhere["log_group_name"].as_str().unwrap())
        .deliver_logs_permission_arn(elsewhere["deliver_logs_permission_arn"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let imported = made.flow_log_ids()[0].clone();
    h.assert_no_drift("ec2.flow_log", &imported, &elsewhere)
        .await;
    let read = h
        .read("ec2.flow_log", &[&imported, "fl-00000000", &new.id])
        .await;
    let ids: Vec<Option<&str>> = read
        .iter()
        .map(|l| l.as_ref().map(|l| l.id.as_str()))
        .collect();
    assert_eq!(ids, [Some(imported.as_str()), None, Some(new.id.as_str())]);
    let live = read[0].clone().unwrap();
    h.delete("ec2.flow_log", &live, &elsewhere).await;
    h.delete("ec2.flow_log", &new, &rejected).await;
}

/// A role created moments ago is not yet assumable by vpc-flow-logs.amazonaws.com:
/// CreateFlowLogs answers an Unsuccessful item "Unable to assume given IAM role", which
/// innovate sends again until IAM has propagated the role; one flow log comes of it.
#[tokio::test]
async fn a_role_not_yet_assumable_is_waited_for() {
    let (h, aws) = harness().await;
    let spec = flow_log_spec(&aws, "fresh-role", "10.43.0.0/16").await;
    let vpc = spec["resource_id"].as_str().unwrap().to_string();
    let due = Arc::new(AtomicU32::new(2));
    let left = due.clone();
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        if request.form_action() != "CreateFlowLogs" || !take(&left) {
            return forward();
        }
        let body = format!(
            "<CreateFlowLogsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
             <requestId>fresh-role</requestId><flowLogIdSet/><unsuccessful><item><error>\
             <code>InvalidParameter</code><message>Unable to assume given IAM role.</message>\
             </error><resourceId>{vpc}</resourceId></item></unsuccessful>\
             </CreateFlowLogsResponse>"
        );
        Response {
            status: "HTTP/1.1 200 OK".into(),
            content_type: "text/xml".into(),
            error_type: None,
            body,
        }
    });
    let driver = KindDriver::through(&endpoint, BLUEPRINT).await;
    let flow = driver.create("ec2.flow_log", "fresh_role", &spec).await;
    assert_eq!(
        due.load(Ordering::SeqCst),
        0,
        "refused twice, then sent again"
    );
    let made = aws
        .flow_logs_of(spec["resource_id"].as_str().unwrap())
        .await;
    assert_eq!(made.len(), 1, "one flow log: {made:?}");
    h.delete("ec2.flow_log", &flow, &spec).await;
}

/// Any other Unsuccessful item fails the create with AWS's code and message (moto answers
/// one itself for a bucket that does not exist).
#[tokio::test]
async fn an_unsuccessful_create_fails_with_aws_code_and_message() {
    let (h, aws) = harness().await;
    let vpc = aws.vpc("10.44.0.0/16").await;
    let spec = json!({"resource_id": vpc, "log_destination_type": "s3",
        "log_destination": format!("arn:aws:s3:::innovate-no-such-bucket-{}", std::process::id())});
    let err = h
        .try_create("ec2.flow_log", "bucketless", &spec)
        .await
        .unwrap_err();
    assert_eq!(err.call, "ec2:CreateFlowLogs");
    assert_eq!(err.code.as_deref(), Some("400"));
    assert!(
        err.message.contains(&vpc) && err.message.contains("does not exist"),
        "{err}"
    );
    assert!(aws.flow_logs_of(&vpc).await.is_empty());
}

/// A CreateFlowLogs whose answer was lost left the flow log: the retry meets
/// FlowLogAlreadyExists (same resource and destination), a conflict code of the kind, and
/// the flow log is found by its identity tags (DescribeFlowLogs filters by tag) and adopted
/// only when it carries this create's owner tags.
#[tokio::test]
async fn a_lost_flow_log_create_answer_is_found_by_its_tags() {
    let (h, aws) = harness().await;
    let spec = flow_log_spec(&aws, "lost", "10.45.0.0/16").await;
    let tags = owned_tags("lost_flow", &spec);
    let kind = h.kind("ec2.flow_log");
    let cx = h.cx("lost_flow");
    let first = kind.create(&cx, &attrs(&spec), &tags).await.unwrap();
    let err = kind.create(&cx, &attrs(&spec), &tags).await.unwrap_err();
    assert!(err.has_code_in(kind.conflict_codes()), "{err}");
    let found = adoptable(kind.as_ref(), &tags, None).await;
    assert_eq!(found, [first.id.as_str()]);
    h.delete("ec2.flow_log", &first, &spec).await;
}
