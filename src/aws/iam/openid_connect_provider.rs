//! `iam.openid_connect_provider`: an IAM OIDC identity provider (an EKS cluster's issuer, for
//! IAM roles for service accounts). Client ids and thumbprints change in place.
//!
//! An empty `thumbprint_list` leaves thumbprints to IAM: it fetches one at creation, and
//! for well-known issuers (EKS among them) trusts its own CA store and ignores thumbprints.

use super::tags;
use crate::aws::common::{
    carries_all, has_code, ignore_gone, in_order, missing, observed, outputs, parse_spec,
    tag_changes, user_tags, TAGS,
};
use crate::aws::{sdk_error, AwsContext};
use crate::kinds::{
    identity_tags, Attr, AttrType, Attrs, KindError, KindResult, Live, Price, ResourceKind, Schema,
    StepCx, Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_iam::operation::get_open_id_connect_provider::GetOpenIdConnectProviderOutput;
use aws_sdk_iam::Client;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

static SCHEMA: Schema = Schema {
    name: "iam.openid_connect_provider",
    attrs: &[
        Attr::required("url", AttrType::String).force_new(),
        Attr::optional("client_id_list", AttrType::List(&AttrType::String))
            .default("[\"sts.amazonaws.com\"]")
            .unordered(),
        Attr::optional("thumbprint_list", AttrType::List(&AttrType::String))
            .default("[]")
            .unordered(),
        TAGS,
    ],
    outputs: &["arn"],
    taggable: true,
    tier: Tier::Identity,
    price: Price::Free,
};

const NOT_FOUND: &str = "NoSuchEntity";

/// Providers read at once: IAM has no batch read.
const READ_CONCURRENCY: usize = 8;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    url: String,
    client_id_list: Vec<String>,
    thumbprint_list: Vec<String>,
}

pub(super) struct OpenIdConnectProviderKind(pub(super) Arc<AwsContext>);

#[async_trait]
impl ResourceKind for OpenIdConnectProviderKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, _cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        let thumbprints = (!spec.thumbprint_list.is_empty()).then_some(spec.thumbprint_list);
        let attrs = observed_attrs(&spec.client_id_list, tags);
        let created = self
            .0
            .iam()
            .await
            .create_open_id_connect_provider()
            .url(&spec.url)
            .set_client_id_list(Some(spec.client_id_list.clone()))
            .set_thumbprint_list(thumbprints)
            .set_tags(tags::at_creation("iam:CreateOpenIDConnectProvider", tags)?)
            .send()
            .await
            .map_err(|e| sdk_error("iam:CreateOpenIDConnectProvider", e))?;
        let arn = created.open_id_connect_provider_arn().ok_or_else(|| {
            missing(
                "iam:CreateOpenIDConnectProvider",
                "OpenIDConnectProviderArn",
            )
        })?;
        Ok(to_live(arn, attrs, tags))
    }

    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        let found = get_each(self.0.iam().await, ids.iter().map(String::as_str)).await?;
        let live = found.iter().map(|(arn, provider)| read_live(arn, provider));
        Ok(in_order(ids, live.collect()))
    }

    /// A retried create of a URL that already has a provider (the first answer was lost).
    fn conflict_codes(&self) -> &'static [&'static str] {
        &["EntityAlreadyExists"]
    }

    /// IAM lists providers by ARN only (ListOpenIDConnectProviders has no tags), so each is
    /// read for its tags. An account holds a handful (one per cluster): a few calls.
    async fn list_tagged(&self, tags: &Tags) -> KindResult<Option<Vec<Live>>> {
        let iam = self.0.iam().await;
        let listed = iam
            .list_open_id_connect_providers()
            .send()
            .await
            .map_err(|e| sdk_error("iam:ListOpenIDConnectProviders", e))?;
        let arns = listed
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn());
        let found = get_each(iam, arns).await?;
        let ours = found
            .iter()
            .filter(|(_, provider)| carries_all(&tags::to_map(provider.tags()), tags))
            .map(|(arn, provider)| read_live(arn, provider));
        Ok(Some(ours.collect()))
    }

    async fn update(
        &self,
        _cx: &StepCx,
        live: &Live,
        _prior: &Attrs,
        desired: &Attrs,
        tags: &Tags,
    ) -> KindResult<Live> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        let iam = self.0.iam().await;
        let arn = live.id.as_str();
        let current = get(iam, arn).await?.ok_or_else(|| gone(arn))?;
        let (added, removed) = client_id_changes(current.client_id_list(), &spec.client_id_list);
        // Adding first never leaves the provider without a client id in between.
        for client_id in added {
            iam.add_client_id_to_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .client_id(client_id)
                .send()
                .await
                .map_err(|e| sdk_error("iam:AddClientIDToOpenIDConnectProvider", e))?;
        }
        for client_id in removed {
            iam.remove_client_id_from_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .client_id(client_id)
                .send()
                .await
                .map_err(|e| sdk_error("iam:RemoveClientIDFromOpenIDConnectProvider", e))?;
        }
        if thumbprints_changed(current.thumbprint_list(), &spec.thumbprint_list) {
            iam.update_open_id_connect_provider_thumbprint()
                .open_id_connect_provider_arn(arn)
                .set_thumbprint_list(Some(spec.thumbprint_list))
                .send()
                .await
                .map_err(|e| sdk_error("iam:UpdateOpenIDConnectProviderThumbprint", e))?;
        }
        sync_tags(iam, arn, tags).await?;
        let updated = get(iam, arn).await?.ok_or_else(|| gone(arn))?;
        Ok(read_live(arn, &updated))
    }

    async fn delete(&self, _cx: &StepCx, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let deleted = self
            .0
            .iam()
            .await
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(&live.id)
            .send()
            .await
            .map_err(|e| sdk_error("iam:DeleteOpenIDConnectProvider", e));
        ignore_gone(deleted.map(|_| ()), &[NOT_FOUND])
    }
}

fn to_live(arn: &str, attrs: Attrs, tags: &Tags) -> Live {
    Live {
        attrs: Some(attrs),
        id: arn.to_string(),
        outputs: outputs([("arn", Some(arn.to_string()))]),
        identity: identity_tags(tags),
    }
}

fn read_live(arn: &str, provider: &GetOpenIdConnectProviderOutput) -> Live {
    let tags = tags::to_map(provider.tags());
    let attrs = observed_attrs(provider.client_id_list(), &tags);
    to_live(arn, attrs, &tags)
}

/// The blueprint attributes GetOpenIDConnectProvider reports. Left out: `url` (the ARN names
/// it, it cannot change, and IAM reports it without its `https://`) and `thumbprint_list`
/// (an empty list leaves thumbprints to IAM, which then reports its own, and thumbprints
/// are compared without regard to order and case).
fn observed_attrs(client_ids: &[String], tags: &Tags) -> Attrs {
    observed([
        ("client_id_list", Value::from(client_ids.to_vec())),
        ("tags", user_tags(tags)),
    ])
}

fn gone(arn: &str) -> KindError {
    KindError::new(
        "iam:GetOpenIDConnectProvider",
        Some(NOT_FOUND.into()),
        format!("{arn} no longer exists"),
    )
}

/// The provider, or `None` when IAM does not know it.
async fn get(iam: &Client, arn: &str) -> KindResult<Option<GetOpenIdConnectProviderOutput>> {
    let answer = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
        .map_err(|e| sdk_error("iam:GetOpenIDConnectProvider", e));
    match answer {
        Ok(provider) => Ok(Some(provider)),
        Err(err) if has_code(&err, &[NOT_FOUND]) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The providers of `arns` IAM still knows, read a few at once (IAM has no batch read).
async fn get_each<'a>(
    iam: &Client,
    arns: impl Iterator<Item = &'a str>,
) -> KindResult<Vec<(&'a str, GetOpenIdConnectProviderOutput)>> {
    // The futures are built first: a closure inside the stream would not be `Send` for
    // every lifetime, which async_trait needs.
    let reads: Vec<_> = arns
        .map(|arn| async move { Ok(get(iam, arn).await?.map(|found| (arn, found))) })
        .collect();
    let found: Vec<Option<_>> = stream::iter(reads)
        .buffer_unordered(READ_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}

/// Client ids to add and to remove.
fn client_id_changes(current: &[String], desired: &[String]) -> (Vec<String>, Vec<String>) {
    let added = desired.iter().filter(|id| !current.contains(id));
    let removed = current.iter().filter(|id| !desired.contains(id));
    (added.cloned().collect(), removed.cloned().collect())
}

/// Whether thumbprints must be replaced: never when the blueprint leaves them to IAM, and
/// not for a mere reordering.
fn thumbprints_changed(current: &[String], desired: &[String]) -> bool {
    let sorted = |list: &[String]| {
        let mut list: Vec<String> = list.iter().map(|t| t.to_lowercase()).collect();
        list.sort();
        list
    };
    !desired.is_empty() && sorted(current) != sorted(desired)
}

async fn sync_tags(iam: &Client, arn: &str, desired: &Tags) -> KindResult<()> {
    let current: Vec<_> = iam
        .list_open_id_connect_provider_tags()
        .open_id_connect_provider_arn(arn)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("iam:ListOpenIDConnectProviderTags", e))?;
    let changes = tag_changes(&tags::to_map(&current), desired);
    if !changes.set.is_empty() {
        iam.tag_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .set_tags(Some(tags::to_sdk(
                "iam:TagOpenIDConnectProvider",
                &changes.set,
            )?))
            .send()
            .await
            .map_err(|e| sdk_error("iam:TagOpenIDConnectProvider", e))?;
    }
    if !changes.removed.is_empty() {
        iam.untag_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .set_tag_keys(Some(changes.removed))
            .send()
            .await
            .map_err(|e| sdk_error("iam:UntagOpenIDConnectProvider", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn spec_fits_schema() {
        crate::aws::common::testing::assert_spec_fits_schema::<Spec>(&SCHEMA);
    }

    #[test]
    fn client_ids_add_new_and_remove_dropped() {
        let (added, removed) = client_id_changes(
            &list(&["sts.amazonaws.com", "old"]),
            &list(&["sts.amazonaws.com", "new"]),
        );
        assert_eq!((added, removed), (list(&["new"]), list(&["old"])));
    }

    #[test]
    fn thumbprints_left_to_iam_or_reordered_need_no_call() {
        let a = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";
        let b = "a031c46782e6e6c662c2c87c76da9aa62ccabd8e";
        assert!(!thumbprints_changed(&list(&[a]), &[]));
        assert!(!thumbprints_changed(&list(&[a, b]), &list(&[b, a])));
        assert!(!thumbprints_changed(
            &list(&[a]),
            &list(&[&a.to_uppercase()])
        ));
        assert!(thumbprints_changed(&list(&[a]), &list(&[b])));
        assert!(thumbprints_changed(&[], &list(&[a])));
    }
}
