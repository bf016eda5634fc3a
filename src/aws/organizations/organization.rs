//! `organizations.organization`: the caller's account becomes the management account of a
//! new organization. Its id is the organization id; `root_id` is what OUs, accounts and
//! policies hang from.
//!
//! An account manages at most one organization. When the caller already manages one with
//! the wanted feature set, create adopts it instead of failing: that is what someone who
//! runs the blueprint again (after an interrupted apply, or against an estate set up by
//! hand) expects. One with another feature set, or membership in someone else's
//! organization, is an error that says so.

use super::{changing, found, one_of, root, NOT_IN_USE};
use crate::aws::common::{has_code, missing, observed, outputs, parse_spec};
use crate::aws::{retry_while, sdk_error, AwsContext, Backoff};
use crate::kinds::{
    Attr, AttrType, Attrs, KindError, KindResult, Live, Price, ResourceKind, Schema, StepCx, Tags,
    Tier,
};
use async_trait::async_trait;
use aws_sdk_organizations::types::{Organization, OrganizationFeatureSet, Root};
use aws_sdk_organizations::Client;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

static SCHEMA: Schema = Schema {
    name: "organizations.organization",
    attrs: &[Attr::optional("feature_set", AttrType::String)
        .default("\"ALL\"")
        .force_new()],
    outputs: &["arn", "root_id", "master_account_id"],
    // Roots, OUs, accounts and policies take tags; the organization itself does not.
    taggable: false,
    tier: Tier::Accounts,
    price: Price::Free,
};

/// What CreateOrganization answers when the caller already manages or belongs to one.
const ALREADY: [&str; 2] = [
    "AlreadyInOrganizationException",
    "AWSOrganizationsInUseException",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    feature_set: String,
}

impl Spec {
    fn parse(desired: &Attrs) -> KindResult<Spec> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        let allowed = OrganizationFeatureSet::values();
        one_of(SCHEMA.name, "feature_set", &spec.feature_set, allowed)?;
        Ok(spec)
    }
}

pub(super) struct OrganizationKind(pub(super) Arc<AwsContext>);

#[async_trait]
impl ResourceKind for OrganizationKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, _cx: &StepCx, desired: &Attrs, _tags: &Tags) -> KindResult<Live> {
        let spec = Spec::parse(desired)?;
        let org = self.0.organizations().await;
        let feature_set = &OrganizationFeatureSet::from(spec.feature_set.as_str());
        let created = changing(|| async move {
            org.create_organization()
                .feature_set(feature_set.clone())
                .send()
                .await
                .map_err(|e| sdk_error("organizations:CreateOrganization", e))
        })
        .await;
        let organization = match created {
            Ok(created) => created
                .organization
                .ok_or_else(|| missing("organizations:CreateOrganization", "Organization"))?,
            Err(err) if has_code(&err, &ALREADY) => adoptable(org, &spec, err).await?,
            Err(err) => return Err(err),
        };
        // The root appears with the organization; allow a moment for it to be readable.
        let root = retry_while(&[NOT_IN_USE], Backoff::CONSISTENCY, || root(org)).await?;
        to_live(&organization, &root)
    }

    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let org = self.0.organizations().await;
        // One organization per caller: one DescribeOrganization answers for every id.
        let Some(organization) = found(describe(org).await, &[])? else {
            return Ok(vec![None; ids.len()]);
        };
        let Some(root) = found(root(org).await, &[])? else {
            return Ok(vec![None; ids.len()]);
        };
        let live = to_live(&organization, &root)?;
        Ok(ids
            .iter()
            .map(|id| (*id == live.id).then(|| live.clone()))
            .collect())
    }

    async fn update(
        &self,
        _cx: &StepCx,
        live: &Live,
        _prior: &Attrs,
        _desired: &Attrs,
        _tags: &Tags,
    ) -> KindResult<Live> {
        // feature_set is the only attribute and forces a new organization.
        let read = self.read_many(std::slice::from_ref(&live.id)).await?;
        read.into_iter().flatten().next().ok_or_else(|| {
            KindError::new(
                "organizations:DescribeOrganization",
                Some(NOT_IN_USE.into()),
                format!("organization {} no longer exists", live.id),
            )
        })
    }

    /// DeleteOrganization. AWS refuses while the organization has member accounts (closed
    /// ones included, for the 90 days AWS keeps them); its message is passed on as it is.
    async fn delete(&self, _cx: &StepCx, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let org = self.0.organizations().await;
        // Never delete an organization that is not the one recorded (deleted and made
        // again by someone else): ours is gone already.
        match found(describe(org).await, &[])? {
            Some(current) if current.id() == Some(live.id.as_str()) => {}
            _ => return Ok(()),
        }
        let deleted = changing(|| async move {
            org.delete_organization()
                .send()
                .await
                .map_err(|e| sdk_error("organizations:DeleteOrganization", e))
        })
        .await;
        match deleted {
            Err(err) if has_code(&err, &[NOT_IN_USE]) => Ok(()),
            other => other.map(drop),
        }
    }
}

async fn describe(org: &Client) -> KindResult<Organization> {
    let described = org
        .describe_organization()
        .send()
        .await
        .map_err(|e| sdk_error("organizations:DescribeOrganization", e))?;
    described
        .organization
        .ok_or_else(|| missing("organizations:DescribeOrganization", "Organization"))
}

/// The organization the caller already has, when it is one this step may adopt: the caller
/// manages it (ListRoots answers only the management account) and its feature set is the
/// wanted one. Otherwise `refused`, explained.
async fn adoptable(org: &Client, spec: &Spec, refused: KindError) -> KindResult<Organization> {
    let existing = describe(org).await?;
    let explain = |why: String| KindError {
        message: format!("{} ({why})", refused.message),
        ..refused.clone()
    };
    let id = existing.id().unwrap_or("?").to_string();
    let feature_set = existing.feature_set().map(|f| f.as_str()).unwrap_or("?");
    if feature_set != spec.feature_set {
        return Err(explain(format!(
            "this account already manages organization {id} with feature_set {feature_set}, \
             not {}; set feature_set: {feature_set} to adopt it",
            spec.feature_set
        )));
    }
    match root(org).await {
        Ok(_) => Ok(existing),
        Err(err) if has_code(&err, &["AccessDeniedException"]) => {
            let manager = existing.master_account_id().unwrap_or("another account");
            Err(explain(format!(
                "this account is a member of organization {id}, managed by {manager}; \
                 only its management account can manage it"
            )))
        }
        Err(err) => Err(err),
    }
}

fn to_live(organization: &Organization, root: &Root) -> KindResult<Live> {
    let call = "organizations:DescribeOrganization";
    let id = organization.id().ok_or_else(|| missing(call, "Id"))?;
    let root_id = root
        .id()
        .ok_or_else(|| missing("organizations:ListRoots", "Id"))?;
    let feature_set = organization.feature_set().map(|f| f.as_str().to_string());
    Ok(Live {
        id: id.to_string(),
        outputs: outputs([
            ("arn", organization.arn().map(str::to_string)),
            ("root_id", Some(root_id.to_string())),
            (
                "master_account_id",
                organization.master_account_id().map(str::to_string),
            ),
        ]),
        attrs: Some(observed([(
            "feature_set",
            feature_set.map_or(Value::Null, Value::String),
        )])),
        // An organization carries no tags: there is one per management account.
        identity: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spec_fits_schema() {
        crate::aws::common::testing::assert_spec_fits_schema::<Spec>(&SCHEMA);
    }

    #[test]
    fn feature_set_defaults_to_all_and_is_checked() {
        let spec = Spec::parse(json!({}).as_object().unwrap()).unwrap();
        assert_eq!(spec.feature_set, "ALL");
        let err = Spec::parse(json!({"feature_set": "SOME"}).as_object().unwrap()).unwrap_err();
        assert!(
            err.message.contains("CONSOLIDATED_BILLING"),
            "{}",
            err.message
        );
    }

    #[test]
    fn live_carries_the_root_and_the_feature_set() {
        let organization = Organization::builder()
            .id("o-abc123")
            .arn("arn:aws:organizations::111111111111:organization/o-abc123")
            .feature_set(OrganizationFeatureSet::All)
            .master_account_id("111111111111")
            .build();
        let root = Root::builder().id("r-ab12").build();
        let live = to_live(&organization, &root).unwrap();
        assert_eq!(live.id, "o-abc123");
        assert_eq!(live.outputs["root_id"], "r-ab12");
        assert_eq!(live.outputs["master_account_id"], "111111111111");
        assert_eq!(live.attrs.unwrap()["feature_set"], "ALL");
        assert!(to_live(&Organization::builder().build(), &root).is_err());
    }
}
