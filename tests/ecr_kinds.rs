//! `ecr.repository` against the emulator, through the real SDK: every create, update and
//! delete is checked with the SDK directly. What moto does not do as AWS does (a policy
//! naming a principal IAM has not propagated yet) is answered by a scripted proxy with
//! ECR's own error code and message. Tests share one emulator, so every repository name
//! carries this run's process id and a test's own word.

mod common;

use aws_sdk_ecr::types::ImageTagMutability;
use aws_sdk_ecr::Client as Ecr;
use common::emulator::sdk_config;
use common::kinds::{output, KindDriver};
use common::rewriting_proxy::{self, take, Response};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

const BLUEPRINT: &str = "ecr-kinds";
const KIND: &str = "ecr.repository";

struct Harness {
    kinds: KindDriver,
    ecr: Ecr,
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
            ecr: Ecr::new(&config),
            kinds: KindDriver::new(config, BLUEPRINT),
        }
    }

    async fn described(&self, name: &str) -> Option<aws_sdk_ecr::types::Repository> {
        let request = self.ecr.describe_repositories().repository_names(name);
        let answer = request.send().await.ok()?;
        answer.repositories().first().cloned()
    }

    async fn tags(&self, arn: &str) -> Vec<(String, String)> {
        let listed = self
            .ecr
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await;
        let listed = listed.unwrap();
        let pairs = listed.tags().iter();
        pairs
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()
    }

    /// Pushes an image manifest, as `docker push` ends.
    async fn push(&self, name: &str, tag: &str) {
        let manifest = json!({"schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 7023, "digest": format!("sha256:{}", "b".repeat(64))},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": 32654, "digest": format!("sha256:{}", "e".repeat(64))}]});
        let request = self.ecr.put_image().repository_name(name).image_tag(tag);
        request
            .image_manifest(manifest.to_string())
            .send()
            .await
            .unwrap();
    }
}

/// `word` made unique to this run, as a repository name.
fn unique(word: &str) -> String {
    format!("innovate/{word}-{}", std::process::id())
}

/// A repository policy letting a workload account pull.
fn pull_from(account: &str, sid: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Sid": sid, "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]})
}

/// Keeps the last `count` images.
fn keep_last(count: u32) -> Value {
    json!({"rules": [{"rulePriority": 1, "description": "keep the last images",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
            "countNumber": count}, "action": {"type": "expire"}}]})
}

#[tokio::test]
async fn a_repository_changes_in_place_and_new_encryption_replaces_it() {
    let h = Harness::new().await;
    let name = unique("backend");
    let spec = json!({"name": name, "lifecycle_policy": keep_last(30),
        "repository_policy": pull_from("111122223333", "workloads"),
        "tags": {"Team": "platform"}});
    let repo = h.create(KIND, "backend", &spec).await;
    assert_eq!(repo.id, name);
    assert!(output(&repo, "repository_url").ends_with(&format!("/{name}")));
    let described = h.described(&name).await.unwrap();
    assert_eq!(
        described.image_tag_mutability(),
        Some(&ImageTagMutability::Immutable)
    );
    assert!(described
        .image_scanning_configuration()
        .unwrap()
        .scan_on_push());
    let arn = output(&repo, "arn").to_string();
    let tags = h.tags(&arn).await;
    assert!(
        tags.contains(&("Team".into(), "platform".into())),
        "{tags:?}"
    );
    assert!(tags
        .iter()
        .any(|(k, v)| k == "innovate:address" && v == "backend"));
    h.assert_no_drift(KIND, &name, &spec).await;

    let changed = json!({"name": name, "image_tag_mutability": "MUTABLE",
        "scan_on_push": false, "lifecycle_policy": keep_last(10),
        "repository_policy": pull_from("444455556666", "workloads"),
        "tags": {"Team": "delivery"}});
    let updated = h.update(KIND, "backend", &repo, &spec, &changed).await;
    assert_eq!(updated.id, name, "changed in place");
    let described = h.described(&name).await.unwrap();
    assert_eq!(
        described.image_tag_mutability(),
        Some(&ImageTagMutability::Mutable)
    );
    assert!(!described
        .image_scanning_configuration()
        .unwrap()
        .scan_on_push());
    let policy = h
        .ecr
        .get_repository_policy()
        .repository_name(&name)
        .send()
        .await;
    assert!(policy
        .unwrap()
        .policy_text()
        .unwrap()
        .contains("444455556666"));
    assert!(h
        .tags(&arn)
        .await
        .contains(&("Team".into(), "delivery".into())));
    h.assert_no_drift(KIND, &name, &changed).await;

    // Both policies dropped from the blueprint: deleted.
    let bare = json!({"name": name, "tags": {"Team": "delivery"}});
    h.update(KIND, "backend", &updated, &changed, &bare).await;
    let lifecycle = h
        .ecr
        .get_lifecycle_policy()
        .repository_name(&name)
        .send()
        .await;
    let code = lifecycle.unwrap_err().into_service_error();
    assert!(code.is_lifecycle_policy_not_found_exception(), "{code:?}");

    let schema = h.kind(KIND).schema();
    assert!(schema.attr("encryption_type").unwrap().force_new);
    assert!(schema.attr("kms_key_arn").unwrap().force_new);
    h.delete(KIND, &updated, &bare).await;
    let kms = json!({"name": name, "encryption_type": "KMS"});
    let replacement = h.create(KIND, "backend", &kms).await;
    let described = h.described(&name).await.unwrap();
    let encryption = described.encryption_configuration().unwrap();
    assert_eq!(encryption.encryption_type().as_str(), "KMS");
    h.assert_no_drift(KIND, &name, &kms).await;
    h.delete(KIND, &replacement, &kms).await;
    assert!(h.described(&name).await.is_none());
}

/// DescribeRepositories fails as a whole when one name is missing; the others are still
/// read, in the order asked.
#[tokio::test]
async fn repositories_are_read_in_batches_around_a_missing_name() {
    let h = Harness::new().await;
    let first = h
        .create(KIND, "first", &json!({"name": unique("first")}))
        .await;
    let second = h
        .create(KIND, "second", &json!({"name": unique("second")}))
        .await;
    let missing = unique("missing");
    let read = h.read(KIND, &[&second.id, &missing, &first.id]).await;
    let ids: Vec<Option<&str>> = read
        .iter()
        .map(|l| l.as_ref().map(|l| l.id.as_str()))
        .collect();
    assert_eq!(
        ids,
        [Some(second.id.as_str()), None, Some(first.id.as_str())]
    );
    h.delete(KIND, &first, &json!({})).await;
    h.delete(KIND, &second, &json!({})).await;
}

#[tokio::test]
async fn a_repository_with_images_is_refused_unless_force_delete() {
    let h = Harness::new().await;
    let name = unique("images");
    let spec = json!({"name": name});
    let repo = h.create(KIND, "images", &spec).await;
    h.push(&name, "v1").await;
    let cx = h.cx("images");
    let refused = h
        .try_delete_with(KIND, &cx, &repo, &spec)
        .await
        .unwrap_err();
    assert_eq!(refused.code.as_deref(), Some("RepositoryNotEmptyException"));
    assert!(
        refused.message.contains("images:"),
        "names the address: {refused}"
    );
    assert!(refused.message.contains("force_delete: true"), "{refused}");
    assert!(h.described(&name).await.is_some(), "nothing deleted");

    let forced = json!({"name": name, "force_delete": true});
    let note = h
        .kind(KIND)
        .delete_note(forced.as_object().unwrap())
        .unwrap();
    assert!(note.contains("every image"), "{note}");
    h.delete(KIND, &repo, &forced).await;
    assert!(h.described(&name).await.is_none());
}

#[tokio::test]
async fn a_repository_changed_behind_innovates_back_drifts_and_an_sdk_one_imports() {
    let h = Harness::new().await;
    let name = unique("drift");
    let spec = json!({"name": name, "lifecycle_policy": keep_last(5)});
    let repo = h.create(KIND, "drift", &spec).await;
    let request = h.ecr.put_image_tag_mutability().repository_name(&name);
    request
        .image_tag_mutability(ImageTagMutability::Mutable)
        .send()
        .await
        .unwrap();
    h.ecr
        .delete_lifecycle_policy()
        .repository_name(&name)
        .send()
        .await
        .unwrap();
    let live = h.read_one(KIND, &name).await;
    let mut drift = h.drift(KIND, &live, &spec);
    drift.sort();
    assert_eq!(drift, ["image_tag_mutability", "lifecycle_policy"]);
    h.update(KIND, "drift", &live, &spec, &spec).await;
    h.assert_no_drift(KIND, &name, &spec).await;
    h.delete(KIND, &repo, &spec).await;

    let made = unique("imported");
    let request = h.ecr.create_repository().repository_name(&made);
    request
        .image_tag_mutability(ImageTagMutability::Mutable)
        .send()
        .await
        .unwrap();
    let imported = h.read_one(KIND, &made).await;
    assert!(imported.identity.is_empty(), "{:?}", imported.identity);
    let blueprint = json!({"name": made, "image_tag_mutability": "MUTABLE", "scan_on_push": false});
    h.assert_no_drift(KIND, &made, &blueprint).await;
    h.update(KIND, "imported", &imported, &blueprint, &blueprint)
        .await;
    let arn = output(&imported, "arn");
    assert!(h
        .tags(arn)
        .await
        .iter()
        .any(|(k, v)| k == "innovate:address" && v == "imported"));
    h.delete(KIND, &imported, &blueprint).await;
}

/// SetRepositoryPolicy naming a principal IAM has not propagated yet answers
/// InvalidParameterException "Invalid repository policy provided"; innovate sends it again.
/// A policy refused for another reason is not sent again.
#[tokio::test]
async fn a_policy_naming_a_fresh_principal_is_sent_again_until_ecr_accepts_it() {
    let not_yet = "Invalid parameter at 'PolicyText' failed to satisfy constraint: \
                   'Invalid repository policy provided'";
    let due = Arc::new(AtomicU32::new(2));
    let left = due.clone();
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        if request.json_target() == "SetRepositoryPolicy" && take(&left) {
            let body = json!({"__type": "InvalidParameterException", "message": not_yet});
            return Response::client_error("application/x-amz-json-1.1", &body.to_string());
        }
        forward()
    });
    let driver = KindDriver::through(&endpoint, BLUEPRINT).await;
    let name = unique("fresh-principal");
    let spec = json!({"name": name, "repository_policy": pull_from("111122223333", "p")});
    let repo = driver.create(KIND, "fresh_principal", &spec).await;
    assert_eq!(
        due.load(Ordering::SeqCst),
        0,
        "refused twice, then sent again"
    );
    driver.assert_no_drift(KIND, &name, &spec).await;
    driver.delete(KIND, &repo, &spec).await;

    let bad = driver
        .try_create(KIND, "bad", &json!({"name": "Backend"}))
        .await;
    let bad = bad.unwrap_err();
    assert!(
        bad.code.is_none() && bad.message.contains("lowercase"),
        "{bad}"
    );
}
