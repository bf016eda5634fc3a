//! `kms.alias`: a name for a key. The name is its id and forces a new alias; the key it
//! points at changes in place (UpdateAlias). Aliases carry no tags, so they are not listed
//! by tag: a lost CreateAlias answer is settled by the name, which is unique in the account.

use super::NOT_FOUND;
use crate::aws::common::{observed, outputs};
use crate::aws::{retry_while, sdk_error, AwsContext, Backoff, Cx};
use crate::kinds::{
    AttrType, Attrs, AwsItem, AwsKind, Change, KindResult, Live, Schema, Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_kms::types::AliasListEntry;
use aws_sdk_kms::Client;

crate::spec! {
    pub(super) struct Spec {
        /// `alias/...`; `alias/aws/...` names AWS's own keys.
        name: String = required(AttrType::String).force_new().prefixed("alias/", "alias/aws/"),
        /// The key's id or ARN.
        target_key_id: String = required(AttrType::String),
    }
}

const SCHEMA: Schema =
    Schema::new("kms.alias", Tier::Security, Spec::ATTRS).outputs(&["arn", "target_key_arn"]);

const ALREADY_EXISTS: &str = "AlreadyExistsException";

#[async_trait]
impl AwsItem for AliasListEntry {
    type Client = AwsContext;
    const DESCRIBE: &'static str = "kms:ListAliases";
    const NOT_FOUND: &'static [&'static str] = &[NOT_FOUND];

    /// KMS has no describe by alias name: one ListAliases listing serves every name.
    async fn describe(aws: &AwsContext, names: &[String]) -> KindResult<Vec<AliasListEntry>> {
        let all = list_aliases(aws.kms().await).await?;
        let named =
            |a: &AliasListEntry| a.alias_name().is_some_and(|n| names.iter().any(|x| x == n));
        Ok(all.into_iter().filter(named).collect())
    }
}

pub(super) struct AliasKind;

#[async_trait]
impl AwsKind for AliasKind {
    type Spec = Spec;
    type Item = AliasListEntry;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, _tags: &Tags) -> KindResult<String> {
        let kms = cx.aws.kms().await;
        let (name, key) = (&spec.name, &spec.target_key_id);
        // A key created a moment ago may not be visible to CreateAlias yet.
        let created = retry_while(&[NOT_FOUND], Backoff::CONSISTENCY, || async move {
            let request = kms.create_alias().alias_name(name).target_key_id(key);
            let sent = request.send().await.map(drop);
            sent.map_err(|e| sdk_error("kms:CreateAlias", e))
        })
        .await;
        match created {
            Ok(()) => Ok(name.clone()),
            // The name taken by the very alias this create asked for: an earlier attempt
            // whose answer was lost. Pointing elsewhere, it is someone else's.
            Err(err) if err.has_code_in(&[ALREADY_EXISTS]) => {
                let existing = find(kms, name).await?;
                match existing.filter(|a| points_at(a, key)) {
                    Some(_) => Ok(name.clone()),
                    None => Err(err),
                }
            }
            Err(err) => Err(err),
        }
    }

    fn natural_id(&self, spec: &Spec) -> Option<String> {
        Some(spec.name.clone())
    }

    fn live(&self, _: &AwsContext, alias: &AliasListEntry) -> Option<Live> {
        let name = alias.alias_name()?.to_string();
        let target = alias.target_key_id();
        let key_arn = alias
            .alias_arn()
            .zip(target)
            .and_then(|(arn, key)| Some(format!("{}key/{key}", arn.strip_suffix(&name)?)));
        let attrs = observed([
            ("name", name.clone().into()),
            ("target_key_id", target.unwrap_or_default().into()),
        ]);
        let outputs = outputs([
            ("arn", alias.alias_arn().map(str::to_string)),
            ("target_key_arn", key_arn),
        ]);
        Some(Live::observed(name, outputs, attrs))
    }

    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        let key = &change.desired.target_key_id;
        if points_at(change.current, key) {
            return Ok(());
        }
        let kms = cx.aws.kms().await;
        let request = kms
            .update_alias()
            .alias_name(change.id())
            .target_key_id(key);
        let sent = request.send().await.map(drop);
        sent.map_err(|e| sdk_error("kms:UpdateAlias", e))
    }

    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let kms = cx.aws.kms().await;
        let sent = kms.delete_alias().alias_name(&live.id).send().await;
        sent.map(drop).map_err(|e| sdk_error("kms:DeleteAlias", e))
    }
}

/// Whether `alias` points at `key`, given as a key id or a key ARN (ListAliases reports
/// the key id).
fn points_at(alias: &AliasListEntry, key: &str) -> bool {
    alias
        .target_key_id()
        .is_some_and(|target| key == target || key.ends_with(&format!(":key/{target}")))
}

async fn find(kms: &Client, name: &str) -> KindResult<Option<AliasListEntry>> {
    let all = list_aliases(kms).await?;
    Ok(all.into_iter().find(|a| a.alias_name() == Some(name)))
}

async fn list_aliases(kms: &Client) -> KindResult<Vec<AliasListEntry>> {
    let listed = kms.list_aliases().into_paginator().items().send();
    listed
        .try_collect()
        .await
        .map_err(|e| sdk_error("kms:ListAliases", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias(target: &str) -> AliasListEntry {
        AliasListEntry::builder()
            .alias_name("alias/app")
            .alias_arn("arn:aws:kms:us-east-1:111122223333:alias/app")
            .target_key_id(target)
            .build()
    }

    #[test]
    fn a_key_is_named_by_id_or_arn() {
        let a = alias("k1");
        assert!(points_at(&a, "k1"));
        assert!(points_at(&a, "arn:aws:kms:us-east-1:111122223333:key/k1"));
        assert!(!points_at(&a, "k2"));
        assert!(!points_at(&a, "arn:aws:kms:us-east-1:111122223333:key/xk1"));
    }

    #[test]
    fn the_target_key_arn_is_built_from_the_alias_arn() {
        let kind = AliasKind;
        let live = kind.live(&AwsContext::new(None), &alias("k1")).unwrap();
        assert_eq!(
            live.outputs["target_key_arn"],
            "arn:aws:kms:us-east-1:111122223333:key/k1"
        );
        assert_eq!(live.id, "alias/app");
    }
}
