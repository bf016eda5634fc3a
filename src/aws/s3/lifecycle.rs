//! A bucket's lifecycle rules: written in the blueprint as [`RuleSpec`]s, sent whole with
//! PutBucketLifecycleConfiguration, read back into the same shape so that the plan, drift
//! and the update compare like with like. Every rule is enabled; a rule filters by prefix.

use super::built;
use crate::aws::common::unless_absent;
use crate::kinds::{AttrType, KindResult};
use crate::send;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, NoncurrentVersionExpiration, Transition, TransitionStorageClass,
};
use aws_sdk_s3::Client;

/// The storage classes objects can move to (TransitionStorageClass).
const STORAGE_CLASSES: &[&str] = &[
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER_IR",
    "GLACIER",
    "DEEP_ARCHIVE",
];

crate::spec! {
    #[derive(PartialEq, serde::Serialize)]
    pub(super) struct TransitionSpec {
        days: i32 = required(AttrType::Int).range(0, 36500),
        storage_class: String = required(AttrType::String).one_of(STORAGE_CLASSES),
    }
}

crate::spec! {
    #[derive(PartialEq, serde::Serialize)]
    pub(super) struct RuleSpec {
        /// Unique among the bucket's rules (S3 keeps at most 1,000).
        id: String = required(AttrType::String),
        /// Only objects whose key starts with it; none: every object.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String> = optional(AttrType::String),
        /// Days after creation at which current versions expire.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expiration_days: Option<i32> = optional(AttrType::Int).range(1, 36500),
        /// Days after becoming noncurrent at which old versions are deleted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        noncurrent_version_expiration_days: Option<i32> = optional(AttrType::Int).range(1, 36500),
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        transitions: Vec<TransitionSpec> =
            optional(AttrType::List(&AttrType::Object(TransitionSpec::ATTRS))).default("[]"),
    }
}

/// The attribute type of `lifecycle_rules`.
pub(super) const RULES: AttrType = AttrType::List(&AttrType::Object(RuleSpec::ATTRS));

const CALL: &str = "s3:PutBucketLifecycleConfiguration";

/// The bucket's rules, ordered by id (none: NoSuchLifecycleConfiguration).
pub(super) async fn of(s3: &Client, name: &str) -> KindResult<Vec<RuleSpec>> {
    let request = s3.get_bucket_lifecycle_configuration().bucket(name);
    let got = send!("s3:GetBucketLifecycleConfiguration", request);
    let got = unless_absent("NoSuchLifecycleConfiguration", got)?;
    let rules = got.iter().flat_map(|got| got.rules()).map(from_aws);
    Ok(sorted(rules.collect()))
}

/// Makes `rules` the bucket's (they replace its rules whole); none: DeleteBucketLifecycle.
pub(super) async fn put(s3: &Client, name: &str, rules: &[RuleSpec]) -> KindResult<()> {
    if rules.is_empty() {
        let request = s3.delete_bucket_lifecycle().bucket(name);
        return send!("s3:DeleteBucketLifecycle", request).map(drop);
    }
    let rules = rules.iter().map(to_aws).collect::<KindResult<Vec<_>>>()?;
    let config = BucketLifecycleConfiguration::builder().set_rules(Some(rules));
    let request = s3.put_bucket_lifecycle_configuration().bucket(name);
    send!(
        CALL,
        request.lifecycle_configuration(built(CALL, config.build())?)
    )
    .map(drop)
}

/// The rule S3 receives for `rule`.
fn to_aws(rule: &RuleSpec) -> KindResult<LifecycleRule> {
    let prefix = rule.prefix.clone().unwrap_or_default();
    let transitions = rule.transitions.iter().map(|t| {
        let class = TransitionStorageClass::from(t.storage_class.as_str());
        Transition::builder()
            .days(t.days)
            .storage_class(class)
            .build()
    });
    let expiration = rule
        .expiration_days
        .map(|days| LifecycleExpiration::builder().days(days).build());
    let noncurrent = rule.noncurrent_version_expiration_days.map(|days| {
        NoncurrentVersionExpiration::builder()
            .noncurrent_days(days)
            .build()
    });
    let built_rule = LifecycleRule::builder()
        .id(&rule.id)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
        .set_expiration(expiration)
        .set_noncurrent_version_expiration(noncurrent)
        .set_transitions(Some(transitions.collect()).filter(|t: &Vec<_>| !t.is_empty()))
        .build();
    built(CALL, built_rule)
}

/// The blueprint's shape of a rule S3 reports; an empty prefix (every object) is none.
fn from_aws(rule: &LifecycleRule) -> RuleSpec {
    let prefix = rule.filter().and_then(LifecycleRuleFilter::prefix);
    let transitions = rule.transitions().iter().filter_map(|t| {
        Some(TransitionSpec {
            days: t.days()?,
            storage_class: t.storage_class()?.as_str().to_string(),
        })
    });
    RuleSpec {
        id: rule.id().unwrap_or_default().to_string(),
        prefix: prefix.filter(|p| !p.is_empty()).map(str::to_string),
        expiration_days: rule.expiration().and_then(LifecycleExpiration::days),
        noncurrent_version_expiration_days: rule
            .noncurrent_version_expiration()
            .and_then(NoncurrentVersionExpiration::noncurrent_days),
        transitions: transitions.collect(),
    }
}

/// Rules ordered by id: S3 keeps no order that matters among them.
pub(super) fn sorted(mut rules: Vec<RuleSpec>) -> Vec<RuleSpec> {
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    rules
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(value: serde_json::Value) -> RuleSpec {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_rule_goes_to_s3_and_comes_back_the_same() {
        let full = rule(
            json!({"id": "velero", "prefix": "backups/", "expiration_days": 90,
            "noncurrent_version_expiration_days": 30,
            "transitions": [{"days": 30, "storage_class": "GLACIER_IR"}]}),
        );
        let sent = to_aws(&full).unwrap();
        assert_eq!(sent.status(), &ExpirationStatus::Enabled);
        assert_eq!(sent.filter().and_then(|f| f.prefix()), Some("backups/"));
        assert_eq!(from_aws(&sent), full);
        let bare = rule(json!({"id": "all", "expiration_days": 7}));
        let sent = to_aws(&bare).unwrap();
        assert_eq!(
            sent.filter().and_then(|f| f.prefix()),
            Some(""),
            "every object"
        );
        assert!(sent.transitions().is_empty());
        assert_eq!(from_aws(&sent), bare, "an empty prefix reads as none");
    }

    #[test]
    fn a_read_rule_is_reported_in_the_blueprint_shape() {
        let bare = rule(json!({"id": "all", "expiration_days": 7}));
        assert_eq!(
            serde_json::to_value(&bare).unwrap(),
            json!({"id": "all", "expiration_days": 7}),
            "what the blueprint left out is left out"
        );
        let ids: Vec<String> = sorted(vec![rule(json!({"id": "b"})), bare])
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["all", "b"]);
    }
}
