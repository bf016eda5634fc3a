//! The KMS kinds against the emulator, through the real SDK: every create, update and
//! delete is checked with the SDK directly, not only through the kind's own read. What moto
//! does not do as AWS does (a principal not yet known, a key already pending deletion,
//! a change a read does not show yet, a key not visible at once) is answered by a scripted
//! proxy with AWS's own error codes and messages. Tests share one emulator, so every
//! description and alias carries this run's suffix and a test's own word.

mod common;

use aws_sdk_kms::types::KeyState;
use aws_sdk_kms::Client as Kms;
use common::emulator::sdk_config;
use common::kinds::{output, tags_for, KindDriver};
use common::rewriting_proxy::{self, take, Request, Response};
use innovate::kinds::{identity_tags, Live};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

const BLUEPRINT: &str = "kms-kinds";
const INVALID_STATE: &str = "KMSInvalidStateException";

struct Harness {
    kinds: KindDriver,
    kms: Kms,
}

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
            kms: Kms::new(&config),
            kinds: KindDriver::new(config, BLUEPRINT),
        }
    }

    async fn key_state(&self, id: &str) -> KeyState {
        let described = self.kms.describe_key().key_id(id).send().await.unwrap();
        let meta = described.key_metadata().unwrap();
        meta.key_state().unwrap().clone()
    }

    async fn policy(&self, id: &str) -> Value {
        let held = self.kms.get_key_policy().key_id(id).policy_name("default");
        let held = held.send().await.unwrap();
        serde_json::from_str(held.policy().unwrap()).unwrap()
    }

    async fn alias_target(&self, name: &str) -> Option<String> {
        let aliases = self.kms.list_aliases().send().await.unwrap();
        let alias = aliases
            .aliases()
            .iter()
            .find(|a| a.alias_name() == Some(name));
        alias.and_then(|a| a.target_key_id()).map(str::to_string)
    }
}

/// `word` made unique to this run: each test binary has its own emulator, so the process
/// id keeps two runs on one machine apart and the word keeps tests apart.
fn unique(word: &str) -> String {
    format!("{word}-{}", std::process::id())
}

/// A key policy letting the emulator's account administer the key, with `sid`.
fn admin_policy(sid: &str) -> Value {
    let root = format!("arn:aws:iam::{}:root", common::emulator::account_id());
    json!({"Version": "2012-10-17", "Statement": [{"Sid": sid, "Effect": "Allow",
        "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"}]})
}

/// A KMS JSON-protocol refusal, as AWS sends it.
fn refusal(code: &str, message: &str) -> Response {
    let body = json!({"__type": code, "message": message}).to_string();
    Response::client_error("application/x-amz-json-1.1", &body)
}

/// The KMS operation of a request (`X-Amz-Target: TrentService.CreateKey`).
fn operation(request: &Request) -> String {
    request.json_target()
}

/// A proxy refusing the first `times` calls of `op` with AWS's `code` and `message`, and
/// the count of refusals still due.
fn refusing(
    op: &'static str,
    times: u32,
    code: &'static str,
    message: String,
) -> (String, Arc<AtomicU32>) {
    let due = Arc::new(AtomicU32::new(times));
    let left = due.clone();
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        if operation(request) == op && take(&left) {
            return refusal(code, &message);
        }
        forward()
    });
    (endpoint, due)
}

#[tokio::test]
async fn a_key_changes_in_place_and_its_delete_schedules_deletion_after_the_window() {
    let h = Harness::new().await;
    let description = unique("in-place");
    let spec = json!({"description": description, "policy": admin_policy("admin"),
        "deletion_window_in_days": 7, "tags": {"Team": "platform"}});
    let key = h.create("kms.key", "in_place", &spec).await;
    assert!(output(&key, "arn").ends_with(&format!(":key/{}", key.id)));
    assert_eq!(h.policy(&key.id).await, admin_policy("admin"));
    let tags = h
        .kms
        .list_resource_tags()
        .key_id(&key.id)
        .send()
        .await
        .unwrap();
    let team = tags.tags().iter().find(|t| t.tag_key() == "Team");
    assert_eq!(team.map(|t| t.tag_value()), Some("platform"));
    h.assert_no_drift("kms.key", &key.id, &spec).await;

    let changed = json!({"description": format!("{description} v2"),
        "policy": admin_policy("admins"), "enable_key_rotation": true, "is_enabled": false,
        "deletion_window_in_days": 7, "tags": {"Team": "security"}});
    let updated = h.update("kms.key", "in_place", &key, &spec, &changed).await;
    assert_eq!(updated.id, key.id, "changed in place");
    let described = h.kms.describe_key().key_id(&key.id).send().await.unwrap();
    let meta = described.key_metadata().unwrap();
    assert_eq!(
        meta.description(),
        Some(format!("{description} v2").as_str())
    );
    assert!(!meta.enabled());
    assert_eq!(h.policy(&key.id).await, admin_policy("admins"));
    let rotation = h.kms.get_key_rotation_status().key_id(&key.id).send().await;
    assert!(rotation.unwrap().key_rotation_enabled());
    h.assert_no_drift("kms.key", &key.id, &changed).await;

    h.delete("kms.key", &updated, &changed).await;
    assert_eq!(h.key_state(&key.id).await, KeyState::PendingDeletion);
    let described = h.kms.describe_key().key_id(&key.id).send().await.unwrap();
    let deletion = described.key_metadata().unwrap().deletion_date().unwrap();
    let days = (deletion.secs() - chrono_now()) as f64 / 86_400.0;
    assert!((6.9..=7.1).contains(&days), "deleted in {days} days, not 7");
    assert_eq!(
        h.read("kms.key", &[&key.id]).await,
        vec![None],
        "pending is gone"
    );
}

fn chrono_now() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.unwrap().as_secs() as i64
}

/// Keys are read one DescribeKey each (KMS has no batch describe), in the order asked, a
/// gone one as `None`.
#[tokio::test]
async fn keys_are_read_in_order_and_listed_by_identity_tags() {
    let h = Harness::new().await;
    let first = h
        .create("kms.key", "listed_a", &json!({"description": unique("a")}))
        .await;
    let second = h
        .create("kms.key", "listed_b", &json!({"description": unique("b")}))
        .await;
    let read = h
        .read(
            "kms.key",
            &[
                &second.id,
                "00000000-0000-0000-0000-000000000000",
                &first.id,
            ],
        )
        .await;
    let ids: Vec<Option<&str>> = read
        .iter()
        .map(|l| l.as_ref().map(|l| l.id.as_str()))
        .collect();
    assert_eq!(
        ids,
        [Some(second.id.as_str()), None, Some(first.id.as_str())]
    );

    let identity = identity_tags(&tags_for(BLUEPRINT, "listed_a", &json!({})));
    let kind = h.kind("kms.key");
    let listed = kind.list_tagged(&identity).await.unwrap().unwrap();
    let listed: Vec<&str> = listed.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(
        listed,
        [first.id.as_str()],
        "only the key carrying listed_a's tags"
    );

    h.delete("kms.key", &first, &json!({})).await;
    let listed = kind.list_tagged(&identity).await.unwrap().unwrap();
    assert!(
        listed.is_empty(),
        "a key pending deletion is not listed: {listed:?}"
    );
    h.delete("kms.key", &second, &json!({})).await;
}

/// A key whose policy keeps this caller from reading its tags answers ListResourceTags
/// with AccessDeniedException: the listing passes over it and still finds ours.
#[tokio::test]
async fn a_key_whose_tags_cannot_be_read_is_passed_over_when_listing() {
    let h = Harness::new().await;
    let foreign = h
        .kms
        .create_key()
        .description(unique("foreign"))
        .send()
        .await;
    let foreign = foreign
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string();
    let ours = h
        .create(
            "kms.key",
            "listed_past",
            &json!({"description": unique("past")}),
        )
        .await;
    let denied =
        format!("User is not authorized to perform: kms:ListResourceTags on key {foreign}");
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        let body = String::from_utf8_lossy(&request.body).to_string();
        if operation(request) == "ListResourceTags" && body.contains(&foreign) {
            return refusal("AccessDeniedException", &denied);
        }
        forward()
    });
    let driver = KindDriver::through(&endpoint, BLUEPRINT).await;
    let identity = identity_tags(&tags_for(BLUEPRINT, "listed_past", &json!({})));
    let listed = driver
        .kind("kms.key")
        .list_tagged(&identity)
        .await
        .unwrap()
        .unwrap();
    let listed: Vec<&str> = listed.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(listed, [ours.id.as_str()]);
    h.delete("kms.key", &ours, &json!({})).await;
}

/// key_usage and key_spec force a new key: the replacement is a new key with the new usage,
/// the old one scheduled for deletion.
#[tokio::test]
async fn a_new_key_usage_replaces_the_key() {
    let h = Harness::new().await;
    let schema = h.kind("kms.key").schema();
    for attr in ["key_usage", "key_spec", "multi_region"] {
        let declared = schema.attr(attr).unwrap();
        assert!(
            declared.replaces(Some(&json!("A")), Some(&json!("B"))),
            "{attr}"
        );
    }
    assert!(!schema.attr("description").unwrap().force_new);

    let old_spec = json!({"description": unique("replaced")});
    let old = h.create("kms.key", "replaced", &old_spec).await;
    let new_spec = json!({"description": unique("replaced"), "key_usage": "SIGN_VERIFY",
        "key_spec": "ECC_NIST_P256"});
    let new = h.create("kms.key", "replaced", &new_spec).await;
    h.delete("kms.key", &old, &old_spec).await;
    assert_ne!(new.id, old.id);
    let described = h.kms.describe_key().key_id(&new.id).send().await.unwrap();
    let usage = described
        .key_metadata()
        .unwrap()
        .key_usage()
        .unwrap()
        .as_str();
    assert_eq!(usage, "SIGN_VERIFY");
    assert_eq!(h.key_state(&old.id).await, KeyState::PendingDeletion);
    h.assert_no_drift("kms.key", &new.id, &new_spec).await;
    h.delete("kms.key", &new, &new_spec).await;
}

/// A proxy that counts the KMS calls named `counted` and forwards everything.
fn counting(counted: &'static str) -> (String, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let seen = calls.clone();
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        if operation(request) == counted {
            seen.fetch_add(1, Ordering::SeqCst);
        }
        forward()
    });
    (endpoint, calls)
}

#[tokio::test]
async fn a_policy_equal_in_another_key_order_needs_no_call() {
    let h = Harness::new().await;
    let spec = json!({"description": unique("same-policy"), "policy": admin_policy("admin")});
    let key = h.create("kms.key", "same_policy", &spec).await;
    let root = format!("arn:aws:iam::{}:root", common::emulator::account_id());
    // Keys in another order, single values as lists: the same grant.
    let reordered = json!({"Statement": [{"Resource": ["*"], "Action": ["kms:*"],
        "Principal": {"AWS": [root]}, "Effect": "Allow", "Sid": "admin"}],
        "Version": "2012-10-17"});
    let desired = json!({"description": format!("{} v2", spec["description"].as_str().unwrap()),
        "policy": reordered});
    let (endpoint, puts) = counting("PutKeyPolicy");
    let driver = KindDriver::through(&endpoint, BLUEPRINT).await;
    driver
        .update("kms.key", "same_policy", &key, &spec, &desired)
        .await;
    assert_eq!(
        puts.load(Ordering::SeqCst),
        0,
        "no PutKeyPolicy for the same policy"
    );
    assert_eq!(h.policy(&key.id).await, admin_policy("admin"));
    h.delete("kms.key", &key, &spec).await;
}

/// CreateKey with a policy naming a principal IAM has not propagated yet answers
/// MalformedPolicyDocumentException; innovate sends it again, and one key comes of it.
#[tokio::test]
async fn a_policy_naming_a_fresh_principal_is_sent_again_until_kms_accepts_it() {
    let invalid = "Policy contains a statement with one or more invalid principals.";
    let malformed = "MalformedPolicyDocumentException";
    let (endpoint, refused) = refusing("CreateKey", 2, malformed, invalid.into());
    let driver = KindDriver::through(&endpoint, BLUEPRINT).await;
    let spec = json!({"description": unique("fresh-principal"), "policy": admin_policy("p")});
    let key = driver.create("kms.key", "fresh_principal", &spec).await;
    assert_eq!(
        refused.load(Ordering::SeqCst),
        0,
        "refused twice, then sent again"
    );
    let identity = identity_tags(&tags_for(BLUEPRINT, "fresh_principal", &json!({})));
    let listed = driver
        .kind("kms.key")
        .list_tagged(&identity)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listed.len(), 1, "one key: {listed:?}");

    // A document KMS refuses for another reason is not retried.
    let locked_out =
        "The new key policy will not allow you to update the key policy in the future.";
    let (endpoint, _) = refusing("CreateKey", 1, malformed, locked_out.into());
    let failed = KindDriver::through(&endpoint, BLUEPRINT)
        .await
        .try_create("kms.key", "locked_out", &spec)
        .await;
    let err = failed.unwrap_err();
    assert_eq!(err.code.as_deref(), Some(malformed));
    assert!(err.message.contains("will not allow you"), "{err}");
    driver.delete("kms.key", &key, &spec).await;
}

/// A new key may answer NotFoundException to DescribeKey for a moment: the read after
/// create waits for it.
#[tokio::test]
async fn a_new_key_not_visible_yet_is_waited_for() {
    let missing = "Key 'arn:aws:kms:us-east-1:000000000000:key/x' does not exist".to_string();
    let (endpoint, hidden) = refusing("DescribeKey", 2, "NotFoundException", missing);
    let driver = KindDriver::through(&endpoint, BLUEPRINT).await;
    let spec = json!({"description": unique("not-visible")});
    let key = driver.create("kms.key", "not_visible", &spec).await;
    assert_eq!(
        hidden.load(Ordering::SeqCst),
        0,
        "not found twice, then read"
    );
    driver.delete("kms.key", &key, &spec).await;
}

/// KMS applies a policy change eventually: a GetKeyPolicy right after PutKeyPolicy may
/// still answer the old one. The update waits until a read shows the new policy, so what it
/// reports (and state records) is the new one.
#[tokio::test]
async fn a_policy_change_is_waited_for_until_a_read_shows_it() {
    let h = Harness::new().await;
    let spec = json!({"description": unique("propagating"), "policy": admin_policy("old")});
    let key = h.create("kms.key", "propagating", &spec).await;
    let old = admin_policy("old").to_string();
    let stale = Arc::new(AtomicU32::new(0));
    let (armed, left) = (stale.clone(), stale.clone());
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        let op = operation(request);
        if op == "GetKeyPolicy" && take(&left) {
            let body = json!({"Policy": old, "PolicyName": "default"}).to_string();
            return Response {
                status: "HTTP/1.1 200 OK".into(),
                content_type: "application/x-amz-json-1.1".into(),
                error_type: None,
                body,
            };
        }
        let answer = forward();
        if op == "PutKeyPolicy" {
            armed.store(2, Ordering::SeqCst);
        }
        answer
    });
    let driver = KindDriver::through(&endpoint, BLUEPRINT).await;
    let desired = json!({"description": spec["description"], "policy": admin_policy("new")});
    let updated = driver
        .update("kms.key", "propagating", &key, &spec, &desired)
        .await;
    assert_eq!(
        stale.load(Ordering::SeqCst),
        0,
        "two stale answers were served"
    );
    let reported = &updated.attrs.as_ref().unwrap()["policy"];
    assert_eq!(
        reported,
        &admin_policy("new"),
        "the update reports the new policy"
    );
    h.delete("kms.key", &key, &desired).await;
}

/// ScheduleKeyDeletion on a key already pending deletion answers KMSInvalidStateException
/// (moto schedules it again instead): the delete is done.
#[tokio::test]
async fn deleting_a_key_already_pending_deletion_is_done() {
    let h = Harness::new().await;
    let spec = json!({"description": unique("pending")});
    let key = h.create("kms.key", "pending", &spec).await;
    let request = h
        .kms
        .schedule_key_deletion()
        .key_id(&key.id)
        .pending_window_in_days(7);
    request.send().await.unwrap();
    let pending = format!("{} is pending deletion.", output(&key, "arn"));
    let (endpoint, _) = refusing("ScheduleKeyDeletion", u32::MAX, INVALID_STATE, pending);
    KindDriver::through(&endpoint, BLUEPRINT)
        .await
        .delete("kms.key", &key, &spec)
        .await;
    assert_eq!(h.key_state(&key.id).await, KeyState::PendingDeletion);

    // Any other invalid state is an error.
    let other = h.create("kms.key", "disabled", &spec).await;
    let importing = format!("{} is pending import.", output(&other, "arn"));
    let (endpoint, _) = refusing("ScheduleKeyDeletion", u32::MAX, INVALID_STATE, importing);
    let failed = KindDriver::through(&endpoint, BLUEPRINT)
        .await
        .try_delete("kms.key", &other, &spec)
        .await;
    assert_eq!(failed.unwrap_err().code.as_deref(), Some(INVALID_STATE));
    h.delete("kms.key", &other, &spec).await;
}

async fn two_keys(h: &Harness, word: &str) -> (Live, Live) {
    let first = h
        .create(
            "kms.key",
            &format!("{word}_a"),
            &json!({"description": unique(word)}),
        )
        .await;
    let second = h
        .create(
            "kms.key",
            &format!("{word}_b"),
            &json!({"description": unique(word)}),
        )
        .await;
    (first, second)
}

#[tokio::test]
async fn an_alias_moves_between_keys_in_place_and_is_deleted() {
    let h = Harness::new().await;
    let (first, second) = two_keys(&h, "moving").await;
    let name = format!("alias/{}", unique("moving"));
    let spec = json!({"name": name, "target_key_id": first.id});
    let alias = h.create("kms.alias", "moving", &spec).await;
    assert_eq!(alias.id, name);
    assert_eq!(
        h.alias_target(&name).await.as_deref(),
        Some(first.id.as_str())
    );
    assert_eq!(output(&alias, "target_key_arn"), output(&first, "arn"));
    h.assert_no_drift("kms.alias", &name, &spec).await;
    let schema = h.kind("kms.alias").schema();
    assert!(
        !schema.attr("target_key_id").unwrap().force_new,
        "moves in place"
    );

    let moved = json!({"name": name, "target_key_id": second.id});
    let updated = h.update("kms.alias", "moving", &alias, &spec, &moved).await;
    assert_eq!(updated.id, name);
    assert_eq!(
        h.alias_target(&name).await.as_deref(),
        Some(second.id.as_str())
    );
    h.assert_no_drift("kms.alias", &name, &moved).await;

    h.delete("kms.alias", &updated, &moved).await;
    assert_eq!(h.alias_target(&name).await, None);
    assert_eq!(h.read("kms.alias", &[&name]).await, vec![None]);
    h.try_delete("kms.alias", &updated, &moved).await.unwrap();
    h.delete("kms.key", &first, &json!({})).await;
    h.delete("kms.key", &second, &json!({})).await;
}

/// An alias carries no tags; its name is unique in the account. A CreateAlias whose answer
/// was lost left the alias: the next attempt meets AlreadyExistsException and takes it when
/// it points at the asked key, and fails when it points elsewhere (someone else's).
#[tokio::test]
async fn a_lost_create_alias_answer_is_settled_by_the_name() {
    let h = Harness::new().await;
    let (first, second) = two_keys(&h, "lost").await;
    let name = format!("alias/{}", unique("lost"));
    let request = h
        .kms
        .create_alias()
        .alias_name(&name)
        .target_key_id(&first.id);
    request.send().await.unwrap();
    let spec = json!({"name": name, "target_key_id": first.id});
    let adopted = h.create("kms.alias", "lost", &spec).await;
    assert_eq!(adopted.id, name);

    let elsewhere = json!({"name": name, "target_key_id": second.id});
    let taken = h
        .try_create("kms.alias", "lost", &elsewhere)
        .await
        .unwrap_err();
    assert_eq!(taken.code.as_deref(), Some("AlreadyExistsException"));
    assert_eq!(
        h.alias_target(&name).await.as_deref(),
        Some(first.id.as_str())
    );
    h.delete("kms.alias", &adopted, &spec).await;
    h.delete("kms.key", &first, &json!({})).await;
    h.delete("kms.key", &second, &json!({})).await;
}
