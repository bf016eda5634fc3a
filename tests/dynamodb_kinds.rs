//! The DynamoDB table against the emulator, through the real SDK: every create, update and
//! delete is checked with the SDK directly. What moto does not do as AWS does (a table
//! CREATING for a while, backups not ready right after create, a table busy with an update,
//! SSE changes in place) is answered by a scripted proxy with AWS's own codes and messages.
//! Names carry the process id: tests share one emulator.

mod common;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoveryStatus,
    ScalarAttributeType,
};
use aws_sdk_dynamodb::Client as Dynamo;
use common::emulator::sdk_config;
use common::kinds::{attrs, output, tags_for, KindDriver};
use common::rewriting_proxy::{self, take, Response};
use innovate::kinds::{find_made_by, identity_tags, CREATED_TAG, LINEAGE_TAG};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

const BLUEPRINT: &str = "dynamodb-kinds";
const JSON: &str = "application/x-amz-json-1.0";

/// The kinds, and the SDK client to check them with.
async fn harness() -> (KindDriver, Sdk) {
    let config = sdk_config().await;
    let sdk = Sdk(Dynamo::new(&config));
    (KindDriver::new(config, BLUEPRINT), sdk)
}

/// The SDK client innovate's work is checked with.
struct Sdk(Dynamo);

impl Sdk {
    async fn table(&self, name: &str) -> Option<aws_sdk_dynamodb::types::TableDescription> {
        let described = self.0.describe_table().table_name(name).send().await;
        described.ok().and_then(|d| d.table)
    }

    async fn pitr(&self, name: &str) -> Option<PointInTimeRecoveryStatus> {
        let described = self
            .0
            .describe_continuous_backups()
            .table_name(name)
            .send()
            .await;
        let described = described.unwrap().continuous_backups_description.unwrap();
        described
            .point_in_time_recovery_description()
            .and_then(|p| p.point_in_time_recovery_status())
            .cloned()
    }

    /// The value of the table's `Team` tag.
    async fn team(&self, arn: &str) -> Option<String> {
        let tags = self
            .0
            .list_tags_of_resource()
            .resource_arn(arn)
            .send()
            .await;
        let tags = tags.unwrap();
        // AWS overwrites a tag's value; moto appends a second entry: the last one counts.
        let team = tags.tags().iter().rfind(|t| t.key() == "Team");
        team.map(|t| t.value().to_string())
    }

    /// A table made with the SDK: hash key `Path` (S), on-demand, carrying `tags`.
    async fn made_elsewhere(&self, name: &str, tags: &innovate::kinds::Tags) {
        let def = AttributeDefinition::builder().attribute_name("Path");
        let def = def.attribute_type(ScalarAttributeType::S).build().unwrap();
        let key = KeySchemaElement::builder()
            .attribute_name("Path")
            .key_type(KeyType::Hash);
        let tags = tags.iter().map(|(k, v)| {
            aws_sdk_dynamodb::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .unwrap()
        });
        let request = self
            .0
            .create_table()
            .table_name(name)
            .attribute_definitions(def);
        let request = request
            .key_schema(key.build().unwrap())
            .billing_mode(BillingMode::PayPerRequest);
        request.set_tags(Some(tags.collect())).send().await.unwrap();
    }
}

fn table_name(word: &str) -> String {
    format!("innovate-{word}-{}", std::process::id())
}

fn refusal(code: &str, message: &str) -> Response {
    let body = json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
        "message": message});
    Response::client_error(JSON, &body.to_string())
}

#[tokio::test]
async fn a_table_changes_in_place_is_protected_and_deleted() {
    let (h, aws) = harness().await;
    let name = table_name("in-place");
    let spec = json!({"name": name, "hash_key": "Path", "range_key": "Key",
        "tags": {"Team": "platform"}});
    let table = h.create("dynamodb.table", "in_place", &spec).await;
    assert_eq!(table.id, name);
    let described = aws.table(&name).await.unwrap();
    assert_eq!(described.table_status().unwrap().as_str(), "ACTIVE");
    assert_eq!(described.key_schema().len(), 2);
    assert_eq!(
        aws.pitr(&name).await,
        Some(PointInTimeRecoveryStatus::Enabled),
        "on by default"
    );
    let arn = output(&table, "arn").to_string();
    assert_eq!(aws.team(&arn).await.as_deref(), Some("platform"));
    h.assert_no_drift("dynamodb.table", &name, &spec).await;

    let changed = json!({"name": name, "hash_key": "Path", "range_key": "Key",
        "billing_mode": "PROVISIONED", "read_capacity": 5, "write_capacity": 2,
        "point_in_time_recovery": false, "deletion_protection": true,
        "tags": {"Team": "security"}});
    let updated = h
        .update("dynamodb.table", "in_place", &table, &spec, &changed)
        .await;
    assert_eq!(updated.id, name, "changed in place");
    let described = aws.table(&name).await.unwrap();
    let summary = described
        .billing_mode_summary()
        .and_then(|s| s.billing_mode());
    assert_eq!(summary, Some(&BillingMode::Provisioned));
    let units = described.provisioned_throughput().unwrap();
    assert_eq!(
        (units.read_capacity_units(), units.write_capacity_units()),
        (Some(5), Some(2))
    );
    assert_eq!(described.deletion_protection_enabled(), Some(true));
    assert_eq!(
        aws.pitr(&name).await,
        Some(PointInTimeRecoveryStatus::Disabled)
    );
    assert_eq!(aws.team(&arn).await.as_deref(), Some("security"));
    h.assert_no_drift("dynamodb.table", &name, &changed).await;

    // Protected: the plan refuses the delete until the blueprint turns protection off.
    let kind = h.kind("dynamodb.table");
    let refusal = kind
        .delete_refusal(&attrs(&changed))
        .expect("a protected table");
    assert!(refusal.contains("deletion_protection"), "{refusal}");
    let mut unprotected = changed.clone();
    unprotected["deletion_protection"] = json!(false);
    assert_eq!(kind.delete_refusal(&attrs(&unprotected)), None);
    h.update(
        "dynamodb.table",
        "in_place",
        &updated,
        &changed,
        &unprotected,
    )
    .await;

    h.delete("dynamodb.table", &updated, &unprotected).await;
    assert!(aws.table(&name).await.is_none());
    assert_eq!(h.read("dynamodb.table", &[&name]).await, vec![None]);
}

/// Keys force a new table; point-in-time recovery and protection changed behind innovate's
/// back are drift, and an update puts them back.
#[tokio::test]
async fn a_new_key_replaces_the_table_and_drift_is_found_and_put_back() {
    let (h, aws) = harness().await;
    let schema = h.kind("dynamodb.table").schema();
    for attr in [
        "name",
        "hash_key",
        "hash_key_type",
        "range_key",
        "range_key_type",
    ] {
        assert!(schema.attr(attr).unwrap().force_new, "{attr}");
    }
    for attr in [
        "billing_mode",
        "point_in_time_recovery",
        "kms_key_arn",
        "deletion_protection",
    ] {
        assert!(!schema.attr(attr).unwrap().force_new, "{attr}");
    }
    let name = table_name("replaced");
    let old_spec = json!({"name": name, "hash_key": "Path"});
    let old = h.create("dynamodb.table", "replaced", &old_spec).await;
    h.delete("dynamodb.table", &old, &old_spec).await;
    let new_spec = json!({"name": name, "hash_key": "Id", "hash_key_type": "N"});
    let new = h.create("dynamodb.table", "replaced", &new_spec).await;
    let described = aws.table(&name).await.unwrap();
    let key = &described.attribute_definitions()[0];
    assert_eq!(
        (key.attribute_name(), key.attribute_type().as_str()),
        ("Id", "N")
    );

    let off = aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
        .point_in_time_recovery_enabled(false)
        .build()
        .unwrap();
    let request = aws.0.update_continuous_backups().table_name(&name);
    request
        .point_in_time_recovery_specification(off)
        .send()
        .await
        .unwrap();
    let request = aws
        .0
        .update_table()
        .table_name(&name)
        .deletion_protection_enabled(true);
    request.send().await.unwrap();
    let live = h.read_one("dynamodb.table", &name).await;
    let mut drift = h.drift("dynamodb.table", &live, &new_spec);
    drift.sort();
    assert_eq!(drift, ["deletion_protection", "point_in_time_recovery"]);
    h.update("dynamodb.table", "replaced", &new, &new_spec, &new_spec)
        .await;
    h.assert_no_drift("dynamodb.table", &name, &new_spec).await;
    h.delete("dynamodb.table", &new, &new_spec).await;
}

/// A table made outside innovate reads with what AWS reports, as `import` records it; a
/// customer key given at creation reads back.
#[tokio::test]
async fn a_table_made_elsewhere_is_imported_and_a_key_reads_back() {
    let (h, aws) = harness().await;
    let name = table_name("imported");
    aws.made_elsewhere(&name, &Default::default()).await;
    let spec = json!({"name": name, "hash_key": "Path", "point_in_time_recovery": false});
    let live = h.assert_no_drift("dynamodb.table", &name, &spec).await;
    assert_eq!(live.attrs.as_ref().unwrap()["kms_key_arn"], Value::Null);
    h.delete("dynamodb.table", &live, &spec).await;

    let key = common::emulator::kms_key_arn("1234abcd-12ab-34cd-56ef-1234567890ab");
    let keyed = json!({"name": table_name("keyed"), "hash_key": "Path", "kms_key_arn": key});
    let table = h.create("dynamodb.table", "keyed", &keyed).await;
    h.assert_no_drift("dynamodb.table", &table.id, &keyed).await;
    h.delete("dynamodb.table", &table, &keyed).await;
}

/// AWS keeps a new table CREATING for a while (moto makes it ACTIVE at once: the proxy
/// answers CREATING twice), and refuses UpdateContinuousBackups with
/// ContinuousBackupsUnavailableException until the table's backups are ready. The create
/// waits for ACTIVE, then retries until point-in-time recovery is on.
#[tokio::test]
async fn a_new_table_is_waited_for_and_its_backups_retried_until_ready() {
    let (h, aws) = harness().await;
    let (creating, unavailable) = (Arc::new(AtomicU32::new(2)), Arc::new(AtomicU32::new(2)));
    let (c, u) = (creating.clone(), unavailable.clone());
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        let op = request.json_target();
        if op == "UpdateContinuousBackups" && take(&u) {
            return refusal(
                "ContinuousBackupsUnavailableException",
                "Backups are being enabled for the table: try again later",
            );
        }
        let mut answer = forward();
        if op == "DescribeTable" && take(&c) {
            answer.body = answer.body.replace("\"ACTIVE\"", "\"CREATING\"");
        }
        answer
    });
    let driver = KindDriver::through(&endpoint, BLUEPRINT)
        .await
        .recording_phases();
    let spec = json!({"name": table_name("waited"), "hash_key": "Path"});
    let table = driver.create("dynamodb.table", "waited", &spec).await;
    assert_eq!(
        creating.load(Ordering::SeqCst),
        0,
        "CREATING twice, then ACTIVE"
    );
    assert_eq!(
        unavailable.load(Ordering::SeqCst),
        0,
        "refused twice, then sent again"
    );
    assert!(
        driver
            .phases()
            .iter()
            .any(|p| p.starts_with("waiting for ACTIVE")),
        "{:?}",
        driver.phases()
    );
    assert_eq!(
        aws.pitr(&table.id).await,
        Some(PointInTimeRecoveryStatus::Enabled)
    );
    h.delete("dynamodb.table", &table, &spec).await;
}

/// UpdateTable answers ResourceInUseException while an earlier update is still running;
/// innovate sends it again. SSE changes in place (moto ignores UpdateTable's
/// SSESpecification: what is asserted is the call sent).
#[tokio::test]
async fn an_update_refused_while_the_table_is_busy_is_sent_again() {
    let (h, _) = harness().await;
    let spec = json!({"name": table_name("busy"), "hash_key": "Path"});
    let table = h.create("dynamodb.table", "busy", &spec).await;
    let due = Arc::new(AtomicU32::new(2));
    let left = due.clone();
    let updates = Arc::new(Mutex::new(Vec::new()));
    let sent = updates.clone();
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        if request.json_target() != "UpdateTable" {
            return forward();
        }
        if take(&left) {
            return refusal(
                "ResourceInUseException",
                "Attempt to change a resource which is still in use: Table is being updated",
            );
        }
        sent.lock()
            .unwrap()
            .push(String::from_utf8_lossy(&request.body).to_string());
        forward()
    });
    let key = common::emulator::kms_key_arn("1234abcd-12ab-34cd-56ef-1234567890ab");
    let keyed = json!({"name": spec["name"], "hash_key": "Path", "kms_key_arn": key});
    KindDriver::through(&endpoint, BLUEPRINT)
        .await
        .update("dynamodb.table", "busy", &table, &spec, &keyed)
        .await;
    assert_eq!(
        due.load(Ordering::SeqCst),
        0,
        "refused twice, then sent again"
    );
    let bodies = updates.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let body: Value = serde_json::from_str(&bodies[0]).unwrap();
    let sse = json!({"Enabled": true, "SSEType": "KMS", "KMSMasterKeyId": key});
    assert_eq!(body["SSESpecification"], sse);
    h.delete("dynamodb.table", &table, &keyed).await;
}

/// A CreateTable whose answer was lost left the table: the retry meets
/// ResourceInUseException ("Table already exists"), a conflict code of the kind, and the
/// table is found by its name and adopted only when it carries this create's owner tags.
#[tokio::test]
async fn a_lost_create_answer_is_adopted_only_when_the_table_is_ours() {
    let (h, aws) = harness().await;
    let name = table_name("lost");
    let spec = json!({"name": name, "hash_key": "Path"});
    let mut tags = tags_for(BLUEPRINT, "lost", &spec);
    tags.insert(LINEAGE_TAG.into(), "lineage-1".into());
    tags.insert(CREATED_TAG.into(), "2026-12-04T18:00:00.000Z".into());
    aws.made_elsewhere(&name, &tags).await;

    let kind = h.kind("dynamodb.table");
    let err = kind
        .create(&h.cx("lost"), &attrs(&spec), &tags)
        .await
        .unwrap_err();
    assert!(err.has_code_in(kind.conflict_codes()), "{err}");
    let identity = identity_tags(&tags);
    let expected = kind.natural_id(&attrs(&spec));
    let found = find_made_by(kind.as_ref(), &identity, expected.as_deref());
    let found = found.await.unwrap();
    assert_eq!(
        found.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
        [name.as_str()]
    );
    let mut other = identity.clone();
    other.insert(LINEAGE_TAG.into(), "another-state".into());
    let theirs = find_made_by(kind.as_ref(), &other, Some(&name))
        .await
        .unwrap();
    assert!(
        theirs.is_empty(),
        "another state's table is never adopted: {theirs:?}"
    );
    h.delete("dynamodb.table", &found[0], &spec).await;
}
