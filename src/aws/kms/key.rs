//! `kms.key`: a customer-managed KMS key with its key policy, rotation, description and
//! enabled state, all changed in place; usage, spec and multi-Region force a new key. A
//! delete schedules the key's deletion after the blueprint's pending window (7-30 days), and
//! a key pending deletion reads as gone. The policy is compared by meaning (IAM's
//! comparison), so a reordered document never causes a call.

use super::{each_found, tags, NOT_FOUND};
use crate::aws::common::{missing, observed, outputs};
use crate::aws::iam::policy;
use crate::aws::{aws_call, retry_while, sdk_error, AwsContext, Backoff, Cx};
use crate::kinds::wait::{until, Status};
use crate::kinds::{
    parse_spec, retry_when, AttrType, Attrs, AwsItem, AwsKind, Change, KindError, KindResult, Live,
    Schema, StepCx, Tagging, Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_kms::types::{KeyMetadata, KeySpec, KeyState, KeyUsageType, OriginType};
use aws_sdk_kms::Client;
use serde_json::Value;

const KEY_USAGES: &[&str] = &[
    "ENCRYPT_DECRYPT",
    "SIGN_VERIFY",
    "GENERATE_VERIFY_MAC",
    "KEY_AGREEMENT",
];

const KEY_SPECS: &[&str] = &[
    "SYMMETRIC_DEFAULT",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "SM2",
];

crate::spec! {
    pub(super) struct Spec with tags {
        description: String = optional(AttrType::String).default("\"\""),
        key_usage: String = optional(AttrType::String)
            .default("\"ENCRYPT_DECRYPT\"")
            .force_new()
            .one_of(KEY_USAGES),
        key_spec: String = optional(AttrType::String)
            .default("\"SYMMETRIC_DEFAULT\"")
            .force_new()
            .one_of(KEY_SPECS),
        /// The key policy; absent: KMS's default policy (the account's root may use it).
        policy: Option<Value> = optional(AttrType::Json),
        enable_key_rotation: bool = optional(AttrType::Bool).default("false"),
        /// Sent with EnableKeyRotation; KMS's bounds and default.
        rotation_period_in_days: i32 = optional(AttrType::Int).default("365").range(90, 2560),
        is_enabled: bool = optional(AttrType::Bool).default("true"),
        /// Only single-Region keys: replicas are not managed, so `true` is refused.
        multi_region: bool = optional(AttrType::Bool).default("false").force_new(),
        /// The pending window ScheduleKeyDeletion gets: KMS's bounds, its default.
        deletion_window_in_days: i32 = optional(AttrType::Int).default("30").range(7, 30),
    }
}

const SCHEMA: Schema = Schema::new("kms.key", Tier::Security, Spec::ATTRS)
    .outputs(&["arn", "key_id"])
    .priced(crate::cost::models::kms_key);

const DESCRIBE: &str = "kms:DescribeKey";
/// KMS's answer to a call on a key in the wrong state (pending deletion, disabled).
const INVALID_STATE: &str = "KMSInvalidStateException";
/// The one policy a key has.
const POLICY_NAME: &str = "default";

/// A key as KMS reports it over DescribeKey, GetKeyPolicy, GetKeyRotationStatus and
/// ListResourceTags.
pub(super) struct Key {
    meta: KeyMetadata,
    policy: Option<String>,
    /// Whether rotation is on and its period; `None` where the key cannot rotate (not a
    /// symmetric key made by KMS).
    rotation: Option<(bool, Option<i32>)>,
    tags: Tags,
}

#[async_trait]
impl AwsItem for Key {
    type Client = AwsContext;
    const DESCRIBE: &'static str = DESCRIBE;
    const NOT_FOUND: &'static [&'static str] = &[NOT_FOUND];

    async fn describe(aws: &AwsContext, ids: &[String]) -> KindResult<Vec<Key>> {
        let kms = aws.kms().await;
        each_found(ids.iter().map(|id| read_key(kms, id)).collect()).await
    }

    /// Every key carrying all of `tags`: ListKeys, one ListResourceTags a key, a full
    /// read per match (keys pending deletion drop out there).
    async fn list(aws: &AwsContext, tags: &Tags) -> KindResult<Option<Vec<Key>>> {
        let kms = aws.kms().await;
        let listed = kms.list_keys().into_paginator().items().send();
        let listed = listed
            .try_collect()
            .await
            .map_err(|e| sdk_error("kms:ListKeys", e))?;
        let ids = listed.iter().filter_map(|entry| entry.key_id());
        let reads = ids.map(|id| tagged_key(kms, id, tags)).collect();
        Ok(Some(each_found(reads).await?))
    }

    fn tags(&self) -> Option<Tags> {
        Some(self.tags.clone())
    }

    async fn tagging(&self, aws: &AwsContext, id: &str) -> KindResult<Option<Tagging>> {
        let api = tags::Keys(aws.kms().await.clone());
        Ok(Some(Tagging::new(api, id)))
    }
}

pub(super) struct KeyKind;

#[async_trait]
impl AwsKind for KeyKind {
    type Spec = Spec;
    type Item = Key;
    const SCHEMA: &'static Schema = &SCHEMA;

    /// CreateKey has no client token: a lost answer leaves a key the engine finds by its
    /// identity tags (the typed layer lists keys by tag), adopting it or sweeping copies.
    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        let wanted = Wanted::of(spec)?;
        let kms = cx.aws.kms().await;
        let call = "kms:CreateKey";
        let sdk_tags = tags::at_creation(call, tags)?;
        let created = retry_when(principal_not_ready, Backoff::CONSISTENCY, || async {
            let request = kms
                .create_key()
                .description(&spec.description)
                .key_usage(KeyUsageType::from(spec.key_usage.as_str()))
                .key_spec(KeySpec::from(spec.key_spec.as_str()))
                .multi_region(spec.multi_region)
                .set_policy(wanted.policy.as_ref().map(policy::render))
                .set_tags(sdk_tags.clone());
            aws_call(call, request.send()).await
        })
        .await?;
        let id = created.key_metadata().map(KeyMetadata::key_id);
        let id = id.ok_or_else(|| missing(call, "KeyMetadata.KeyId"))?;
        // What CreateKey does not take; the key may not be visible to these calls yet.
        if spec.enable_key_rotation {
            set_rotation(kms, id, true, spec.rotation_period_in_days).await?;
        }
        if !spec.is_enabled {
            set_enabled(kms, id, false).await?;
        }
        settled(cx, kms, id, &wanted).await?;
        Ok(id.to_string())
    }

    fn live(&self, _: &AwsContext, key: &Key) -> Option<Live> {
        Some(to_live(key))
    }

    /// Compared with what KMS holds (not only with state), so drift is put back too.
    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        let (spec, key, id) = (change.desired, change.current, change.id());
        let wanted = Wanted::of(spec)?;
        let kms = cx.aws.kms().await;
        // A disabled key refuses some changes (rotation): enable first, disable last.
        let enabling = !key.meta.enabled() && spec.is_enabled;
        if enabling {
            set_enabled(kms, id, true).await?;
        }
        if key.meta.description().unwrap_or_default() != spec.description {
            let request = kms.update_key_description().key_id(id);
            let sent = request.description(&spec.description).send().await;
            sent.map_err(|e| sdk_error("kms:UpdateKeyDescription", e))?;
        }
        if let Some(document) = wanted.policy.as_ref().filter(|d| policy_differs(key, d)) {
            put_policy(kms, id, document).await?;
        }
        if rotation_differs(key, spec) {
            let period = spec.rotation_period_in_days;
            set_rotation(kms, id, spec.enable_key_rotation, period).await?;
        }
        if key.meta.enabled() && !spec.is_enabled {
            set_enabled(kms, id, false).await?;
        }
        settled(cx, kms, id, &wanted).await
    }

    /// Schedules the deletion after the pending window state recorded; a key already
    /// pending deletion has nothing left to do. Waits until a read sees it pending.
    async fn delete(&self, cx: &Cx<'_>, live: &Live, prior: &Attrs) -> KindResult<()> {
        let kms = cx.aws.kms().await;
        let id = live.id.as_str();
        let scheduled = kms
            .schedule_key_deletion()
            .key_id(id)
            .pending_window_in_days(pending_window(prior))
            .send()
            .await
            .map(drop)
            .map_err(|e| sdk_error("kms:ScheduleKeyDeletion", e));
        match scheduled {
            Err(err) if already_pending(&err) => {}
            other => other?,
        }
        until(
            cx,
            DESCRIBE,
            "PendingDeletion",
            Backoff::CONSISTENCY,
            || async {
                Ok(match read_key(kms, id).await? {
                    None => Status::Ready(()),
                    Some(_) => Status::Pending("not yet pending deletion".into()),
                })
            },
        )
        .await
    }

    fn delete_note(&self, prior: &Attrs) -> Option<String> {
        let days = pending_window(prior);
        Some(format!(
            "KMS deletes the key {days} days after this (deletion_window_in_days); until then \
             it is pending deletion and can be cancelled"
        ))
    }
}

/// What the spec asks of the parts KMS changes eventually, checked offline first.
struct Wanted<'a> {
    spec: &'a Spec,
    policy: Option<Value>,
}

impl<'a> Wanted<'a> {
    fn of(spec: &'a Spec) -> KindResult<Wanted<'a>> {
        let local = |message: String| KindError::local(SCHEMA.name, message);
        if spec.multi_region {
            let why = "multi_region: true is not supported: innovate does not manage replica keys";
            return Err(local(why.into()));
        }
        let document = spec.policy.as_ref().map(|p| policy::document("policy", p));
        let policy = document.transpose().map_err(local)?;
        Ok(Wanted { spec, policy })
    }

    /// Whether a read of the key shows every change made: KMS applies description,
    /// policy and rotation changes eventually, and a read right after may show the old.
    fn seen_in(&self, key: &Key) -> bool {
        let policy_seen = self.policy.as_ref().is_none_or(|d| !policy_differs(key, d));
        key.meta.description().unwrap_or_default() == self.spec.description
            && policy_seen
            && !rotation_differs(key, self.spec)
            && key.meta.enabled() == self.spec.is_enabled
    }
}

/// Waits (bounded) until a read sees what was asked for, as terraform-provider-aws waits
/// for a key's description, policy and rotation to propagate.
async fn settled(cx: &StepCx, kms: &Client, id: &str, wanted: &Wanted<'_>) -> KindResult<()> {
    until(
        cx,
        DESCRIBE,
        "the key's settings",
        Backoff::CONSISTENCY,
        || async {
            Ok(match read_key(kms, id).await? {
                Some(key) if wanted.seen_in(&key) => Status::Ready(()),
                Some(_) => Status::Pending("propagating".into()),
                None => Status::Pending("not visible yet".into()),
            })
        },
    )
    .await
}

/// The pending window state recorded for the key (the declared default for a swept copy,
/// whose prior attributes are empty).
fn pending_window(prior: &Attrs) -> i32 {
    let recorded = parse_spec::<Spec>(&SCHEMA, prior).ok();
    recorded.map_or(30, |spec| spec.deletion_window_in_days)
}

/// ScheduleKeyDeletion on a key already pending deletion: KMSInvalidStateException
/// "... is pending deletion."
fn already_pending(err: &KindError) -> bool {
    err.has_code_in(&[INVALID_STATE]) && err.message.contains("pending deletion")
}

/// KMS refuses a policy naming a principal created seconds ago (a role in the same apply)
/// with MalformedPolicyDocumentException until IAM has propagated it, as
/// terraform-provider-aws retries CreateKey and PutKeyPolicy.
fn principal_not_ready(err: &KindError) -> bool {
    err.has_code_in(&["MalformedPolicyDocumentException"])
        && err.message.to_lowercase().contains("invalid principal")
}

fn policy_differs(key: &Key, wanted: &Value) -> bool {
    let current = key.policy.as_deref().map(policy::from_aws);
    !matches!(current, Some(Ok(current)) if policy::same(&current, wanted))
}

/// Whether rotation (or, with rotation on, its period where KMS reports one) differs.
fn rotation_differs(key: &Key, spec: &Spec) -> bool {
    match key.rotation {
        None => spec.enable_key_rotation,
        Some((enabled, _)) if enabled != spec.enable_key_rotation => true,
        Some((enabled, period)) => {
            enabled && period.is_some_and(|days| days != spec.rotation_period_in_days)
        }
    }
}

async fn put_policy(kms: &Client, id: &str, document: &Value) -> KindResult<()> {
    let text = policy::render(document);
    // A key created a moment ago may not be visible to PutKeyPolicy yet either.
    let not_yet = |err: &KindError| principal_not_ready(err) || err.has_code_in(&[NOT_FOUND]);
    retry_when(not_yet, Backoff::CONSISTENCY, || async {
        let request = kms.put_key_policy().key_id(id).policy_name(POLICY_NAME);
        let sent = request.policy(&text).send().await.map(drop);
        sent.map_err(|e| sdk_error("kms:PutKeyPolicy", e))
    })
    .await
}

/// A key created a moment ago may answer NotFoundException to these calls; one enabled a
/// moment ago, DisabledException to a rotation change (terraform-provider-aws retries both).
async fn set_rotation(kms: &Client, id: &str, on: bool, days: i32) -> KindResult<()> {
    let not_yet = [NOT_FOUND, "DisabledException"];
    retry_while(&not_yet, Backoff::CONSISTENCY, || async move {
        let sent = if on {
            let request = kms.enable_key_rotation().key_id(id);
            let sent = request.rotation_period_in_days(days).send().await;
            sent.map(drop)
                .map_err(|e| sdk_error("kms:EnableKeyRotation", e))
        } else {
            let sent = kms.disable_key_rotation().key_id(id).send().await;
            sent.map(drop)
                .map_err(|e| sdk_error("kms:DisableKeyRotation", e))
        };
        sent
    })
    .await
}

async fn set_enabled(kms: &Client, id: &str, on: bool) -> KindResult<()> {
    retry_while(&[NOT_FOUND], Backoff::CONSISTENCY, || async move {
        if on {
            let sent = kms.enable_key().key_id(id).send().await.map(drop);
            sent.map_err(|e| sdk_error("kms:EnableKey", e))
        } else {
            let sent = kms.disable_key().key_id(id).send().await.map(drop);
            sent.map_err(|e| sdk_error("kms:DisableKey", e))
        }
    })
    .await
}

/// The key `id` with its policy, rotation and tags; `None` when KMS does not know it or
/// it is pending deletion (gone for every purpose but cancelling).
async fn read_key(kms: &Client, id: &str) -> KindResult<Option<Key>> {
    let described = kms.describe_key().key_id(id).send().await;
    let described = found(described.map_err(|e| sdk_error(DESCRIBE, e)))?;
    let Some(meta) = described.and_then(|d| d.key_metadata) else {
        return Ok(None);
    };
    if is_pending_deletion(&meta) {
        return Ok(None);
    }
    let policy = kms.get_key_policy().key_id(id).policy_name(POLICY_NAME);
    let policy = aws_call("kms:GetKeyPolicy", policy.send()).await;
    let Some(policy) = found(policy)? else {
        return Ok(None);
    };
    let Some(rotation) = found(rotation_of(kms, &meta).await)? else {
        return Ok(None);
    };
    let Some(tags) = found(tags::of_key(kms, id).await)? else {
        return Ok(None);
    };
    let policy = policy.policy().map(str::to_string);
    Ok(Some(Key {
        meta,
        policy,
        rotation,
        tags,
    }))
}

/// The key `id` when it carries all of `tags`. A key whose policy does not let this
/// caller read its tags (another team's) cannot be shown to be ours: it is passed over,
/// so that one such key does not stop every listing of the account.
async fn tagged_key(kms: &Client, id: &str, tags: &Tags) -> KindResult<Option<Key>> {
    let carried = match tags::of_key(kms, id).await {
        Err(err) if err.has_code_in(&["AccessDeniedException"]) => return Ok(None),
        answer => answer,
    };
    let Some(carried) = found(carried)? else {
        return Ok(None);
    };
    if !crate::kinds::carries_all(&carried, tags) {
        return Ok(None);
    }
    read_key(kms, id).await
}

/// Rotation of a symmetric key made by KMS; `None` for the others, which cannot rotate.
async fn rotation_of(kms: &Client, meta: &KeyMetadata) -> KindResult<Option<(bool, Option<i32>)>> {
    let symmetric = meta.key_spec() == Some(&KeySpec::SymmetricDefault);
    let by_kms = meta.origin().is_none_or(|o| *o == OriginType::AwsKms);
    if !(symmetric && by_kms) {
        return Ok(None);
    }
    let status = kms.get_key_rotation_status().key_id(meta.key_id()).send();
    let status = status
        .await
        .map_err(|e| sdk_error("kms:GetKeyRotationStatus", e))?;
    let period = status.rotation_period_in_days();
    Ok(Some((status.key_rotation_enabled(), period)))
}

fn is_pending_deletion(meta: &KeyMetadata) -> bool {
    matches!(
        meta.key_state(),
        Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
    )
}

/// An answer, `None` when KMS does not know the key (it went between two calls).
fn found<T>(answer: KindResult<T>) -> KindResult<Option<T>> {
    match answer {
        Ok(found) => Ok(Some(found)),
        Err(err) if err.has_code_in(&[NOT_FOUND]) => Ok(None),
        Err(err) => Err(err),
    }
}

fn to_live(key: &Key) -> Live {
    let meta = &key.meta;
    Live::observed(
        meta.key_id().to_string(),
        outputs([
            ("arn", meta.arn().map(str::to_string)),
            ("key_id", Some(meta.key_id().to_string())),
        ]),
        observed_attrs(key),
    )
}

/// The blueprint attributes KMS reports (the layer adds `tags`). Left out:
/// `deletion_window_in_days` (KMS holds it only once the key is pending deletion, when
/// the key reads as gone) and the rotation period where KMS does not report one.
fn observed_attrs(key: &Key) -> Attrs {
    let meta = &key.meta;
    // The document as KMS holds it; text that is not JSON is reported as it is.
    let policy = key.policy.as_deref().map_or(Value::Null, |text| {
        policy::from_aws(text).unwrap_or_else(|_| Value::String(text.to_string()))
    });
    let mut attrs = observed([
        ("description", meta.description().unwrap_or_default().into()),
        ("policy", policy),
        ("is_enabled", meta.enabled().into()),
        ("multi_region", meta.multi_region().unwrap_or(false).into()),
    ]);
    // AWS always reports usage and spec; where an answer lacks one (moto, for a key
    // created without it), it is not taken for a change.
    let usage = meta.key_usage().map(KeyUsageType::as_str);
    let spec = meta.key_spec().map(KeySpec::as_str);
    for (name, value) in [("key_usage", usage), ("key_spec", spec)] {
        if let Some(value) = value {
            attrs.insert(name.into(), value.into());
        }
    }
    if let Some((enabled, period)) = key.rotation {
        attrs.insert("enable_key_rotation".into(), enabled.into());
        if let Some(days) = period.filter(|_| enabled) {
            attrs.insert("rotation_period_in_days".into(), days.into());
        }
    }
    attrs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(policy: &str, rotation: Option<(bool, Option<i32>)>) -> Key {
        let meta = KeyMetadata::builder()
            .key_id("1234abcd-12ab-34cd-56ef-1234567890ab")
            .description("app")
            .enabled(true)
            .key_spec(KeySpec::SymmetricDefault)
            .build()
            .unwrap();
        Key {
            meta,
            policy: Some(policy.into()),
            rotation,
            tags: Tags::new(),
        }
    }

    fn spec(attrs: Value) -> Spec {
        parse_spec(&SCHEMA, attrs.as_object().unwrap()).unwrap()
    }

    fn admin() -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Sid": "root", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*",
            "Resource": "*"}]})
    }

    #[test]
    fn an_equal_policy_in_another_key_order_needs_no_call() {
        let held = r#"{"Statement":[{"Resource":["*"],"Action":["kms:*"],"Principal":{"AWS":["arn:aws:iam::111122223333:root"]},"Effect":"Allow","Sid":"root"}],"Version":"2012-10-17"}"#;
        let current = key(held, Some((false, None)));
        assert!(!policy_differs(&current, &admin()));
        let mut other = admin();
        other["Statement"][0]["Action"] = json!("kms:Decrypt");
        assert!(policy_differs(&current, &other));
        let wanted = spec(json!({"description": "app", "policy": admin()}));
        let wanted = Wanted::of(&wanted).unwrap();
        assert!(wanted.seen_in(&current), "nothing to wait for");
    }

    #[test]
    fn rotation_differs_only_where_kms_can_tell() {
        let on = spec(json!({"enable_key_rotation": true, "rotation_period_in_days": 180}));
        let off = spec(json!({}));
        assert!(rotation_differs(&key("{}", Some((false, None))), &on));
        assert!(!rotation_differs(&key("{}", Some((true, Some(180)))), &on));
        assert!(rotation_differs(&key("{}", Some((true, Some(365)))), &on));
        assert!(!rotation_differs(&key("{}", Some((true, None))), &on));
        assert!(!rotation_differs(&key("{}", None), &off));
        assert!(rotation_differs(&key("{}", Some((true, None))), &off));
    }

    #[test]
    fn a_pending_key_is_gone_and_its_window_comes_from_state() {
        let pending = KeyMetadata::builder()
            .key_id("k")
            .key_state(KeyState::PendingDeletion)
            .build()
            .unwrap();
        assert!(is_pending_deletion(&pending));
        assert_eq!(pending_window(&Attrs::new()), 30);
        let prior = json!({"deletion_window_in_days": 7});
        assert_eq!(pending_window(prior.as_object().unwrap()), 7);
        let err = KindError::new(
            "kms:ScheduleKeyDeletion",
            Some(INVALID_STATE.into()),
            "arn:aws:kms:us-east-1:111122223333:key/k is pending deletion.",
        );
        assert!(already_pending(&err));
    }

    #[test]
    fn multi_region_keys_and_unreadable_policies_are_refused_before_any_call() {
        let multi = spec(json!({"multi_region": true}));
        assert!(Wanted::of(&multi).is_err());
        let broken = spec(json!({"policy": "{not json"}));
        let err = Wanted::of(&broken).err().unwrap();
        assert!(err.message.contains("policy"), "{err}");
    }
}
