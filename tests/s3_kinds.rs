//! `s3.bucket` against the emulator, through the real SDK: every create, update and delete
//! is checked with the SDK directly, not only through the kind's own read. What moto does
//! not do as AWS does (a new bucket not visible yet, a name taken in another account) is
//! answered by a scripted proxy with S3's own error codes and messages. Tests share one
//! emulator, so every bucket name carries this run's process id and a test's own word.

mod common;

use aws_sdk_s3::types::{BucketVersioningStatus, ServerSideEncryption};
use aws_sdk_s3::Client as S3;
use common::emulator::sdk_config;
use common::kinds::{output, KindDriver};
use common::rewriting_proxy::{self, take, Request, Response};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

const BLUEPRINT: &str = "s3-kinds";
const KIND: &str = "s3.bucket";

struct Harness {
    kinds: KindDriver,
    s3: S3,
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
        let s3 = aws_sdk_s3::config::Builder::from(&config).force_path_style(true);
        Harness {
            s3: S3::from_conf(s3.build()),
            kinds: KindDriver::new(config, BLUEPRINT),
        }
    }

    async fn versioning(&self, name: &str) -> Option<BucketVersioningStatus> {
        let got = self.s3.get_bucket_versioning().bucket(name).send().await;
        got.unwrap().status().cloned()
    }

    async fn tag(&self, name: &str, key: &str) -> Option<String> {
        let got = self
            .s3
            .get_bucket_tagging()
            .bucket(name)
            .send()
            .await
            .ok()?;
        let tag = got.tag_set().iter().find(|t| t.key() == key);
        tag.map(|t| t.value().to_string())
    }

    async fn exists(&self, name: &str) -> bool {
        self.s3.head_bucket().bucket(name).send().await.is_ok()
    }

    async fn put_object(&self, name: &str, key: &str) {
        let request = self
            .s3
            .put_object()
            .bucket(name)
            .key(key)
            .body(b"x".to_vec().into());
        request.send().await.unwrap();
    }
}

/// `word` made unique to this run, as a bucket name.
fn unique(word: &str) -> String {
    format!("innovate-{word}-{}", std::process::id())
}

/// A bucket policy denying plain HTTP, as the Velero and CloudTrail buckets have.
fn tls_only(name: &str, sid: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Sid": sid, "Effect": "Deny",
        "Principal": "*", "Action": "s3:*",
        "Resource": [format!("arn:aws:s3:::{name}"), format!("arn:aws:s3:::{name}/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
}

/// An S3 refusal as AWS sends it: a REST-XML error body under `status`.
fn refusal(status: &str, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>{message}</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>"
    );
    Response {
        status: format!("HTTP/1.1 {status}"),
        content_type: "application/xml".into(),
        error_type: None,
        body,
    }
}

/// The S3 operation of a path-style request: its method and its sub-resource
/// (`PUT ?tagging`), or the method alone for the bucket itself (`PUT`: CreateBucket).
fn operation(request: &Request) -> String {
    let line = request.head.lines().next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    match target.split_once('?') {
        Some((_, query)) => format!("{method} ?{}", query.split(['=', '&']).next().unwrap()),
        None => method.to_string(),
    }
}

/// A proxy answering the first `times` requests of `op` with S3's refusal `code` under
/// `status`, and the count of refusals still due.
fn refusing(
    op: &'static str,
    times: u32,
    (status, code, message): (&'static str, &'static str, &'static str),
) -> (String, Arc<AtomicU32>) {
    let due = Arc::new(AtomicU32::new(times));
    let left = due.clone();
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        if operation(request) == op && take(&left) {
            return refusal(status, code, message);
        }
        forward()
    });
    (endpoint, due)
}

#[tokio::test]
async fn a_bucket_changes_in_place_and_a_new_name_replaces_it() {
    let h = Harness::new().await;
    let name = unique("in-place");
    let spec = json!({"name": name, "tags": {"Team": "platform"}});
    let bucket = h.create(KIND, "in_place", &spec).await;
    assert_eq!(bucket.id, name);
    assert_eq!(output(&bucket, "arn"), format!("arn:aws:s3:::{name}"));
    let domain = format!("{name}.s3.us-east-1.amazonaws.com");
    assert_eq!(output(&bucket, "regional_domain_name"), domain);
    assert_eq!(h.tag(&name, "Team").await.as_deref(), Some("platform"));
    assert_eq!(
        h.tag(&name, "innovate:address").await.as_deref(),
        Some("in_place")
    );
    let access =
        h.s3.get_public_access_block()
            .bucket(&name)
            .send()
            .await
            .unwrap();
    let access = access.public_access_block_configuration().unwrap();
    assert_eq!(
        access.block_public_policy(),
        Some(true),
        "blocked by default"
    );
    h.assert_no_drift(KIND, &name, &spec).await;

    let changed = json!({"name": name, "versioning": true, "encryption": "aws:kms",
        "kms_key_arn": "arn:aws:kms:us-east-1:111122223333:key/velero",
        "object_ownership": "BucketOwnerPreferred", "policy": tls_only(&name, "tls"),
        "lifecycle_rules": [{"id": "old-versions", "noncurrent_version_expiration_days": 30},
            {"id": "backups", "prefix": "backups/", "expiration_days": 90,
             "transitions": [{"days": 30, "storage_class": "GLACIER_IR"}]}],
        "tags": {"Team": "security"}});
    let updated = h.update(KIND, "in_place", &bucket, &spec, &changed).await;
    assert_eq!(updated.id, name, "changed in place");
    assert_eq!(
        h.versioning(&name).await,
        Some(BucketVersioningStatus::Enabled)
    );
    let encryption =
        h.s3.get_bucket_encryption()
            .bucket(&name)
            .send()
            .await
            .unwrap();
    let rule = &encryption
        .server_side_encryption_configuration()
        .unwrap()
        .rules()[0];
    let by_default = rule.apply_server_side_encryption_by_default().unwrap();
    assert_eq!(by_default.sse_algorithm(), &ServerSideEncryption::AwsKms);
    assert_eq!(
        rule.bucket_key_enabled(),
        Some(true),
        "a Bucket Key by default"
    );
    let lifecycle =
        h.s3.get_bucket_lifecycle_configuration()
            .bucket(&name)
            .send();
    assert_eq!(lifecycle.await.unwrap().rules().len(), 2);
    assert_eq!(h.tag(&name, "Team").await.as_deref(), Some("security"));
    assert_eq!(
        h.tag(&name, "innovate:address").await.as_deref(),
        Some("in_place")
    );
    h.assert_no_drift(KIND, &name, &changed).await;

    // Versioning off again: S3 can only suspend it. The policy and rules go.
    let back = json!({"name": name, "tags": {"Team": "security"}});
    h.update(KIND, "in_place", &updated, &changed, &back).await;
    assert_eq!(
        h.versioning(&name).await,
        Some(BucketVersioningStatus::Suspended)
    );
    assert!(h.s3.get_bucket_policy().bucket(&name).send().await.is_err());
    h.assert_no_drift(KIND, &name, &back).await;

    let schema = h.kind(KIND).schema();
    assert!(schema.attr("name").unwrap().force_new);
    assert!(
        !schema.attr("encryption").unwrap().force_new,
        "encryption changes in place"
    );
    let renamed = json!({"name": unique("renamed")});
    let replacement = h.create(KIND, "in_place", &renamed).await;
    h.delete(KIND, &updated, &back).await;
    assert!(!h.exists(&name).await && h.exists(&replacement.id).await);
    h.delete(KIND, &replacement, &renamed).await;
    assert_eq!(h.read(KIND, &[&replacement.id]).await, vec![None]);
}

#[tokio::test]
async fn a_bucket_with_objects_is_refused_unless_force_destroy_empties_it() {
    let h = Harness::new().await;
    let name = unique("not-empty");
    let spec = json!({"name": name, "versioning": true});
    let bucket = h.create(KIND, "not_empty", &spec).await;
    h.put_object(&name, "backups/one").await;
    h.put_object(&name, "backups/one").await; // a second version
    h.put_object(&name, "backups/two").await;
    let cx = h.cx("not_empty");
    let refused = h
        .try_delete_with(KIND, &cx, &bucket, &spec)
        .await
        .unwrap_err();
    assert_eq!(refused.code.as_deref(), Some("BucketNotEmpty"));
    assert!(
        refused.message.contains("not_empty"),
        "names the address: {refused}"
    );
    assert!(refused.message.contains(&name) && refused.message.contains("force_destroy: true"));
    assert!(h.exists(&name).await, "nothing deleted");

    let forced = json!({"name": name, "versioning": true, "force_destroy": true});
    let note = h
        .kind(KIND)
        .delete_note(forced.as_object().unwrap())
        .unwrap();
    assert!(note.contains("every object version"), "{note}");
    h.delete(KIND, &bucket, &forced).await;
    assert!(!h.exists(&name).await, "emptied, then deleted");
}

#[tokio::test]
async fn a_bucket_changed_behind_innovates_back_drifts_and_an_sdk_bucket_imports() {
    let h = Harness::new().await;
    let name = unique("drift");
    let spec = json!({"name": name});
    h.create(KIND, "drift", &spec).await;
    let enabled = aws_sdk_s3::types::VersioningConfiguration::builder()
        .status(BucketVersioningStatus::Enabled)
        .build();
    let request =
        h.s3.put_bucket_versioning()
            .bucket(&name)
            .versioning_configuration(enabled);
    request.send().await.unwrap();
    h.s3.delete_public_access_block()
        .bucket(&name)
        .send()
        .await
        .unwrap();
    let live = h.read_one(KIND, &name).await;
    let mut drift = h.drift(KIND, &live, &spec);
    drift.sort();
    assert_eq!(drift, ["block_public_access", "versioning"]);

    // Made with the SDK, imported by its name: it reads as the blueprint that describes it
    // and carries no identity tags until innovate's first update.
    let made = unique("imported");
    h.s3.create_bucket().bucket(&made).send().await.unwrap();
    let policy = tls_only(&made, "imported");
    let request =
        h.s3.put_bucket_policy()
            .bucket(&made)
            .policy(policy.to_string());
    request.send().await.unwrap();
    let imported = h.read_one(KIND, &made).await;
    assert!(imported.identity.is_empty(), "{:?}", imported.identity);
    let blueprint = json!({"name": made, "policy": policy});
    let drift = h.drift(KIND, &imported, &blueprint);
    for attr in ["name", "policy", "versioning", "lifecycle_rules"] {
        assert!(
            !drift.contains(&attr.to_string()),
            "{attr} drifted: {drift:?}"
        );
    }
    h.update(KIND, "imported", &imported, &blueprint, &blueprint)
        .await;
    assert_eq!(
        h.tag(&made, "innovate:address").await.as_deref(),
        Some("imported")
    );
    h.assert_no_drift(KIND, &made, &blueprint).await;
    h.delete(KIND, &imported, &blueprint).await;
    h.delete(KIND, &live, &spec).await;
}

/// A new bucket may answer NoSuchBucket to its configuration calls for a moment (S3's
/// eventual consistency): innovate sends them again until S3 knows the bucket.
#[tokio::test]
async fn a_new_bucket_answering_no_such_bucket_is_retried() {
    let name = unique("not-visible");
    let missing = (
        "404 Not Found",
        "NoSuchBucket",
        "The specified bucket does not exist",
    );
    let (endpoint, due) = refusing("PUT ?tagging", 2, missing);
    let driver = KindDriver::through(&endpoint, BLUEPRINT).await;
    let spec = json!({"name": name, "tags": {"Team": "platform"}});
    let bucket = driver.create(KIND, "not_visible", &spec).await;
    assert_eq!(
        due.load(Ordering::SeqCst),
        0,
        "refused twice, then sent again"
    );
    let h = Harness::new().await;
    assert_eq!(h.tag(&name, "Team").await.as_deref(), Some("platform"));
    h.delete(KIND, &bucket, &spec).await;
}

/// PutBucketPolicy naming a role created seconds ago answers MalformedPolicy "Invalid
/// principal in policy" until IAM has propagated it: sent again. Any other MalformedPolicy
/// fails at once.
#[tokio::test]
async fn a_policy_naming_a_fresh_principal_is_sent_again_until_s3_accepts_it() {
    let invalid = (
        "400 Bad Request",
        "MalformedPolicy",
        "Invalid principal in policy",
    );
    let (endpoint, due) = refusing("PUT ?policy", 2, invalid);
    let driver = KindDriver::through(&endpoint, BLUEPRINT).await;
    let name = unique("fresh-principal");
    let spec = json!({"name": name, "policy": tls_only(&name, "tls")});
    let bucket = driver.create(KIND, "fresh_principal", &spec).await;
    assert_eq!(
        due.load(Ordering::SeqCst),
        0,
        "refused twice, then sent again"
    );
    driver.assert_no_drift(KIND, &name, &spec).await;

    let broken = (
        "400 Bad Request",
        "MalformedPolicy",
        "Policy has invalid action",
    );
    let (endpoint, _) = refusing("PUT ?policy", 1, broken);
    let other = json!({"name": name, "policy": tls_only(&name, "other")});
    let failed = KindDriver::through(&endpoint, BLUEPRINT).await;
    let cx = failed.cx("fresh_principal");
    let kind = failed.kind(KIND);
    let tags = failed.tags("fresh_principal", &other);
    let attrs = |v: &Value| v.as_object().unwrap().clone();
    let err = kind
        .update(&cx, &bucket, &attrs(&spec), &attrs(&other), &tags)
        .await;
    let err = err.unwrap_err();
    assert!(
        err.message.contains("invalid action"),
        "not sent again: {err}"
    );
    driver.delete(KIND, &bucket, &spec).await;
}

/// Bucket names are global: BucketAlreadyExists says another account has it. The create
/// fails with S3's own answer and nothing is adopted; a name S3 would refuse fails before
/// any call.
#[tokio::test]
async fn a_name_taken_by_another_account_fails_the_create_and_is_never_adopted() {
    let taken = "The requested bucket name is not available. The bucket namespace is shared \
                 by all users of the system. Please select a different name and try again.";
    let (endpoint, _) = refusing("PUT", 1, ("409 Conflict", "BucketAlreadyExists", taken));
    let driver = KindDriver::through(&endpoint, BLUEPRINT).await;
    let name = unique("taken");
    let spec = json!({"name": name});
    let err = driver.try_create(KIND, "taken", &spec).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("BucketAlreadyExists"));
    assert!(err.message.contains("not available"), "{err}");
    let kind = driver.kind(KIND);
    assert!(
        !kind.conflict_codes().contains(&"BucketAlreadyExists"),
        "never adopted"
    );
    assert!(kind.conflict_codes().contains(&"BucketAlreadyOwnedByYou"));
    assert!(!Harness::new().await.exists(&name).await);

    // Ours already, after a lost answer: the engine's to adopt (by the owner tags), and
    // when it cannot, the error says why.
    let owned = "Your previous request to create the named bucket succeeded and you already \
                 own it.";
    let (endpoint, _) = refusing("PUT", 1, ("409 Conflict", "BucketAlreadyOwnedByYou", owned));
    let driver = KindDriver::through(&endpoint, BLUEPRINT).await;
    let err = driver.try_create(KIND, "owned", &spec).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("BucketAlreadyOwnedByYou"));
    assert!(err.message.contains("owner tags"), "{err}");

    let bad = driver
        .try_create(KIND, "bad", &json!({"name": "Not_A_Bucket"}))
        .await;
    let bad = bad.unwrap_err();
    assert!(
        bad.code.is_none() && bad.message.contains("lowercase"),
        "{bad}"
    );
}

/// A CreateBucket whose answer was lost: the bucket exists and S3 answers the retry with
/// BucketAlreadyOwnedByYou. Lost before innovate tagged it, the bucket carries none of this
/// create's owner tags: the apply does not take it, says why, and records nothing.
#[test]
fn a_bucket_left_by_a_lost_answer_without_our_owner_tags_is_not_adopted() {
    let name = unique("lost-answer");
    let (path, lost) = (format!("/{name}"), Arc::new(AtomicU32::new(1)));
    let owned =
        "Your previous request to create the named bucket succeeded and you already own it.";
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        let create = operation(request) == "PUT" && request.head.contains(&path);
        if create && take(&lost) {
            forward(); // made; the answer is lost
            return refusal("409 Conflict", "BucketAlreadyOwnedByYou", owned);
        }
        forward()
    });
    let ws = common::cli::Workspace::new();
    let blueprint = format!(
        "blueprint: lost-answer\nregion: us-east-1\nresources:\n  backups: {{ kind: s3.bucket, name: {name} }}\n"
    );
    let bp = ws.write_blueprint(&blueprint);
    let env = [("AWS_ENDPOINT_URL", endpoint.as_str())];
    let applied = ws.run_with_env(&["apply", bp.to_str().unwrap(), "--auto-approve"], &env);
    let stderr = applied.stderr();
    assert_ne!(applied.code(), 0, "{stderr}");
    assert!(
        stderr.contains("BucketAlreadyOwnedByYou") && stderr.contains("owner tags"),
        "{stderr}"
    );
    let listed = ws.run(&["state", "list", bp.to_str().unwrap()]);
    assert!(!listed.stdout().contains("backups"), "{}", listed.stdout());
}
