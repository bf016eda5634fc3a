//! `organizations.organization`: the caller's account becomes the management account of a
//! new organization. Its id is the organization id; `root_id` is what OUs, accounts and
//! policies hang from.
//!
//! An account manages at most one organization. When the caller already manages one with
//! the wanted feature set, create adopts it instead of failing: that is what someone who
//! runs the blueprint again (after an interrupted apply, or against an estate set up by
//! hand) expects. One with another feature set, or membership in someone else's
//! organization, is an error that says so.

use super::{changing, check_one_of, explained, found, id_of, root, NOT_IN_USE};
use crate::aws::common::{has_code, missing, observed, outputs, string_or_null};
use crate::aws::{aws_call, sdk_error, AwsContext, Cx};
use crate::kinds::{
    AttrType, Attrs, AwsItem, AwsKind, Change, KindError, KindResult, Live, Schema, Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_organizations::types::{Organization, OrganizationFeatureSet, Root};
use aws_sdk_organizations::Client;

crate::spec! {
    pub(super) struct Spec {
        feature_set: String = optional(AttrType::String)
            .default("\"ALL\"")
            .force_new()
            .one_of(&["ALL", "CONSOLIDATED_BILLING"]),
    }
}

// Roots, OUs, accounts and policies take tags; the organization itself does not.
const SCHEMA: Schema = Schema::new("organizations.organization", Tier::Accounts, Spec::ATTRS)
    .outputs(&["arn", "root_id", "master_account_id"]);

const DESCRIBE: &str = "organizations:DescribeOrganization";

/// What CreateOrganization answers when the caller already manages or belongs to one.
const ALREADY: [&str; 2] = [
    "AlreadyInOrganizationException",
    "AWSOrganizationsInUseException",
];

#[async_trait]
impl AwsItem for Found {
    type Client = AwsContext;
    const DESCRIBE: &'static str = DESCRIBE;
    const NOT_FOUND: &'static [&'static str] = &[NOT_IN_USE];

    /// One organization per caller: one DescribeOrganization (and ListRoots) answers for
    /// every id, and only the one it names is found.
    async fn describe(aws: &AwsContext, ids: &[String]) -> KindResult<Vec<Found>> {
        let org = aws.organizations().await;
        let Some(organization) = found(describe(org).await, &[])? else {
            return Ok(Vec::new());
        };
        if !ids.iter().any(|id| organization.id() == Some(id.as_str())) {
            return Ok(Vec::new());
        }
        let Some(root) = found(root(org).await, &[])? else {
            return Ok(Vec::new());
        };
        Ok(vec![Found { organization, root }])
    }
}

pub(super) struct OrganizationKind;

/// The organization with its root: the root appears with it, a moment later.
pub(super) struct Found {
    organization: Organization,
    root: Root,
}

#[async_trait]
impl AwsKind for OrganizationKind {
    type Spec = Spec;
    type Item = Found;
    const SCHEMA: &'static Schema = &SCHEMA;

    // Until its root is readable, a new organization reads as not there yet.

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, _tags: &Tags) -> KindResult<String> {
        check_one_of(&SCHEMA, "feature_set", &spec.feature_set)?;
        let org = cx.aws.organizations().await;
        let call = "organizations:CreateOrganization";
        let feature_set = &OrganizationFeatureSet::from(spec.feature_set.as_str());
        let created = changing(|| async move {
            let request = org.create_organization().feature_set(feature_set.clone());
            request.send().await.map_err(|e| sdk_error(call, e))
        })
        .await;
        let organization = match created {
            Ok(created) => created
                .organization
                .ok_or_else(|| missing(call, "Organization"))?,
            Err(err) if has_code(&err, &ALREADY) => adoptable(org, spec, err).await?,
            Err(err) => return Err(err),
        };
        let id = organization.id().ok_or_else(|| missing(call, "Id"))?;
        Ok(id.to_string())
    }

    fn live(&self, _: &AwsContext, found: &Found) -> Option<Live> {
        to_live(found)
    }

    /// feature_set is the only attribute and forces a new organization.
    async fn update(&self, _cx: &Cx<'_>, _change: &Change<'_, Self>) -> KindResult<()> {
        Ok(())
    }

    /// DeleteOrganization. AWS refuses while the organization has member accounts (closed
    /// ones included, for the 90 days AWS keeps them); its message is passed on as it is.
    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let org = cx.aws.organizations().await;
        // Never delete an organization that is not the one recorded (deleted and made
        // again by someone else): ours is gone already.
        match found(describe(org).await, &[])? {
            Some(current) if current.id() == Some(live.id.as_str()) => {}
            _ => return Ok(()),
        }
        changing(|| async move {
            let deleted = org.delete_organization().send().await;
            deleted
                .map(drop)
                .map_err(|e| sdk_error("organizations:DeleteOrganization", e))
        })
        .await
    }
}

async fn describe(org: &Client) -> KindResult<Organization> {
    let described = aws_call(DESCRIBE, org.describe_organization().send()).await?;
    described
        .organization
        .ok_or_else(|| missing(DESCRIBE, "Organization"))
}

/// The organization the caller already has, when it is one this step may adopt: the caller
/// manages it (ListRoots answers only the management account) and its feature set is the
/// wanted one. Otherwise `refused`, explained.
async fn adoptable(org: &Client, spec: &Spec, refused: KindError) -> KindResult<Organization> {
    let existing = describe(org).await?;
    let id = existing.id().unwrap_or("?").to_string();
    let feature_set = existing.feature_set().map(|f| f.as_str()).unwrap_or("?");
    if feature_set != spec.feature_set {
        let why = format!(
            "this account already manages organization {id} with feature_set {feature_set}, \
             not {}; set feature_set: {feature_set} to adopt it",
            spec.feature_set
        );
        return Err(explained(refused, &why));
    }
    match root(org).await {
        Ok(_) => Ok(existing),
        Err(err) if has_code(&err, &["AccessDeniedException"]) => {
            let manager = existing.master_account_id().unwrap_or("another account");
            let why = format!(
                "this account is a member of organization {id}, managed by {manager}; \
                 only its management account can manage it"
            );
            Err(explained(refused, &why))
        }
        Err(err) => Err(err),
    }
}

fn to_live(found: &Found) -> Option<Live> {
    let organization = &found.organization;
    let root_id = id_of(&found.root).ok()?;
    let feature_set = organization.feature_set().map(|f| f.as_str());
    // An organization carries no tags: there is one per management account.
    Some(Live::observed(
        organization.id()?.to_string(),
        outputs([
            ("arn", organization.arn().map(str::to_string)),
            ("root_id", Some(root_id.to_string())),
            (
                "master_account_id",
                organization.master_account_id().map(str::to_string),
            ),
        ]),
        observed([("feature_set", string_or_null(feature_set))]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::common::parse_spec;
    use serde_json::json;

    #[test]
    fn feature_set_defaults_to_all_and_is_checked() {
        let spec: Spec = parse_spec(&SCHEMA, json!({}).as_object().unwrap()).unwrap();
        assert_eq!(spec.feature_set, "ALL");
        let err = check_one_of(&SCHEMA, "feature_set", "SOME").unwrap_err();
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
        let live = to_live(&Found { organization, root }).unwrap();
        assert_eq!(live.id, "o-abc123");
        assert_eq!(live.outputs["root_id"], "r-ab12");
        assert_eq!(live.outputs["master_account_id"], "111111111111");
        assert_eq!(live.attrs.unwrap()["feature_set"], "ALL");
        let nameless = Found {
            organization: Organization::builder().build(),
            root: Root::builder().id("r-ab12").build(),
        };
        assert!(to_live(&nameless).is_none());
    }
}
