//! `organizations.organizational_unit`: an OU under the root or under another OU. Renaming
//! is done in place (UpdateOrganizationalUnit); a new parent means a new OU.

use super::{
    address, changing, explained, for_create, found, id_of, is_ours, parent_of, read_each,
    read_found, retag, root, tagging_by_id, tags_of, NOT_IN_USE, SETTLING,
};
use crate::aws::common::{missing, observed, outputs, string_or_null};
use crate::aws::{aws_call, retry_while, sdk_error, AwsContext, Cx};
use crate::kinds::{
    AttrType, Attrs, AwsItem, AwsKind, Change, KindError, KindResult, Live, Schema, Tagging, Tags,
    Tier,
};
use async_trait::async_trait;
use aws_sdk_organizations::types::OrganizationalUnit;
use aws_sdk_organizations::Client;
use serde_json::Value;

crate::spec! {
    pub(super) struct Spec with tags {
        name: String = required(AttrType::String),
        // The root (`${org.root_id}`) or another OU.
        parent_id: String = required(AttrType::String).force_new(),
    }
}

const SCHEMA: Schema = Schema::new(
    "organizations.organizational_unit",
    Tier::Accounts,
    Spec::ATTRS,
)
.outputs(&["arn"]);

const NOT_FOUND: &str = "OrganizationalUnitNotFoundException";
const DESCRIBE: &str = "organizations:DescribeOrganizationalUnit";
const DUPLICATE: &str = "DuplicateOrganizationalUnitException";
/// DeleteOrganizationalUnit while accounts or OUs are still inside.
const NOT_EMPTY: &str = "OrganizationalUnitNotEmptyException";

#[async_trait]
impl AwsItem for Current {
    type Client = AwsContext;
    const DESCRIBE: &'static str = DESCRIBE;
    const NOT_FOUND: &'static [&'static str] = &[NOT_FOUND, NOT_IN_USE];

    async fn describe(aws: &AwsContext, ids: &[String]) -> KindResult<Vec<Current>> {
        let org = aws.organizations().await;
        let read = |id: String| async move { read_one(org, &id).await };
        read_found(ids.iter().cloned(), read).await
    }

    /// Every OU of the organization: a walk down from the root, one
    /// ListOrganizationalUnitsForParent per OU, then one ListTagsForResource per OU.
    async fn list(aws: &AwsContext, _tags: &Tags) -> KindResult<Option<Vec<Current>>> {
        let org = aws.organizations().await;
        let Some(root) = found(root(org).await, &[])? else {
            return Ok(Some(Vec::new()));
        };
        let mut parents = vec![id_of(&root)?.to_string()];
        let mut all = Vec::new();
        while let Some(parent_id) = parents.pop() {
            for ou in children(org, &parent_id).await? {
                parents.extend(ou.id().map(str::to_string));
                all.push((ou, parent_id.clone()));
            }
        }
        let tagged = read_each(all, |(ou, parent_id)| async move {
            let tags = tags_of(org, ou.id().unwrap_or_default()).await?;
            Ok(Current {
                ou,
                parent_id,
                tags,
            })
        });
        Ok(Some(tagged.await?))
    }

    fn tags(&self) -> Option<Tags> {
        Some(self.tags.clone())
    }

    async fn tagging(&self, aws: &AwsContext, id: &str) -> KindResult<Option<Tagging>> {
        Ok(Some(tagging_by_id(aws, id).await))
    }
}

pub(super) struct OrganizationalUnitKind;

/// An OU as AWS reports it, with what takes more calls to learn.
pub(super) struct Current {
    ou: OrganizationalUnit,
    parent_id: String,
    tags: Tags,
}

#[async_trait]
impl AwsKind for OrganizationalUnitKind {
    type Spec = Spec;
    type Item = Current;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        let org = cx.aws.organizations().await;
        let call = "organizations:CreateOrganizationalUnit";
        let sdk_tags = &for_create(call, tags)?;
        let created = changing(|| async move {
            let request = org.create_organizational_unit().parent_id(&spec.parent_id);
            let request = request.name(&spec.name).set_tags(sdk_tags.clone());
            request.send().await.map_err(|e| sdk_error(call, e))
        })
        .await;
        match created {
            Ok(created) => {
                let id = created.organizational_unit().and_then(|ou| ou.id());
                Ok(id
                    .ok_or_else(|| missing(call, "OrganizationalUnit.Id"))?
                    .to_string())
            }
            // OU names are unique under a parent: an interrupted run may have made it.
            Err(err) if err.code.as_deref() == Some(DUPLICATE) => adopt(org, spec, tags, err).await,
            Err(err) => Err(err),
        }
    }

    fn live(&self, _: &AwsContext, current: &Current) -> Option<Live> {
        to_live(current)
    }

    /// Compared with what AWS reports, not with state: drift gets corrected too.
    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        let name = change.desired.name.as_str();
        if change.current.ou.name() == Some(name) {
            return Ok(());
        }
        let (org, id) = (cx.aws.organizations().await, change.id());
        changing(|| async move {
            let request = org.update_organizational_unit().organizational_unit_id(id);
            let sent = request.name(name).send().await;
            sent.map(drop)
                .map_err(|e| sdk_error("organizations:UpdateOrganizationalUnit", e))
        })
        .await
    }

    /// DeleteOrganizationalUnit. AWS refuses while accounts or OUs are inside; those moved
    /// or deleted moments ago may still count for a little while, so that is retried for
    /// a minute before AWS's message is passed on.
    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let org = cx.aws.organizations().await;
        let id = live.id.as_str();
        retry_while(&[NOT_EMPTY], SETTLING, || {
            changing(|| async move {
                let request = org.delete_organizational_unit().organizational_unit_id(id);
                let sent = request.send().await;
                sent.map(drop)
                    .map_err(|e| sdk_error("organizations:DeleteOrganizationalUnit", e))
            })
        })
        .await
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
    if !is_ours(&tags_of(org, id).await?, tags) {
        let why = format!(
            "OU {id} named {:?} under {} was not made by this blueprint's {}: \
             import it or choose another name",
            spec.name,
            spec.parent_id,
            address(tags)
        );
        return Err(explained(duplicate, &why));
    }
    retag(org, id, tags).await?;
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
    let request = org
        .describe_organizational_unit()
        .organizational_unit_id(id);
    let described = aws_call(DESCRIBE, request.send()).await;
    let Some(described) = found(described, &[NOT_FOUND])? else {
        return Ok(None);
    };
    let ou = described
        .organizational_unit
        .ok_or_else(|| missing(DESCRIBE, "OrganizationalUnit"))?;
    let (parent_id, tags) = futures::try_join!(parent_of(org, id), tags_of(org, id))?;
    Ok(Some(Current {
        ou,
        parent_id,
        tags,
    }))
}

fn to_live(current: &Current) -> Option<Live> {
    let ou = &current.ou;
    Some(Live::observed(
        ou.id()?.to_string(),
        outputs([("arn", ou.arn().map(str::to_string))]),
        observed([
            ("name", string_or_null(ou.name())),
            ("parent_id", Value::String(current.parent_id.clone())),
        ]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::{tag_map, user_tags};
    use serde_json::json;

    #[test]
    fn live_reports_name_parent_and_user_tags() {
        let current = Current {
            ou: OrganizationalUnit::builder()
                .id("ou-ab12-cdef3456")
                .arn("arn:aws:organizations::111111111111:ou/o-abc/ou-ab12-cdef3456")
                .name("workloads")
                .build(),
            parent_id: "r-ab12".into(),
            tags: tag_map(&[("team", "platform"), ("innovate:address", "workloads")]),
        };
        let live = to_live(&current).unwrap();
        assert_eq!(live.id, "ou-ab12-cdef3456");
        assert!(live.outputs["arn"]
            .as_str()
            .unwrap()
            .ends_with("/ou-ab12-cdef3456"));
        assert_eq!(
            Value::Object(live.attrs.unwrap()),
            json!({"name": "workloads", "parent_id": "r-ab12"})
        );
        // The layer reports the user's tags (and innovate's as identity) from these.
        let carried = AwsItem::tags(&current).expect("OUs report their tags");
        assert_eq!(user_tags(&carried), json!({"team": "platform"}));
    }
}
