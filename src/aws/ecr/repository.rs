//! `ecr.repository`: a private image repository. Tag mutability, scan on push, the
//! lifecycle policy and the repository policy change in place; the name and the encryption
//! force a new repository. Both policies are compared by meaning, so a reformatted document
//! never causes a call. DescribeRepositories reads up to 100 names at once but fails as a
//! whole when one is missing: then each name is read alone.

use crate::aws::common::unless_absent as unless;
use crate::aws::common::{held_document, observed, outputs, sdk_tags, still_holding};
use crate::aws::iam::{get_each, policy};
use crate::aws::{AwsContext, Backoff, Cx};
use crate::kinds::wait::{until, Status};
use crate::kinds::{
    parse_spec, retry_when, AttrType, Attrs, AwsItem, AwsKind, Change, KindError, KindResult, Live,
    Schema, TagApi, Tagging, Tags, Tier,
};
use crate::send;
use async_trait::async_trait;
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability,
    Repository, Tag,
};
use aws_sdk_ecr::Client;
use serde_json::Value;

crate::spec! {
    pub(super) struct Spec with tags {
        /// Unique in the registry; checked against ECR's naming rules before any call.
        name: String = required(AttrType::String).force_new(),
        image_tag_mutability: String = optional(AttrType::String)
            .default("\"IMMUTABLE\"")
            .one_of(&["MUTABLE", "IMMUTABLE"]),
        scan_on_push: bool = optional(AttrType::Bool).default("true"),
        encryption_type: String = optional(AttrType::String)
            .default("\"AES256\"")
            .force_new()
            .one_of(&["AES256", "KMS"]),
        /// The KMS key for `KMS`; none: ECR's AWS-managed key (aws/ecr).
        kms_key_arn: Option<String> = optional(AttrType::String).force_new(),
        /// The lifecycle policy document (`rules`); none: images are kept.
        lifecycle_policy: Option<Value> = optional(AttrType::Json),
        /// Who else may pull or push (other accounts); none: the registry's own only.
        repository_policy: Option<Value> = optional(AttrType::Json),
        /// Let a delete take the repository's images with it.
        force_delete: bool = optional(AttrType::Bool).default("false"),
    }
}

const SCHEMA: Schema = Schema::new("ecr.repository", Tier::Storage, Spec::ATTRS)
    .outputs(&["arn", "repository_url", "registry_id"])
    .priced(crate::cost::models::ecr_repository);

const DESCRIBE: &str = "ecr:DescribeRepositories";
const NOT_FOUND: &str = "RepositoryNotFoundException";
/// DescribeRepositories takes at most this many names.
const BATCH: usize = 100;

/// A repository with its two policies and its tags.
pub(super) struct Repo {
    repo: Repository,
    lifecycle: Option<String>,
    policy: Option<String>,
    tags: Tags,
}

#[async_trait]
impl AwsItem for Repo {
    type Client = AwsContext;
    const DESCRIBE: &'static str = DESCRIBE;
    const NOT_FOUND: &'static [&'static str] = &[NOT_FOUND];

    async fn describe(aws: &AwsContext, names: &[String]) -> KindResult<Vec<Repo>> {
        let ecr = aws.ecr().await;
        let mut found = Vec::new();
        for batch in names.chunks(BATCH) {
            found.extend(described(ecr, batch).await?);
        }
        get_each(found.into_iter().map(|r| completed(ecr, r)).collect()).await
    }

    fn tags(&self) -> Option<Tags> {
        Some(self.tags.clone())
    }

    async fn tagging(&self, aws: &AwsContext, _name: &str) -> KindResult<Option<Tagging>> {
        let arn = self.repo.repository_arn().unwrap_or_default();
        Ok(Some(Tagging::new(RepoTags(aws.ecr().await.clone()), arn)))
    }
}

pub(super) struct RepositoryKind;

#[async_trait]
impl AwsKind for RepositoryKind {
    type Spec = Spec;
    type Item = Repo;
    const SCHEMA: &'static Schema = &SCHEMA;

    /// CreateRepository carries the tags, so a repository left by a lost answer carries
    /// this create's owner tags and the engine adopts it by name.
    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        let local = |message: String| KindError::local(SCHEMA.name, message);
        if let Some(problem) = name_problem(&spec.name) {
            return Err(local(format!("repository name `{}` {problem}", spec.name)));
        }
        if spec.kms_key_arn.is_some() && spec.encryption_type != "KMS" {
            return Err(local("kms_key_arn needs encryption_type: KMS".into()));
        }
        let call = "ecr:CreateRepository";
        let encryption = EncryptionConfiguration::builder()
            .encryption_type(EncryptionType::from(spec.encryption_type.as_str()))
            .set_kms_key(spec.kms_key_arn.clone())
            .build()
            .map_err(|e| local(e.to_string()))?;
        let ecr = cx.aws.ecr().await;
        let request = ecr
            .create_repository()
            .repository_name(&spec.name)
            .image_tag_mutability(ImageTagMutability::from(spec.image_tag_mutability.as_str()))
            .image_scanning_configuration(scanning(spec.scan_on_push))
            .encryption_configuration(encryption);
        send!(call, request.set_tags(ecr_tags(call, tags)?))?;
        put_policies(ecr, spec, None, None).await?;
        Ok(spec.name.clone())
    }

    fn natural_id(&self, spec: &Spec) -> Option<String> {
        Some(spec.name.clone())
    }

    fn conflict_codes(&self) -> &'static [&'static str] {
        &["RepositoryAlreadyExistsException"]
    }

    fn live(&self, _: &AwsContext, repo: &Repo) -> Option<Live> {
        Some(to_live(repo))
    }

    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        let (spec, current) = (change.desired, &change.current);
        let ecr = cx.aws.ecr().await;
        let name = spec.name.as_str();
        let mutability = current
            .repo
            .image_tag_mutability()
            .map(ImageTagMutability::as_str);
        if mutability != Some(spec.image_tag_mutability.as_str()) {
            let wanted = ImageTagMutability::from(spec.image_tag_mutability.as_str());
            let request = ecr.put_image_tag_mutability().repository_name(name);
            send!(
                "ecr:PutImageTagMutability",
                request.image_tag_mutability(wanted)
            )?;
        }
        if scan_on_push(&current.repo) != spec.scan_on_push {
            let request = ecr.put_image_scanning_configuration().repository_name(name);
            let request = request.image_scanning_configuration(scanning(spec.scan_on_push));
            send!("ecr:PutImageScanningConfiguration", request)?;
        }
        let held = (current.lifecycle.as_deref(), current.policy.as_deref());
        put_policies(ecr, spec, held.0, held.1).await
    }

    /// RepositoryNotEmptyException unless `force_delete`; then waits until ECR no longer
    /// describes it (terraform waits the same way).
    async fn delete(&self, cx: &Cx<'_>, live: &Live, prior: &Attrs) -> KindResult<()> {
        let ecr = cx.aws.ecr().await;
        let name = live.id.as_str();
        let request = ecr.delete_repository().repository_name(name);
        match send!("ecr:DeleteRepository", request.force(force_delete(prior))) {
            Err(err) if err.has_code_in(&["RepositoryNotEmptyException"]) => {
                let what = format!("repository {name} holds images");
                return Err(still_holding(&cx.address, err, &what, "force_delete"));
            }
            other => other?,
        };
        until(cx, DESCRIBE, "deleted", Backoff::CONSISTENCY, || async {
            Ok(
                match described(ecr, &[name.to_string()]).await?.is_empty() {
                    true => Status::Ready(()),
                    false => Status::Pending("still described".into()),
                },
            )
        })
        .await
    }

    fn delete_note(&self, prior: &Attrs) -> Option<String> {
        force_delete(prior)
            .then(|| "force_delete: every image in the repository is deleted with it".into())
    }
}

/// ECR's repository naming rules: `segment(/segment)*`, each of lowercase letters and
/// digits joined by single `.`, `_` or `-`, 2-256 characters in all.
pub(crate) fn name_problem(name: &str) -> Option<&'static str> {
    let alnum = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    let segment_ok = |segment: &str| segment.split(['.', '_', '-']).all(alnum);
    if !(2..=256).contains(&name.len()) {
        Some("must be 2 to 256 characters long")
    } else if !name.split('/').all(segment_ok) {
        Some("must be lowercase letters and digits joined by single `.`, `_` or `-`, in `/`-separated parts")
    } else {
        None
    }
}

fn force_delete(prior: &Attrs) -> bool {
    parse_spec::<Spec>(&SCHEMA, prior).is_ok_and(|spec| spec.force_delete)
}

fn scanning(on: bool) -> ImageScanningConfiguration {
    ImageScanningConfiguration::builder()
        .scan_on_push(on)
        .build()
}

fn scan_on_push(repo: &Repository) -> bool {
    let config = repo.image_scanning_configuration();
    config.is_some_and(ImageScanningConfiguration::scan_on_push)
}

fn ecr_tags(call: &str, tags: &Tags) -> KindResult<Option<Vec<Tag>>> {
    sdk_tags(call, tags, |k, v| Tag::builder().key(k).value(v).build())
}

/// Puts the lifecycle and repository policies where they differ from what ECR holds
/// (`None`: not set), and deletes one the blueprint no longer has.
async fn put_policies(
    ecr: &Client,
    spec: &Spec,
    lifecycle: Option<&str>,
    repository: Option<&str>,
) -> KindResult<()> {
    let name = spec.name.as_str();
    match change(&spec.lifecycle_policy, lifecycle)? {
        Some(Some(text)) => {
            let request = ecr.put_lifecycle_policy().repository_name(name);
            send!(
                "ecr:PutLifecyclePolicy",
                request.lifecycle_policy_text(text)
            )?;
        }
        Some(None) => {
            let request = ecr.delete_lifecycle_policy().repository_name(name);
            send!("ecr:DeleteLifecyclePolicy", request)?;
        }
        None => {}
    }
    match change(&spec.repository_policy, repository)? {
        Some(Some(text)) => set_policy(ecr, name, &text).await,
        Some(None) => {
            let request = ecr.delete_repository_policy().repository_name(name);
            send!("ecr:DeleteRepositoryPolicy", request).map(drop)
        }
        None => Ok(()),
    }
}

/// What to do about a policy: `None` nothing, `Some(Some(text))` put it, `Some(None)`
/// delete the one ECR holds.
fn change(wanted: &Option<Value>, held: Option<&str>) -> KindResult<Option<Option<String>>> {
    let local = |message: String| KindError::local(SCHEMA.name, message);
    let wanted = wanted.as_ref().map(|p| policy::document("policy", p));
    let wanted = wanted.transpose().map_err(local)?;
    let held = held.map(policy::from_aws);
    Ok(match (wanted, held) {
        (Some(wanted), Some(Ok(held))) if policy::same(&wanted, &held) => None,
        (Some(wanted), _) => Some(Some(policy::render(&wanted))),
        (None, Some(_)) => Some(None),
        (None, None) => None,
    })
}

/// A policy naming a principal IAM has not propagated yet is refused with
/// InvalidParameterException "Invalid repository policy provided" for a while
/// (terraform-provider-aws retries it the same way).
async fn set_policy(ecr: &Client, name: &str, text: &str) -> KindResult<()> {
    let not_yet = |err: &KindError| {
        err.has_code_in(&["InvalidParameterException"])
            && err.message.contains("Invalid repository policy provided")
    };
    retry_when(not_yet, Backoff::CONSISTENCY, || async {
        let request = ecr.set_repository_policy().repository_name(name);
        send!("ecr:SetRepositoryPolicy", request.policy_text(text)).map(drop)
    })
    .await
}

/// The repositories named `names` that exist. One missing name fails DescribeRepositories
/// as a whole: then each is described alone.
async fn described(ecr: &Client, names: &[String]) -> KindResult<Vec<Repository>> {
    match describe_call(ecr, names).await {
        Err(err) if err.has_code_in(&[NOT_FOUND]) && names.len() > 1 => {
            let alone = names.iter().map(|name| async move {
                let found = unless(
                    NOT_FOUND,
                    describe_call(ecr, std::slice::from_ref(name)).await,
                );
                Ok(found?.and_then(|found| found.into_iter().next()))
            });
            get_each(alone.collect()).await
        }
        answer => Ok(unless(NOT_FOUND, answer)?.unwrap_or_default()),
    }
}

async fn describe_call(ecr: &Client, names: &[String]) -> KindResult<Vec<Repository>> {
    let request = ecr
        .describe_repositories()
        .set_repository_names(Some(names.to_vec()));
    Ok(send!(DESCRIBE, request)?.repositories.unwrap_or_default())
}

/// `repo` with its policies and tags; `None` if it went meanwhile.
async fn completed(ecr: &Client, repo: Repository) -> KindResult<Option<Repo>> {
    let name = repo.repository_name().unwrap_or_default();
    let arn = repo.repository_arn().unwrap_or_default();
    let lifecycle = async {
        let got = send!(
            "ecr:GetLifecyclePolicy",
            ecr.get_lifecycle_policy().repository_name(name)
        );
        let got = unless("LifecyclePolicyNotFoundException", got)?;
        Ok(got.and_then(|got| got.lifecycle_policy_text))
    };
    let policy = async {
        let got = send!(
            "ecr:GetRepositoryPolicy",
            ecr.get_repository_policy().repository_name(name)
        );
        let got = unless("RepositoryPolicyNotFoundException", got)?;
        Ok(got.and_then(|got| got.policy_text))
    };
    let tagged = RepoTags(ecr.clone());
    let read = tokio::try_join!(lifecycle, policy, tagged.list(arn));
    let Some((lifecycle, policy, tags)) = unless(NOT_FOUND, read)? else {
        return Ok(None);
    };
    Ok(Some(Repo {
        repo,
        lifecycle,
        policy,
        tags,
    }))
}

/// TagResource / UntagResource / ListTagsForResource, by repository ARN.
struct RepoTags(Client);

#[async_trait]
impl TagApi for RepoTags {
    async fn tag(&self, arn: &str, tags: &Tags) -> KindResult<()> {
        let call = "ecr:TagResource";
        let request = self.0.tag_resource().resource_arn(arn);
        send!(call, request.set_tags(ecr_tags(call, tags)?)).map(drop)
    }

    async fn untag(&self, arn: &str, keys: &[String]) -> KindResult<()> {
        let request = self.0.untag_resource().resource_arn(arn);
        send!(
            "ecr:UntagResource",
            request.set_tag_keys(Some(keys.to_vec()))
        )
        .map(drop)
    }

    async fn list(&self, arn: &str) -> KindResult<Tags> {
        let request = self.0.list_tags_for_resource().resource_arn(arn);
        let listed = send!("ecr:ListTagsForResource", request)?;
        let pairs = listed.tags().iter();
        Ok(pairs
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect())
    }
}

fn to_live(repo: &Repo) -> Live {
    let r = &repo.repo;
    let name = r.repository_name().unwrap_or_default().to_string();
    let outputs = outputs([
        ("arn", r.repository_arn().map(str::to_string)),
        ("repository_url", r.repository_uri().map(str::to_string)),
        ("registry_id", r.registry_id().map(str::to_string)),
    ]);
    Live::observed(name, outputs, observed_attrs(repo))
}

/// What ECR reports of the blueprint's attributes (the layer adds `tags`); `force_delete`
/// is innovate's own.
fn observed_attrs(repo: &Repo) -> Attrs {
    let r = &repo.repo;
    let encryption = r.encryption_configuration();
    let mutability = r.image_tag_mutability().map(ImageTagMutability::as_str);
    let mut attrs = observed([
        ("name", r.repository_name().unwrap_or_default().into()),
        (
            "image_tag_mutability",
            mutability.map_or(Value::Null, Value::from),
        ),
        ("scan_on_push", scan_on_push(r).into()),
        ("lifecycle_policy", held_document(repo.lifecycle.as_deref())),
        ("repository_policy", held_document(repo.policy.as_deref())),
    ]);
    if let Some(encryption) = encryption {
        let kind = encryption.encryption_type().as_str();
        attrs.insert("encryption_type".into(), kind.into());
        if let Some(key) = encryption.kms_key().filter(|_| kind == "KMS") {
            attrs.insert("kms_key_arn".into(), key.into());
        }
    }
    attrs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repository_names_follow_ecr_naming_rules() {
        for good in ["backend", "team/backend", "a1/b_2.c-3", "ab"] {
            assert_eq!(name_problem(good), None, "{good}");
        }
        for bad in [
            "a",
            "Backend",
            "team//backend",
            "-backend",
            "back--end",
            "backend/",
            "a b",
        ] {
            assert!(name_problem(bad).is_some(), "{bad} passed");
        }
        assert!(name_problem(&"a".repeat(257)).is_some());
    }

    #[test]
    fn a_policy_equal_in_meaning_needs_no_call_and_a_dropped_one_is_deleted() {
        let wanted = json!({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any",
            "countType": "imageCountMoreThan", "countNumber": 30}, "action": {"type": "expire"}}]});
        let held = r#"{"rules":[{"action":{"type":"expire"},"selection":{"countNumber":30,"countType":"imageCountMoreThan","tagStatus":"any"},"rulePriority":1}]}"#;
        assert_eq!(change(&Some(wanted.clone()), Some(held)).unwrap(), None);
        let put = change(&Some(wanted), None).unwrap();
        assert!(put.is_some_and(|text| text.is_some()));
        assert_eq!(change(&None, Some(held)).unwrap(), Some(None));
        assert_eq!(change(&None, None).unwrap(), None);
        assert!(change(&Some(json!(5)), None).is_err());
    }

    #[test]
    fn force_delete_comes_from_state() {
        let kind = RepositoryKind;
        assert_eq!(kind.delete_note(&Attrs::new()), None);
        let forced = json!({"name": "backend", "force_delete": true});
        let note = kind.delete_note(forced.as_object().unwrap()).unwrap();
        assert!(note.contains("every image"), "{note}");
    }
}
