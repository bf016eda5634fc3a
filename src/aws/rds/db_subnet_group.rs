//! `rds.db_subnet_group`: the subnets (at least two AZs) a DB instance may be placed in.

use super::{describe_named, lower, tags};
use crate::aws::common::{
    changed, ignore_gone, in_order, missing, observed, outputs, parse_spec, string_or_null, TAGS,
};
use crate::aws::{retry_while, sdk_error, AwsContext, Backoff};
use crate::kinds::{
    Attr, AttrType, Attrs, KindError, KindResult, Live, Price, ResourceKind, Schema, StepCx, Tags,
    Tier,
};
use async_trait::async_trait;
use aws_sdk_rds::types::DbSubnetGroup;
use aws_sdk_rds::Client;
use serde::Deserialize;
use std::sync::Arc;

static SCHEMA: Schema = Schema {
    name: "rds.db_subnet_group",
    attrs: &[
        Attr::required("name", AttrType::String).force_new(),
        Attr::optional("description", AttrType::String).default("\"Managed by innovate\""),
        Attr::required("subnet_ids", AttrType::List(&AttrType::String)).unordered(),
        TAGS,
    ],
    outputs: &["arn", "vpc_id"],
    taggable: true,
    tier: Tier::Database,
    price: Price::Free,
};

const NOT_FOUND: &str = "DBSubnetGroupNotFoundFault";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    name: String,
    description: String,
    subnet_ids: Vec<String>,
}

pub(super) struct DbSubnetGroupKind(pub(super) Arc<AwsContext>);

#[async_trait]
impl ResourceKind for DbSubnetGroupKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, _cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        let created = self
            .0
            .rds()
            .await
            .create_db_subnet_group()
            .db_subnet_group_name(&spec.name)
            .db_subnet_group_description(&spec.description)
            .set_subnet_ids(Some(spec.subnet_ids))
            .set_tags(tags::at_creation(tags))
            .send()
            .await
            .map_err(|e| sdk_error("rds:CreateDBSubnetGroup", e))?;
        created
            .db_subnet_group()
            .and_then(to_live)
            .ok_or_else(|| missing("rds:CreateDBSubnetGroup", "DBSubnetGroup"))
    }

    fn natural_id(&self, desired: &Attrs) -> Option<String> {
        crate::aws::common::text_attr(desired, "name")
    }

    fn conflict_codes(&self) -> &'static [&'static str] {
        &["DBSubnetGroupAlreadyExists"]
    }

    async fn identity_of(&self, live: &Live) -> KindResult<Tags> {
        tags::identity_of(self.0.rds().await, live).await
    }

    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        let ids = lower(ids);
        let groups = describe(self.0.rds().await, &ids).await?;
        Ok(in_order(&ids, groups.iter().filter_map(to_live).collect()))
    }

    // DescribeDBSubnetGroups reports no tags: listing by tag would take a
    // ListTagsForResource per group, so groups are not listed.

    async fn update(
        &self,
        _cx: &StepCx,
        live: &Live,
        prior: &Attrs,
        desired: &Attrs,
        tags: &Tags,
    ) -> KindResult<Live> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        let rds = self.0.rds().await;
        let modify = ["description", "subnet_ids"]
            .iter()
            .any(|name| changed(&SCHEMA, prior, desired, name));
        let group = if modify {
            // ModifyDBSubnetGroup replaces the subnet list and answers with the new group.
            let modified = rds
                .modify_db_subnet_group()
                .db_subnet_group_name(&live.id)
                .db_subnet_group_description(&spec.description)
                .set_subnet_ids(Some(spec.subnet_ids))
                .send()
                .await
                .map_err(|e| sdk_error("rds:ModifyDBSubnetGroup", e))?;
            modified.db_subnet_group
        } else {
            describe(rds, std::slice::from_ref(&live.id)).await?.pop()
        };
        let group = group.ok_or_else(|| gone(&live.id))?;
        let arn = group
            .db_subnet_group_arn()
            .ok_or_else(|| missing("rds:DescribeDBSubnetGroups", "DBSubnetGroupArn"))?;
        tags::sync(rds, arn, tags).await?;
        to_live(&group).ok_or_else(|| missing("rds:DescribeDBSubnetGroups", "DBSubnetGroupName"))
    }

    async fn delete(&self, _cx: &StepCx, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let rds = self.0.rds().await;
        let id = live.id.as_str();
        // A group stays in use while the DB instances placed in it are being deleted.
        let deleted = retry_while(
            &["InvalidDBSubnetGroupStateFault"],
            Backoff::DEPENDENCIES,
            || async move {
                rds.delete_db_subnet_group()
                    .db_subnet_group_name(id)
                    .send()
                    .await
                    .map_err(|e| sdk_error("rds:DeleteDBSubnetGroup", e))?;
                Ok(())
            },
        )
        .await;
        ignore_gone(deleted, &[NOT_FOUND])
    }
}

fn gone(name: &str) -> KindError {
    KindError::new(
        "rds:DescribeDBSubnetGroups",
        Some(NOT_FOUND.into()),
        format!("DB subnet group {name} no longer exists"),
    )
}

async fn describe(rds: &Client, names: &[String]) -> KindResult<Vec<DbSubnetGroup>> {
    describe_named(names, NOT_FOUND, |name| async move {
        rds.describe_db_subnet_groups()
            .set_db_subnet_group_name(name)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("rds:DescribeDBSubnetGroups", e))
    })
    .await
}

fn to_live(group: &DbSubnetGroup) -> Option<Live> {
    Some(Live {
        attrs: Some(observed_attrs(group)),
        id: group.db_subnet_group_name()?.to_string(),
        outputs: outputs([
            ("arn", group.db_subnet_group_arn().map(str::to_string)),
            ("vpc_id", group.vpc_id().map(str::to_string)),
        ]),
        // DescribeDBSubnetGroups has no tags: `identity_of` asks for them.
        identity: Tags::new(),
    })
}

/// The blueprint attributes DescribeDBSubnetGroups reports as the blueprint has them. Left
/// out: `name` (RDS keeps it in lower case; it cannot change anyway), `subnet_ids` (the
/// blueprint's order, often `${private[*].id}`, is not kept, so no order of AWS's list is
/// sure to compare equal to an unchanged one) and `tags` (not in the response: a
/// ListTagsForResource per group).
fn observed_attrs(group: &DbSubnetGroup) -> Attrs {
    observed([(
        "description",
        string_or_null(group.db_subnet_group_description()),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_fits_schema() {
        crate::aws::common::testing::assert_spec_fits_schema::<Spec>(&SCHEMA);
    }

    #[test]
    fn live_carries_the_name_arn_and_vpc() {
        let group = DbSubnetGroup::builder()
            .db_subnet_group_name("data")
            .db_subnet_group_arn("arn:aws:rds:us-east-1:123456789012:subgrp:data")
            .vpc_id("vpc-1")
            .build();
        let live = to_live(&group).unwrap();
        assert_eq!(live.id, "data");
        assert_eq!(live.outputs["vpc_id"], "vpc-1");
        assert!(to_live(&DbSubnetGroup::builder().build()).is_none());
    }
}
