//! `logs.log_group`: a CloudWatch Logs log group. The name is its id, unique in the account
//! and region, and forces a new group; retention and the KMS key change in place. Groups
//! are read from one DescribeLogGroups listing under the names' common prefix (no read by
//! name exists), then their tags by ARN; a lost CreateLogGroup answer is settled by the
//! name (`natural_id`) and the owner tags the layer checks.

use super::{tags_of, ByArn, NOT_FOUND};
use crate::aws::common::{observed, outputs, unless_gone};
use crate::aws::iam::get_each;
use crate::aws::{retry_while, sdk_error, AwsContext, Backoff, Cx};
use crate::kinds::{
    AttrType, Attrs, AwsItem, AwsKind, Change, KindError, KindResult, Live, Schema, Tagging, Tags,
    Tier,
};
use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::LogGroup;
use aws_sdk_cloudwatchlogs::Client;
use serde_json::Value;
use std::future::Future;

/// PutRetentionPolicy's allowed values, in days.
const RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

crate::spec! {
    pub(super) struct Spec with tags {
        name: String = required(AttrType::String).force_new(),
        /// Absent: the events never expire. One of [`RETENTION_DAYS`] (the range is what
        /// `validate` checks offline; the exact set is checked before any call).
        retention_in_days: Option<i64> = optional(AttrType::Int).range(1, 3653),
        /// A KMS key ARN; absent: CloudWatch Logs' own encryption.
        kms_key_id: Option<String> = optional(AttrType::String),
    }
}

const SCHEMA: Schema = Schema::new("logs.log_group", Tier::Observability, Spec::ATTRS)
    .outputs(&["arn", "name"])
    .priced(crate::cost::models::log_group);

const DESCRIBE: &str = "logs:DescribeLogGroups";
/// A change refused while another one on the group is in progress ("... Please try
/// again."), which terraform-provider-aws retries for a minute.
const ABORTED: &str = "OperationAbortedException";

/// A log group as DescribeLogGroups and ListTagsForResource report it.
pub(super) struct Group {
    group: LogGroup,
    tags: Tags,
}

#[async_trait]
impl AwsItem for Group {
    type Client = AwsContext;
    const DESCRIBE: &'static str = DESCRIBE;
    const NOT_FOUND: &'static [&'static str] = &[NOT_FOUND];

    /// One paged listing under the names' longest common prefix serves every name (names
    /// sharing none are listed one prefix each, not the whole account); the tags of each
    /// group found are read eight at once.
    async fn describe(aws: &AwsContext, names: &[String]) -> KindResult<Vec<Group>> {
        let logs = aws.logs().await;
        let prefixes = match common_prefix(names) {
            shared if shared.is_empty() => names.to_vec(),
            shared => vec![shared],
        };
        let listings = prefixes.into_iter().map(|prefix| list(logs, prefix));
        let listed = get_each(listings.collect()).await?.into_iter().flatten();
        let named = listed.filter(|g| {
            let name = g.log_group_name().unwrap_or_default();
            names.iter().any(|n| n == name)
        });
        get_each(named.map(|group| with_tags(logs, group)).collect()).await
    }

    fn tags(&self) -> Option<Tags> {
        Some(self.tags.clone())
    }

    async fn tagging(&self, aws: &AwsContext, _name: &str) -> KindResult<Option<Tagging>> {
        let api = ByArn(aws.logs().await.clone());
        Ok(Some(Tagging::new(api, &arn_of(&self.group))))
    }
}

/// Every group whose name starts with `prefix`, all pages.
async fn list(logs: &Client, prefix: String) -> KindResult<Option<Vec<LogGroup>>> {
    let request = logs.describe_log_groups().log_group_name_prefix(prefix);
    let listed = request.into_paginator().items().send().try_collect().await;
    listed.map(Some).map_err(|e| sdk_error(DESCRIBE, e))
}

/// The group with its tags; `None` when it went between the listing and the tag read.
async fn with_tags(logs: &Client, group: LogGroup) -> KindResult<Option<Group>> {
    let tags = unless_gone(tags_of(logs, &arn_of(&group)).await, &[NOT_FOUND])?;
    Ok(tags.map(|tags| Group { group, tags }))
}

pub(super) struct LogGroupKind;

#[async_trait]
impl AwsKind for LogGroupKind {
    type Spec = Spec;
    type Item = Group;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        let retention = retention(spec)?;
        let logs = cx.aws.logs().await;
        let name = spec.name.as_str();
        let pairs = (!tags.is_empty()).then(|| tags.clone().into_iter().collect());
        let created = aborted_retried("logs:CreateLogGroup", || {
            let request = logs.create_log_group().log_group_name(name);
            let request = request.set_kms_key_id(spec.kms_key_id.clone());
            request.set_tags(pairs.clone()).send()
        })
        .await;
        created.map_err(|err| key_refused(err, spec.kms_key_id.as_deref()))?;
        if let Some(days) = retention {
            put_retention(logs, name, days).await?;
        }
        Ok(spec.name.clone())
    }

    fn natural_id(&self, spec: &Spec) -> Option<String> {
        Some(spec.name.clone())
    }

    /// A group left by a create whose answer was lost; the layer adopts it only when it
    /// carries this create's owner tags.
    fn conflict_codes(&self) -> &'static [&'static str] {
        &["ResourceAlreadyExistsException"]
    }

    fn live(&self, _: &AwsContext, group: &Group) -> Option<Live> {
        to_live(&group.group)
    }

    /// Compared with what AWS holds, so drift is put back too.
    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        let (spec, group, name) = (change.desired, &change.current.group, change.id());
        let logs = cx.aws.logs().await;
        let wanted = retention(spec)?;
        if group.retention_in_days().map(i64::from) != wanted {
            match wanted {
                Some(days) => put_retention(logs, name, days).await?,
                None => {
                    let call = "logs:DeleteRetentionPolicy";
                    let request = || logs.delete_retention_policy().log_group_name(name).send();
                    aborted_retried(call, request).await?;
                }
            }
        }
        let key = spec.kms_key_id.as_deref();
        if group.kms_key_id() != key {
            let associated = match key {
                Some(key) => {
                    let call = "logs:AssociateKmsKey";
                    let request = logs
                        .associate_kms_key()
                        .log_group_name(name)
                        .kms_key_id(key);
                    aborted_retried(call, || request.clone().send()).await
                }
                None => {
                    let call = "logs:DisassociateKmsKey";
                    let request = || logs.disassociate_kms_key().log_group_name(name).send();
                    aborted_retried(call, request).await
                }
            };
            associated.map_err(|err| key_refused(err, key))?;
        }
        Ok(())
    }

    /// A group already gone answers ResourceNotFoundException, which the layer counts as
    /// deleted.
    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let logs = cx.aws.logs().await;
        let request = || logs.delete_log_group().log_group_name(&live.id).send();
        aborted_retried("logs:DeleteLogGroup", request).await
    }
}

/// Sends `request` again while AWS answers OperationAbortedException (another change to
/// the group is in progress).
async fn aborted_retried<T, E, F, Fut>(call: &str, mut request: F) -> KindResult<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, aws_sdk_cloudwatchlogs::error::SdkError<E>>>,
    E: aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata + std::error::Error + Send + Sync,
    E: 'static,
{
    retry_while(&[ABORTED], Backoff::CONSISTENCY, || {
        let sent = request();
        async move { sent.await.map(drop).map_err(|e| sdk_error(call, e)) }
    })
    .await
}

async fn put_retention(logs: &Client, name: &str, days: i64) -> KindResult<()> {
    let request = logs.put_retention_policy().log_group_name(name);
    let request = request.retention_in_days(days as i32);
    aborted_retried("logs:PutRetentionPolicy", || request.clone().send()).await
}

/// The retention asked for, refused before any call unless AWS allows it.
fn retention(spec: &Spec) -> KindResult<Option<i64>> {
    match spec.retention_in_days {
        Some(days) if !RETENTION_DAYS.contains(&days) => {
            let allowed: Vec<String> = RETENTION_DAYS.iter().map(i64::to_string).collect();
            let message = format!(
                "retention_in_days {days} is not one AWS allows: {}",
                allowed.join(", ")
            );
            Err(KindError::local(SCHEMA.name, message))
        }
        days => Ok(days),
    }
}

/// CloudWatch Logs refuses a key whose policy does not let the logs service principal use
/// it with AccessDeniedException or InvalidParameterException: the error then names the
/// key and what its policy needs.
fn key_refused(mut err: KindError, key: Option<&str>) -> KindError {
    let refusals = ["AccessDeniedException", "InvalidParameterException"];
    if let Some(key) = key.filter(|_| err.has_code_in(&refusals)) {
        err.message = format!(
            "{} (kms_key_id {key}: its key policy must allow the service principal \
             logs.REGION.amazonaws.com kms:Encrypt*, kms:Decrypt*, kms:ReEncrypt*, \
             kms:GenerateDataKey* and kms:Describe*)",
            err.message
        );
    }
    err
}

/// The group's ARN without the `:*` DescribeLogGroups puts on `arn` (terraform trims it
/// too); the newer `logGroupArn` field has none.
fn arn_of(group: &LogGroup) -> String {
    match group.log_group_arn() {
        Some(arn) => arn.to_string(),
        None => trim_wildcard(group.arn().unwrap_or_default()).to_string(),
    }
}

fn trim_wildcard(arn: &str) -> &str {
    arn.strip_suffix(":*").unwrap_or(arn)
}

/// The longest prefix all `names` share: what one DescribeLogGroups listing covers them
/// with (empty: the whole account's groups).
fn common_prefix(names: &[String]) -> String {
    let Some((first, rest)) = names.split_first() else {
        return String::new();
    };
    let mut prefix = first.as_str();
    for name in rest {
        let shared = prefix.char_indices().zip(name.chars());
        let end = shared.take_while(|((_, a), b)| a == b).count();
        let cut = prefix
            .char_indices()
            .nth(end)
            .map_or(prefix.len(), |(i, _)| i);
        prefix = &prefix[..cut];
    }
    prefix.to_string()
}

fn to_live(group: &LogGroup) -> Option<Live> {
    let name = group.log_group_name()?.to_string();
    let outputs = outputs([("arn", Some(arn_of(group))), ("name", Some(name.clone()))]);
    let retention = group.retention_in_days().map_or(Value::Null, Value::from);
    let key = group.kms_key_id().map_or(Value::Null, Value::from);
    let attrs = observed([
        ("name", name.clone().into()),
        ("retention_in_days", retention),
        ("kms_key_id", key),
    ]);
    Some(Live::observed(name, outputs, attrs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::parse_spec;
    use serde_json::json;

    #[test]
    fn the_arn_loses_the_wildcard_describe_puts_on_it() {
        let arn = "arn:aws:logs:us-east-1:111122223333:log-group:/app/api";
        let described = LogGroup::builder().arn(format!("{arn}:*")).build();
        assert_eq!(arn_of(&described), arn);
        let newer = LogGroup::builder()
            .arn(format!("{arn}:*"))
            .log_group_arn(arn)
            .build();
        assert_eq!(arn_of(&newer), arn);
        assert_eq!(trim_wildcard(arn), arn);
    }

    #[test]
    fn one_listing_covers_every_name_under_their_common_prefix() {
        let names = |list: &[&str]| list.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(common_prefix(&names(&["/app/api"])), "/app/api");
        assert_eq!(common_prefix(&names(&["/app/api", "/app/web"])), "/app/");
        assert_eq!(common_prefix(&names(&["/app/é1", "/app/é2"])), "/app/é");
        assert_eq!(common_prefix(&names(&["vpc", "/app"])), "");
        assert_eq!(common_prefix(&[]), "");
    }

    #[test]
    fn only_the_retentions_aws_allows_are_sent() {
        let spec = |days: Value| {
            let attrs = json!({"name": "/app", "retention_in_days": days});
            parse_spec::<Spec>(&SCHEMA, attrs.as_object().unwrap()).unwrap()
        };
        assert_eq!(retention(&spec(json!(30))).unwrap(), Some(30));
        assert_eq!(retention(&spec(Value::Null)).unwrap(), None);
        let err = retention(&spec(json!(31))).unwrap_err();
        assert!(err.message.contains("31 is not one AWS allows"), "{err}");
    }

    #[test]
    fn a_refused_key_is_named_in_the_error() {
        let denied = KindError::new(
            "logs:AssociateKmsKey",
            Some("AccessDeniedException".into()),
            "The specified KMS key does not exist or is not allowed to be used",
        );
        let key = "arn:aws:kms:us-east-1:111122223333:key/k1";
        let named = key_refused(denied.clone(), Some(key));
        assert!(named.message.contains(key) && named.message.contains("logs.REGION"));
        assert_eq!(key_refused(denied.clone(), None), denied);
        let other = KindError::new("logs:CreateLogGroup", Some("Throttling".into()), "slow");
        assert_eq!(key_refused(other.clone(), Some(key)), other);
    }
}
