//! `organizations.organizational_unit`: an OU under the root or under another OU. Renaming
//! is done in place (UpdateOrganizationalUnit); a new parent means a new OU.

use super::{
    changing, for_create, found, is_ours, parent_of, read_each, root, sync_tags, tags_of, SETTLING,
};
use crate::aws::common::{carries_all, ignore_gone, missing, observed, outputs, parse_spec};
use crate::aws::common::{user_tags, TAGS};
use crate::aws::{retry_while, sdk_error, AwsContext};
use crate::kinds::{
    identity_tags, Attr, AttrType, Attrs, KindError, KindResult, Live, Price, ResourceKind, Schema,
    StepCx, Tags, Tier, ADDRESS_TAG,
};
use async_trait::async_trait;
use aws_sdk_organizations::types::OrganizationalUnit;
use aws_sdk_organizations::Client;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

static SCHEMA: Schema = Schema {
    name: "organizations.organizational_unit",
    attrs: &[
        Attr::required("name", AttrType::String),
        // The root (`${org.root_id}`) or another OU.
        Attr::required("parent_id", AttrType::String).force_new(),
        TAGS,
    ],
    outputs: &["arn"],
    taggable: true,
    tier: Tier::Accounts,
    price: Price::Free,
};

const NOT_FOUND: &str = "OrganizationalUnitNotFoundException";
const DUPLICATE: &str = "DuplicateOrganizationalUnitException";
/// DeleteOrganizationalUnit while accounts or OUs are still inside.
const NOT_EMPTY: &str = "OrganizationalUnitNotEmptyException";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    name: String,
    parent_id: String,
}

pub(super) struct OrganizationalUnitKind(pub(super) Arc<AwsContext>);

/// An OU as AWS reports it, with what takes more calls to learn.
struct Current {
    ou: OrganizationalUnit,
    parent_id: String,
    tags: Tags,
}

#[async_trait]
impl ResourceKind for OrganizationalUnitKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, _cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        let org = self.0.organizations().await;
        let call = "organizations:CreateOrganizationalUnit";
        let sdk_tags = &for_create(call, tags)?;
        let spec_ref = &spec;
        let created = changing(|| async move {
            org.create_organizational_unit()
                .parent_id(&spec_ref.parent_id)
                .name(&spec_ref.name)
                .set_tags(sdk_tags.clone())
                .send()
                .await
                .map_err(|e| sdk_error(call, e))
        })
        .await;
        let id = match created {
            Ok(created) => created
                .organizational_unit()
                .and_then(|ou| ou.id())
                .ok_or_else(|| missing(call, "OrganizationalUnit.Id"))?
                .to_string(),
            // OU names are unique under a parent: an interrupted run may have made it.
            Err(err) if err.code.as_deref() == Some(DUPLICATE) => {
                adopt(org, &spec, tags, err).await?
            }
            Err(err) => return Err(err),
        };
        let read = retry_while(&[NOT_FOUND], SETTLING, || async {
            read_one(org, &id).await?.ok_or_else(|| gone(&id))
        })
        .await?;
        Ok(to_live(&read))
    }

    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        let org = self.0.organizations().await;
        read_each(ids.iter().cloned(), |id| async move {
            Ok(read_one(org, &id).await?.as_ref().map(to_live))
        })
        .await
    }

    /// Every OU of the organization carrying all of `tags`: a walk down from the root, one
    /// ListOrganizationalUnitsForParent per OU, then one ListTagsForResource per OU.
    async fn list_tagged(&self, tags: &Tags) -> KindResult<Option<Vec<Live>>> {
        let org = self.0.organizations().await;
        let Some(root) = found(root(org).await, &[])? else {
            return Ok(Some(Vec::new()));
        };
        let mut parents = vec![root.id().unwrap_or_default().to_string()];
        let mut all = Vec::new();
        while let Some(parent_id) = parents.pop() {
            for ou in children(org, &parent_id).await? {
                parents.extend(ou.id().map(str::to_string));
                all.push((ou, parent_id.clone()));
            }
        }
        let tagged = read_each(all, |(ou, parent_id)| async move {
            let carried = tags_of(org, ou.id().unwrap_or_default()).await?;
            Ok(carries_all(&carried, tags).then(|| {
                to_live(&Current {
                    ou,
                    parent_id,
                    tags: carried,
                })
            }))
        })
        .await?;
        Ok(Some(tagged.into_iter().flatten().collect()))
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
        let org = self.0.organizations().await;
        // Compare with what AWS reports, not with state: drift gets corrected too.
        let current = read_one(org, &live.id)
            .await?
            .ok_or_else(|| gone(&live.id))?;
        if current.ou.name() != Some(spec.name.as_str()) {
            let (id, name) = (live.id.as_str(), spec.name.as_str());
            changing(|| async move {
                org.update_organizational_unit()
                    .organizational_unit_id(id)
                    .name(name)
                    .send()
                    .await
                    .map_err(|e| sdk_error("organizations:UpdateOrganizationalUnit", e))
            })
            .await?;
        }
        sync_tags(org, &live.id, &current.tags, tags).await?;
        let read = read_one(org, &live.id).await?;
        Ok(to_live(&read.ok_or_else(|| gone(&live.id))?))
    }

    /// DeleteOrganizationalUnit. AWS refuses while accounts or OUs are inside; those moved
    /// or deleted moments ago may still count for a little while, so that is retried for
    /// a minute before AWS's message is passed on.
    async fn delete(&self, _cx: &StepCx, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let org = self.0.organizations().await;
        let id = live.id.as_str();
        let deleted = retry_while(&[NOT_EMPTY], SETTLING, || {
            changing(|| async move {
                org.delete_organizational_unit()
                    .organizational_unit_id(id)
                    .send()
                    .await
                    .map_err(|e| sdk_error("organizations:DeleteOrganizationalUnit", e))?;
                Ok(())
            })
        })
        .await;
        ignore_gone(deleted, &[NOT_FOUND, super::NOT_IN_USE])
    }
}

/// The OU under `parent_id` named like the spec, when it carries this step's identity
/// tags: made by an interrupted run, so it is adopted with today's tags. Otherwise the
/// duplicate error, explained.
async fn adopt(org: &Client, spec: &Spec, tags: &Tags, duplicate: KindError) -> KindResult<String> {
    let existing = children(org, &spec.parent_id).await?;
    let same_name = existing
        .iter()
        .find(|ou| ou.name() == Some(spec.name.as_str()));
    let Some(id) = same_name.and_then(|ou| ou.id()) else {
        return Err(duplicate);
    };
    let carried = tags_of(org, id).await?;
    if !is_ours(&carried, tags) {
        let message = format!(
            "{} (OU {id} named {:?} under {} was not made by this blueprint's {}: \
             import it or choose another name)",
            duplicate.message,
            spec.name,
            spec.parent_id,
            tags.get(ADDRESS_TAG).map_or("resource", String::as_str)
        );
        return Err(KindError {
            message,
            ..duplicate
        });
    }
    sync_tags(org, id, &carried, tags).await?;
    Ok(id.to_string())
}

/// The OUs directly under a root or OU.
async fn children(org: &Client, parent_id: &str) -> KindResult<Vec<OrganizationalUnit>> {
    let pages: Vec<_> = org
        .list_organizational_units_for_parent()
        .parent_id(parent_id)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("organizations:ListOrganizationalUnitsForParent", e))?;
    Ok(pages
        .into_iter()
        .flat_map(|page| page.organizational_units.unwrap_or_default())
        .collect())
}

/// DescribeOrganizationalUnit, ListParents and ListTagsForResource for one OU; `None`
/// when it no longer exists.
async fn read_one(org: &Client, id: &str) -> KindResult<Option<Current>> {
    let described = org
        .describe_organizational_unit()
        .organizational_unit_id(id)
        .send()
        .await
        .map_err(|e| sdk_error("organizations:DescribeOrganizationalUnit", e));
    let Some(described) = found(described, &[NOT_FOUND])? else {
        return Ok(None);
    };
    let ou = described.organizational_unit.ok_or_else(|| {
        missing(
            "organizations:DescribeOrganizationalUnit",
            "OrganizationalUnit",
        )
    })?;
    let (parent_id, tags) = futures::try_join!(parent_of(org, id), tags_of(org, id))?;
    Ok(Some(Current {
        ou,
        parent_id,
        tags,
    }))
}

fn gone(id: &str) -> KindError {
    KindError::new(
        "organizations:DescribeOrganizationalUnit",
        Some(NOT_FOUND.into()),
        format!("organizational unit {id} no longer exists"),
    )
}

fn to_live(current: &Current) -> Live {
    let ou = &current.ou;
    Live {
        id: ou.id().unwrap_or_default().to_string(),
        outputs: outputs([("arn", ou.arn().map(str::to_string))]),
        attrs: Some(observed([
            ("name", ou.name().map_or(Value::Null, |n| n.into())),
            ("parent_id", Value::String(current.parent_id.clone())),
            ("tags", user_tags(&current.tags)),
        ])),
        identity: identity_tags(&current.tags),
    }
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
    fn live_reports_name_parent_and_user_tags() {
        let current = Current {
            ou: OrganizationalUnit::builder()
                .id("ou-ab12-cdef3456")
                .arn("arn:aws:organizations::111111111111:ou/o-abc/ou-ab12-cdef3456")
                .name("workloads")
                .build(),
            parent_id: "r-ab12".into(),
            tags: [("team", "platform"), ("innovate:address", "workloads")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let live = to_live(&current);
        assert_eq!(live.id, "ou-ab12-cdef3456");
        assert!(live.outputs["arn"]
            .as_str()
            .unwrap()
            .ends_with("/ou-ab12-cdef3456"));
        assert_eq!(
            Value::Object(live.attrs.unwrap()),
            json!({"name": "workloads", "parent_id": "r-ab12", "tags": {"team": "platform"}})
        );
    }
}
