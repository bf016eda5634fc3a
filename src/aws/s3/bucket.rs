//! `s3.bucket`: a general-purpose bucket whose versioning, default encryption, public
//! access block, object ownership, lifecycle rules, policy and tags change in place; only
//! the name forces a new bucket. Each part is its own S3 configuration with its own Get and
//! Put call (and its own "not set" code); a read makes the seven Gets at once.

use super::lifecycle::{self, RuleSpec};
use super::{built, put_tags, tags_of, BucketTags, NOT_FOUND};
use crate::aws::common::unless_absent as unless;
use crate::aws::common::{held_document, observed, outputs, still_holding};
use crate::aws::iam::{get_each, policy};
use crate::aws::{partition, retry_while, AwsContext, Backoff, Cx};
use crate::kinds::retry_when;
use crate::kinds::wait::{until, Status};
use crate::kinds::{
    gone, parse_spec, AttrType, Attrs, AwsItem, AwsKind, Change, KindError, KindResult, Live,
    Schema, Tagging, Tags, Tier,
};
use crate::send;
use async_trait::async_trait;
use aws_sdk_s3::types::{self as s3t, BucketVersioningStatus as Versioning};
use aws_sdk_s3::Client;
use serde_json::Value;

const ALGORITHMS: &[&str] = &["AES256", "aws:kms", "aws:kms:dsse"];
const OWNERSHIPS: &[&str] = &[
    "BucketOwnerEnforced",
    "BucketOwnerPreferred",
    "ObjectWriter",
];
/// What S3 gives every new bucket since April 2023.
const ALL_BLOCKED: &str = r#"{"block_public_acls": true, "ignore_public_acls": true,
    "block_public_policy": true, "restrict_public_buckets": true}"#;

crate::spec! {
    #[derive(PartialEq, serde::Serialize)]
    pub(super) struct PublicAccess {
        block_public_acls: bool = required(AttrType::Bool),
        ignore_public_acls: bool = required(AttrType::Bool),
        block_public_policy: bool = required(AttrType::Bool),
        restrict_public_buckets: bool = required(AttrType::Bool),
    }
}

crate::spec! {
    pub(super) struct Spec with tags {
        /// Global across AWS; checked against S3's naming rules before any call.
        name: String = required(AttrType::String).force_new(),
        /// Once enabled, S3 can only suspend it: `false` then means Suspended.
        versioning: bool = optional(AttrType::Bool).default("false"),
        /// Default encryption: SSE-S3 (AES256, S3's own default) or SSE-KMS.
        encryption: String = optional(AttrType::String).default("\"AES256\"").one_of(ALGORITHMS),
        /// The key for `aws:kms`; none: S3's AWS-managed key (aws/s3).
        kms_key_arn: Option<String> = optional(AttrType::String),
        /// An S3 Bucket Key cuts the KMS requests (and their cost) of `aws:kms`.
        bucket_key: bool = optional(AttrType::Bool).default("true"),
        block_public_access: PublicAccess = optional(AttrType::Object(PublicAccess::ATTRS))
            .default(ALL_BLOCKED),
        object_ownership: String = optional(AttrType::String)
            .default("\"BucketOwnerEnforced\"")
            .one_of(OWNERSHIPS),
        lifecycle_rules: Vec<RuleSpec> = optional(lifecycle::RULES).default("[]").unordered(),
        /// The bucket policy; none: the bucket has none.
        policy: Option<Value> = optional(AttrType::Json),
        /// Lets a delete empty the bucket (every object version) first.
        force_destroy: bool = optional(AttrType::Bool).default("false"),
    }
}

const SCHEMA: Schema = Schema::new("s3.bucket", Tier::Storage, Spec::ATTRS)
    .outputs(&["arn", "name", "regional_domain_name"])
    .priced(crate::cost::models::s3_bucket);

const NOT_EMPTY: &str = "BucketNotEmpty";

/// Default encryption as S3 reports it.
#[derive(Debug, PartialEq)]
struct Encryption {
    algorithm: String,
    kms_key_arn: Option<String>,
    bucket_key: bool,
}

/// A bucket as its configurations report it.
pub(super) struct Bucket {
    name: String,
    region: String,
    versioning: bool,
    encryption: Option<Encryption>,
    access: PublicAccess,
    ownership: String,
    lifecycle: Vec<RuleSpec>,
    policy: Option<String>,
    tags: Tags,
}

#[async_trait]
impl AwsItem for Bucket {
    type Client = AwsContext;
    const DESCRIBE: &'static str = "s3:GetBucketVersioning";
    const NOT_FOUND: &'static [&'static str] = &[NOT_FOUND];

    /// S3 has no batch read: each bucket's configurations, a few buckets at once.
    async fn describe(aws: &AwsContext, names: &[String]) -> KindResult<Vec<Bucket>> {
        let s3 = aws.s3().await;
        get_each(names.iter().map(|n| read_bucket(s3, n)).collect()).await
    }

    fn tags(&self) -> Option<Tags> {
        Some(self.tags.clone())
    }

    async fn tagging(&self, aws: &AwsContext, name: &str) -> KindResult<Option<Tagging>> {
        Ok(Some(Tagging::new(BucketTags(aws.s3().await.clone()), name)))
    }
}

pub(super) struct BucketKind;

#[async_trait]
impl AwsKind for BucketKind {
    type Spec = Spec;
    type Item = Bucket;
    const SCHEMA: &'static Schema = &SCHEMA;

    /// CreateBucket takes no tags: the owner tags go on first, so that a bucket left by a
    /// lost answer can be told for ours (see `conflict_codes`).
    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        if let Some(problem) = name_problem(&spec.name) {
            let message = format!("bucket name `{}` {problem}", spec.name);
            return Err(KindError::local(SCHEMA.name, message));
        }
        let (s3, name) = (cx.aws.s3().await, spec.name.as_str());
        // us-east-1 is the one region CreateBucket must not be told.
        let location = Some(region(s3)).filter(|r| *r != "us-east-1").map(|r| {
            let constraint = s3t::BucketLocationConstraint::from(r);
            s3t::CreateBucketConfiguration::builder()
                .location_constraint(constraint)
                .build()
        });
        let ownership = s3t::ObjectOwnership::from(spec.object_ownership.as_str());
        let request = s3.create_bucket().bucket(name).object_ownership(ownership);
        let request = request.set_create_bucket_configuration(location);
        send!("s3:CreateBucket", request).map_err(|mut err| {
            if err.has_code_in(self.conflict_codes()) {
                // Said when the engine cannot adopt it: it carries no owner tags of ours.
                err.message += " (innovate adopts it only when it carries this create's \
                    owner tags; import it to manage it)";
            }
            err
        })?;
        again(|| put_tags(s3, name, tags)).await?;
        let current = retry_while(&[NOT_FOUND], Backoff::CONSISTENCY, || async {
            let read = read_bucket(s3, name).await?;
            read.ok_or_else(|| gone(Bucket::DESCRIBE, &[NOT_FOUND], name))
        })
        .await?;
        converge(s3, spec, &current).await?;
        Ok(spec.name.clone())
    }

    fn natural_id(&self, spec: &Spec) -> Option<String> {
        Some(spec.name.clone())
    }

    /// Ours after a lost CreateBucket answer when it carries this create's owner tags (the
    /// engine checks); BucketAlreadyExists is someone else's and fails the create.
    fn conflict_codes(&self) -> &'static [&'static str] {
        &["BucketAlreadyOwnedByYou"]
    }

    fn live(&self, _: &AwsContext, bucket: &Bucket) -> Option<Live> {
        Some(to_live(bucket))
    }

    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        converge(cx.aws.s3().await, change.desired, change.current).await
    }

    async fn delete(&self, cx: &Cx<'_>, live: &Live, prior: &Attrs) -> KindResult<()> {
        let (s3, name) = (cx.aws.s3().await, live.id.as_str());
        let delete = || async { send!("s3:DeleteBucket", s3.delete_bucket().bucket(name)) };
        match delete().await {
            Err(err) if err.has_code_in(&[NOT_EMPTY]) && force_destroy(prior) => {
                cx.phase("emptying the bucket");
                // Objects written meanwhile make it refuse again: empty it again.
                retry_while(&[NOT_EMPTY], Backoff::CONSISTENCY, || async {
                    empty(s3, name).await?;
                    delete().await
                })
                .await?
            }
            Err(err) if err.has_code_in(&[NOT_EMPTY]) => {
                let what = format!("bucket {name} holds object versions");
                return Err(still_holding(&cx.address, err, &what, "force_destroy"));
            }
            other => other?,
        };
        // A deleted bucket stays visible for a moment (terraform waits the same way).
        until(
            cx,
            "s3:HeadBucket",
            "deleted",
            Backoff::CONSISTENCY,
            || async {
                match send!("s3:HeadBucket", s3.head_bucket().bucket(name)) {
                    Err(err) if err.has_code_in(&["NotFound", NOT_FOUND]) => Ok(Status::Ready(())),
                    Err(err) => Err(err),
                    Ok(_) => Ok(Status::Pending("still visible".into())),
                }
            },
        )
        .await
    }

    fn delete_note(&self, prior: &Attrs) -> Option<String> {
        Some(match force_destroy(prior) {
            true => "force_destroy: every object version and delete marker goes first".into(),
            false => "S3 refuses to delete a bucket holding objects (force_destroy: false)".into(),
        })
    }
}

/// S3's naming rules for general-purpose buckets: what is wrong with `name`, if anything.
pub(crate) fn name_problem(name: &str) -> Option<&'static str> {
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let bytes = name.as_bytes();
    let prefixes = ["xn--", "sthree-", "amzn-s3-demo-"];
    let suffixes = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];
    if !(3..=63).contains(&bytes.len()) {
        Some("must be 3 to 63 characters long")
    } else if !bytes.iter().all(|c| alnum(c) || *c == b'.' || *c == b'-') {
        Some("may hold only lowercase letters, digits, dots and hyphens")
    } else if !bytes.first().is_some_and(alnum) || !bytes.last().is_some_and(alnum) {
        Some("must begin and end with a letter or digit")
    } else if name.contains("..") {
        Some("must not hold two dots in a row")
    } else if name.parse::<std::net::Ipv4Addr>().is_ok() {
        Some("must not be an IP address")
    } else if prefixes.iter().any(|p| name.starts_with(p)) {
        Some("starts with a prefix S3 reserves (xn--, sthree-, amzn-s3-demo-)")
    } else if suffixes.iter().any(|s| name.ends_with(s)) {
        Some("ends with a suffix S3 reserves (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)")
    } else {
        None
    }
}

fn region(s3: &Client) -> &str {
    s3.config().region().map_or("us-east-1", |r| r.as_ref())
}

fn force_destroy(prior: &Attrs) -> bool {
    parse_spec::<Spec>(&SCHEMA, prior).is_ok_and(|spec| spec.force_destroy)
}

/// Sends `op` again while a bucket created a moment ago answers NoSuchBucket.
async fn again<F, Fut>(op: F) -> KindResult<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = KindResult<()>>,
{
    retry_while(&[NOT_FOUND], Backoff::CONSISTENCY, op).await
}

/// Puts each configuration that differs from `current`; public access first, so that a
/// policy the old block would refuse goes on after it is lifted.
async fn converge(s3: &Client, spec: &Spec, current: &Bucket) -> KindResult<()> {
    let name = spec.name.as_str();
    let wanted = spec.policy.as_ref().map(|p| policy::document("policy", p));
    let wanted = wanted
        .transpose()
        .map_err(|e| KindError::local(SCHEMA.name, e))?;
    if current.access != spec.block_public_access {
        again(|| put_access(s3, name, &spec.block_public_access)).await?;
    }
    if current.ownership != spec.object_ownership {
        again(|| put_ownership(s3, name, &spec.object_ownership)).await?;
    }
    if encryption_differs(spec, current.encryption.as_ref()) {
        again(|| put_encryption(s3, name, spec)).await?;
    }
    if current.versioning != spec.versioning {
        again(|| put_versioning(s3, name, spec.versioning)).await?;
    }
    if current.lifecycle != lifecycle::sorted(spec.lifecycle_rules.clone()) {
        again(|| lifecycle::put(s3, name, &spec.lifecycle_rules)).await?;
    }
    let held = current.policy.as_deref().map(policy::from_aws);
    match (&wanted, held) {
        (Some(wanted), Some(Ok(held))) if policy::same(wanted, &held) => Ok(()),
        (Some(wanted), _) => {
            let text = policy::render(wanted);
            let request = || s3.put_bucket_policy().bucket(name).policy(&text);
            let put = || async { send!("s3:PutBucketPolicy", request()).map(drop) };
            retry_when(policy_not_yet, Backoff::CONSISTENCY, put).await
        }
        (None, Some(_)) => {
            let request = || s3.delete_bucket_policy().bucket(name);
            again(|| async { send!("s3:DeleteBucketPolicy", request()).map(drop) }).await
        }
        (None, None) => Ok(()),
    }
}

/// A new bucket (NoSuchBucket), or a policy naming a principal IAM has not propagated yet:
/// MalformedPolicy "Invalid principal in policy" (terraform-provider-aws retries both).
fn policy_not_yet(err: &KindError) -> bool {
    let principal = err.message.contains("Invalid principal");
    err.has_code_in(&[NOT_FOUND]) || (err.has_code_in(&["MalformedPolicy"]) && principal)
}

/// Whether the default encryption differs; the key (when given) and the Bucket Key count
/// only for SSE-KMS.
fn encryption_differs(spec: &Spec, held: Option<&Encryption>) -> bool {
    let Some(held) = held.filter(|held| held.algorithm == spec.encryption) else {
        return true;
    };
    let key_differs = spec.kms_key_arn.is_some() && held.kms_key_arn != spec.kms_key_arn;
    is_kms(&spec.encryption) && (key_differs || held.bucket_key != spec.bucket_key)
}

fn is_kms(algorithm: &str) -> bool {
    algorithm.starts_with("aws:kms")
}

async fn put_access(s3: &Client, name: &str, access: &PublicAccess) -> KindResult<()> {
    let config = s3t::PublicAccessBlockConfiguration::builder()
        .block_public_acls(access.block_public_acls)
        .ignore_public_acls(access.ignore_public_acls)
        .block_public_policy(access.block_public_policy)
        .restrict_public_buckets(access.restrict_public_buckets);
    let request = s3.put_public_access_block().bucket(name);
    let request = request.public_access_block_configuration(config.build());
    send!("s3:PutPublicAccessBlock", request).map(drop)
}

/// Once enabled, versioning can only be suspended (`false`).
async fn put_versioning(s3: &Client, name: &str, on: bool) -> KindResult<()> {
    let status = if on {
        Versioning::Enabled
    } else {
        Versioning::Suspended
    };
    let config = s3t::VersioningConfiguration::builder().status(status);
    let request = s3.put_bucket_versioning().bucket(name);
    let request = request.versioning_configuration(config.build());
    send!("s3:PutBucketVersioning", request).map(drop)
}

async fn put_ownership(s3: &Client, name: &str, ownership: &str) -> KindResult<()> {
    let call = "s3:PutBucketOwnershipControls";
    let rule = s3t::OwnershipControlsRule::builder()
        .object_ownership(s3t::ObjectOwnership::from(ownership));
    let controls = s3t::OwnershipControls::builder().rules(built(call, rule.build())?);
    let request = s3.put_bucket_ownership_controls().bucket(name);
    let request = request.ownership_controls(built(call, controls.build())?);
    send!(call, request).map(drop)
}

async fn put_encryption(s3: &Client, name: &str, spec: &Spec) -> KindResult<()> {
    let call = "s3:PutBucketEncryption";
    let kms = is_kms(&spec.encryption);
    let by_default = s3t::ServerSideEncryptionByDefault::builder()
        .sse_algorithm(s3t::ServerSideEncryption::from(spec.encryption.as_str()))
        .set_kms_master_key_id(spec.kms_key_arn.clone().filter(|_| kms));
    let rule = s3t::ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(built(call, by_default.build())?)
        .bucket_key_enabled(kms && spec.bucket_key);
    let config = s3t::ServerSideEncryptionConfiguration::builder().rules(rule.build());
    let request = s3.put_bucket_encryption().bucket(name);
    let config = built(call, config.build())?;
    send!(call, request.server_side_encryption_configuration(config)).map(drop)
}

/// Deletes every object version and delete marker, a listing page (at most 1,000) a
/// DeleteObjects call. What is deleted leaves the listing: each page is the first one.
async fn empty(s3: &Client, name: &str) -> KindResult<()> {
    let call = "s3:DeleteObjects";
    loop {
        let listing = s3.list_object_versions().bucket(name).max_keys(1000);
        let page = send!("s3:ListObjectVersions", listing)?;
        let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
        let markers = page.delete_markers().iter();
        let markers = markers.map(|m| (m.key(), m.version_id()));
        let objects = versions.chain(markers).filter_map(|(key, version)| {
            let id = s3t::ObjectIdentifier::builder().key(key?);
            Some(id.set_version_id(version.map(str::to_string)).build())
        });
        let objects = built(call, objects.collect::<Result<Vec<_>, _>>())?;
        if objects.is_empty() {
            return Ok(());
        }
        let delete = s3t::Delete::builder().set_objects(Some(objects));
        let delete = built(call, delete.quiet(true).build())?;
        let deleted = send!(call, s3.delete_objects().bucket(name).delete(delete))?;
        // An object S3 will not delete (locked, denied) would come back on every page.
        if let Some(failed) = deleted.errors().first() {
            let key = failed.key().unwrap_or_default();
            let message = format!("{name}/{key}: {}", failed.message().unwrap_or_default());
            let code = failed.code().map(str::to_string);
            return Err(KindError::new(call, code, message));
        }
    }
}

/// Bucket `name` with every configuration; `None` when S3 does not know it.
async fn read_bucket(s3: &Client, name: &str) -> KindResult<Option<Bucket>> {
    let read = tokio::try_join!(
        async { send!(Bucket::DESCRIBE, s3.get_bucket_versioning().bucket(name)) },
        encryption_of(s3, name),
        access_of(s3, name),
        ownership_of(s3, name),
        lifecycle::of(s3, name),
        async {
            let got = send!("s3:GetBucketPolicy", s3.get_bucket_policy().bucket(name));
            Ok(unless("NoSuchBucketPolicy", got)?.and_then(|got| got.policy))
        },
        tags_of(s3, name),
    );
    let Some((versioning, encryption, access, ownership, lifecycle, policy, tags)) =
        unless(NOT_FOUND, read)?
    else {
        return Ok(None);
    };
    Ok(Some(Bucket {
        name: name.to_string(),
        region: region(s3).to_string(),
        versioning: versioning.status() == Some(&Versioning::Enabled),
        encryption,
        access,
        ownership,
        lifecycle,
        policy,
        tags,
    }))
}

async fn encryption_of(s3: &Client, name: &str) -> KindResult<Option<Encryption>> {
    let request = s3.get_bucket_encryption().bucket(name);
    let got = send!("s3:GetBucketEncryption", request);
    let got = unless("ServerSideEncryptionConfigurationNotFoundError", got)?;
    let config = got.and_then(|got| got.server_side_encryption_configuration);
    let rule = config.and_then(|config| config.rules.into_iter().next());
    Ok(rule.and_then(|rule| {
        let by_default = rule.apply_server_side_encryption_by_default()?;
        Some(Encryption {
            algorithm: by_default.sse_algorithm().as_str().to_string(),
            kms_key_arn: by_default.kms_master_key_id().map(str::to_string),
            bucket_key: rule.bucket_key_enabled().unwrap_or(false),
        })
    }))
}

/// No public access block at all: nothing is blocked.
async fn access_of(s3: &Client, name: &str) -> KindResult<PublicAccess> {
    let request = s3.get_public_access_block().bucket(name);
    let got = send!("s3:GetPublicAccessBlock", request);
    let got = unless("NoSuchPublicAccessBlockConfiguration", got)?;
    let config = got.and_then(|got| got.public_access_block_configuration);
    let config = config.unwrap_or_else(|| s3t::PublicAccessBlockConfiguration::builder().build());
    Ok(PublicAccess {
        block_public_acls: config.block_public_acls().unwrap_or(false),
        ignore_public_acls: config.ignore_public_acls().unwrap_or(false),
        block_public_policy: config.block_public_policy().unwrap_or(false),
        restrict_public_buckets: config.restrict_public_buckets().unwrap_or(false),
    })
}

/// No ownership controls: object writers own their objects (ObjectWriter).
async fn ownership_of(s3: &Client, name: &str) -> KindResult<String> {
    let request = s3.get_bucket_ownership_controls().bucket(name);
    let got = send!("s3:GetBucketOwnershipControls", request);
    let got = unless("OwnershipControlsNotFoundError", got)?;
    let rules = got.as_ref().and_then(|got| got.ownership_controls());
    let rule = rules.and_then(|controls| controls.rules().first());
    let ownership = rule.map_or("ObjectWriter", |rule| rule.object_ownership().as_str());
    Ok(ownership.to_string())
}

fn to_live(bucket: &Bucket) -> Live {
    let (name, region) = (bucket.name.as_str(), bucket.region.as_str());
    let domain = ["amazonaws.com", "amazonaws.com.cn"][region.starts_with("cn-") as usize];
    let arn = format!("arn:{}:s3:::{name}", partition(region));
    let domain_name = format!("{name}.s3.{region}.{domain}");
    let outputs = outputs([
        ("arn", Some(arn)),
        ("name", Some(name.to_string())),
        ("regional_domain_name", Some(domain_name)),
    ]);
    Live::observed(name.to_string(), outputs, observed_attrs(bucket))
}

/// What S3 reports of the blueprint's attributes (the layer adds `tags`): the key and the
/// Bucket Key for SSE-KMS only; `force_destroy` is innovate's own.
fn observed_attrs(bucket: &Bucket) -> Attrs {
    let policy = held_document(bucket.policy.as_deref());
    let mut attrs = observed([
        ("name", bucket.name.clone().into()),
        ("versioning", bucket.versioning.into()),
        ("object_ownership", bucket.ownership.clone().into()),
        ("lifecycle_rules", json(&bucket.lifecycle)),
        ("block_public_access", json(&bucket.access)),
        ("policy", policy),
    ]);
    let encryption = bucket.encryption.as_ref();
    let algorithm = encryption.map(|e| Value::from(e.algorithm.clone()));
    attrs.insert("encryption".into(), algorithm.unwrap_or(Value::Null));
    if let Some(kms) = encryption.filter(|e| is_kms(&e.algorithm)) {
        if let Some(key) = &kms.kms_key_arn {
            attrs.insert("kms_key_arn".into(), key.clone().into());
        }
        attrs.insert("bucket_key".into(), kms.bucket_key.into());
    }
    attrs
}

fn json(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bucket_names_follow_s3_naming_rules() {
        for good in ["velero-backups", "a.b-c", "abc", "cloudtrail.111122223333"] {
            assert_eq!(name_problem(good), None, "{good}");
        }
        let bad = [
            ("ab", "3 to 63"),
            ("Velero", "lowercase"),
            ("under_score", "lowercase"),
            ("-edge", "begin and end"),
            ("a..b", "two dots"),
            ("192.168.1.1", "IP address"),
            ("xn--bucket", "prefix"),
            ("data-s3alias", "suffix"),
        ];
        for (name, why) in bad {
            let problem = name_problem(name).unwrap_or_else(|| panic!("{name} passed"));
            assert!(problem.contains(why), "{name}: {problem}");
        }
        assert!(name_problem(&"a".repeat(64)).is_some());
    }

    #[test]
    fn encryption_differs_by_algorithm_and_for_kms_by_key_and_bucket_key() {
        let spec = |attrs: Value| parse_spec::<Spec>(&SCHEMA, attrs.as_object().unwrap());
        let held = |algorithm: &str, key: Option<&str>, bucket_key| Encryption {
            algorithm: algorithm.into(),
            kms_key_arn: key.map(str::to_string),
            bucket_key,
        };
        let sse_s3 = spec(json!({"name": "b"})).unwrap();
        assert!(!encryption_differs(
            &sse_s3,
            Some(&held("AES256", None, false))
        ));
        assert!(encryption_differs(&sse_s3, None), "none set: put it");
        let kms = json!({"name": "b", "encryption": "aws:kms", "kms_key_arn": "k1"});
        let kms = spec(kms).unwrap();
        assert!(!encryption_differs(
            &kms,
            Some(&held("aws:kms", Some("k1"), true))
        ));
        assert!(encryption_differs(
            &kms,
            Some(&held("aws:kms", Some("k2"), true))
        ));
        assert!(encryption_differs(
            &kms,
            Some(&held("aws:kms", Some("k1"), false))
        ));
        assert!(encryption_differs(&kms, Some(&held("AES256", None, false))));
    }

    #[test]
    fn force_destroy_comes_from_state_and_the_delete_note_says_what_it_does() {
        let kind = BucketKind;
        let forced = json!({"name": "b", "force_destroy": true});
        let note = kind.delete_note(forced.as_object().unwrap()).unwrap();
        assert!(note.contains("every object version"), "{note}");
        let note = kind.delete_note(&Attrs::new()).unwrap();
        assert!(note.contains("force_destroy: false"), "{note}");
    }
}
