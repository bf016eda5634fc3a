//! `iam.openid_connect_provider`: an IAM OIDC identity provider (an EKS cluster's issuer, for
//! IAM roles for service accounts). Client ids and thumbprints change in place.
//!
//! An empty `thumbprint_list` leaves thumbprints to IAM: it fetches one at creation, and
//! for well-known issuers (EKS among them) trusts its own CA store and ignores thumbprints.

use super::{get_each, tags, unless_gone, NOT_FOUND};
use crate::aws::common::{missing, observed, outputs};
use crate::aws::{aws_call, sdk_error, AwsContext, Cx};
use crate::kinds::{
    AttrType, Attrs, AwsItem, AwsKind, Change, KindResult, Live, Schema, Tagging, Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_iam::operation::get_open_id_connect_provider::GetOpenIdConnectProviderOutput;
use aws_sdk_iam::Client;
use serde_json::Value;

crate::spec! {
    pub(super) struct Spec with tags {
        url: String = required(AttrType::String).force_new(),
        client_id_list: Vec<String> = optional(AttrType::List(&AttrType::String))
            .default("[\"sts.amazonaws.com\"]")
            .unordered(),
        thumbprint_list: Vec<String> = optional(AttrType::List(&AttrType::String))
            .default("[]")
            .unordered(),
    }
}

const SCHEMA: Schema =
    Schema::new("iam.openid_connect_provider", Tier::Identity, Spec::ATTRS).outputs(&["arn"]);

/// A provider as GetOpenIDConnectProvider reports it, with the ARN it was asked for (the
/// answer has none).
pub(super) struct Provider {
    arn: String,
    found: GetOpenIdConnectProviderOutput,
}

#[async_trait]
impl AwsItem for Provider {
    type Client = AwsContext;
    const DESCRIBE: &'static str = "iam:GetOpenIDConnectProvider";
    const NOT_FOUND: &'static [&'static str] = &[NOT_FOUND];

    async fn describe(aws: &AwsContext, arns: &[String]) -> KindResult<Vec<Provider>> {
        get_providers(aws.iam().await, arns).await
    }

    /// IAM lists providers by ARN only (ListOpenIDConnectProviders has no tags), so each is
    /// read for its tags. An account holds a handful (one per cluster): a few calls.
    async fn list(aws: &AwsContext, _tags: &Tags) -> KindResult<Option<Vec<Provider>>> {
        let iam = aws.iam().await;
        let listed = aws_call(
            "iam:ListOpenIDConnectProviders",
            iam.list_open_id_connect_providers().send(),
        )
        .await?;
        let arns: Vec<String> = listed
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn().map(str::to_string))
            .collect();
        Ok(Some(get_providers(iam, &arns).await?))
    }

    fn tags(&self) -> Option<Tags> {
        Some(tags::to_map(self.found.tags()))
    }

    async fn tagging(&self, aws: &AwsContext, id: &str) -> KindResult<Option<Tagging>> {
        let api = tags::OidcProviders(aws.iam().await.clone());
        Ok(Some(Tagging::new(api, id)))
    }
}

pub(super) struct OpenIdConnectProviderKind;

#[async_trait]
impl AwsKind for OpenIdConnectProviderKind {
    type Spec = Spec;
    type Item = Provider;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        let thumbprints = (!spec.thumbprint_list.is_empty()).then(|| spec.thumbprint_list.clone());
        let request = cx
            .aws
            .iam()
            .await
            .create_open_id_connect_provider()
            .url(&spec.url)
            .set_client_id_list(Some(spec.client_id_list.clone()))
            .set_thumbprint_list(thumbprints)
            .set_tags(tags::at_creation("iam:CreateOpenIDConnectProvider", tags)?);
        let created = aws_call("iam:CreateOpenIDConnectProvider", request.send()).await?;
        let arn = created.open_id_connect_provider_arn().ok_or_else(|| {
            missing(
                "iam:CreateOpenIDConnectProvider",
                "OpenIDConnectProviderArn",
            )
        })?;
        Ok(arn.to_string())
    }

    /// A retried create of a URL that already has a provider (the first answer was lost).
    fn conflict_codes(&self) -> &'static [&'static str] {
        &["EntityAlreadyExists"]
    }

    fn live(&self, _: &AwsContext, provider: &Provider) -> Option<Live> {
        Some(Live::observed(
            provider.arn.clone(),
            outputs([("arn", Some(provider.arn.clone()))]),
            observed_attrs(&provider.found),
        ))
    }

    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        let iam = cx.aws.iam().await;
        let (arn, wanted) = (change.id(), change.desired);
        let current = &change.current.found;
        let (added, removed) = client_id_changes(current.client_id_list(), &wanted.client_id_list);
        // Adding first never leaves the provider without a client id in between.
        for client_id in added {
            let request = iam
                .add_client_id_to_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .client_id(client_id);
            aws_call("iam:AddClientIDToOpenIDConnectProvider", request.send()).await?;
        }
        for client_id in removed {
            let request = iam
                .remove_client_id_from_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .client_id(client_id);
            aws_call(
                "iam:RemoveClientIDFromOpenIDConnectProvider",
                request.send(),
            )
            .await?;
        }
        if thumbprints_changed(current.thumbprint_list(), &wanted.thumbprint_list) {
            let request = iam
                .update_open_id_connect_provider_thumbprint()
                .open_id_connect_provider_arn(arn)
                .set_thumbprint_list(Some(wanted.thumbprint_list.clone()));
            aws_call("iam:UpdateOpenIDConnectProviderThumbprint", request.send()).await?;
        }
        Ok(())
    }

    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let call = "iam:DeleteOpenIDConnectProvider";
        let request = cx.aws.iam().await.delete_open_id_connect_provider();
        let request = request.open_id_connect_provider_arn(&live.id);
        request.send().await.map_err(|e| sdk_error(call, e))?;
        Ok(())
    }
}

/// The blueprint attributes GetOpenIDConnectProvider reports (the layer adds `tags`). Left
/// out: `url` (the ARN names it, it cannot change, and IAM reports it without its
/// `https://`) and `thumbprint_list` (an empty list leaves thumbprints to IAM, which then
/// reports its own, and thumbprints are compared without regard to order and case).
fn observed_attrs(provider: &GetOpenIdConnectProviderOutput) -> Attrs {
    let client_ids = provider.client_id_list().to_vec();
    observed([("client_id_list", Value::from(client_ids))])
}

/// The providers of `arns` IAM still knows, a few at once.
async fn get_providers(iam: &Client, arns: &[String]) -> KindResult<Vec<Provider>> {
    let reads = arns.iter().map(|arn| async move {
        let request = iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn);
        let answer = aws_call("iam:GetOpenIDConnectProvider", request.send()).await;
        let found = unless_gone(answer)?;
        Ok(found.map(|found| Provider {
            arn: arn.clone(),
            found,
        }))
    });
    get_each(reads.collect()).await
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

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
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
