//! `rds.db_subnet_group`: the subnets (at least two AZs) a DB instance may be placed in.

use super::{delete_group, describe_named, lower, natural_id, tags};
use crate::aws::common::{missing, observed, outputs, string_or_null};
use crate::aws::{aws_call, sdk_error, AwsContext, Cx};
use crate::kinds::{
    AttrType, Attrs, AwsItem, AwsKind, Change, KindResult, Live, Schema, Tagging, Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_rds::types::DbSubnetGroup;
use aws_sdk_rds::Client;

crate::spec! {
    pub(super) struct Spec with tags {
        name: String = required(AttrType::String).force_new(),
        description: String = optional(AttrType::String).default("\"Managed by innovate\""),
        /// AWS wants subnets in at least two AZs, and at most 20 subnets a group.
        subnet_ids: Vec<String> = required(AttrType::List(&AttrType::String))
            .unordered()
            .items(2, 20),
    }
}

const SCHEMA: Schema =
    Schema::new("rds.db_subnet_group", Tier::Database, Spec::ATTRS).outputs(&["arn", "vpc_id"]);

const NOT_FOUND: &str = "DBSubnetGroupNotFoundFault";

#[async_trait]
impl AwsItem for DbSubnetGroup {
    type Client = AwsContext;
    const DESCRIBE: &'static str = "rds:DescribeDBSubnetGroups";
    const NOT_FOUND: &'static [&'static str] = &[NOT_FOUND];

    async fn describe(aws: &AwsContext, names: &[String]) -> KindResult<Vec<DbSubnetGroup>> {
        describe(aws.rds().await, &lower(names)).await
    }

    async fn tagging(&self, aws: &AwsContext, _id: &str) -> KindResult<Option<Tagging>> {
        Ok(Some(tags::by_arn(aws, group_arn(self)?).await))
    }
}

pub(super) struct DbSubnetGroupKind;

#[async_trait]
impl AwsKind for DbSubnetGroupKind {
    type Spec = Spec;
    type Item = DbSubnetGroup;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        let request = cx
            .aws
            .rds()
            .await
            .create_db_subnet_group()
            .db_subnet_group_name(&spec.name)
            .db_subnet_group_description(&spec.description)
            .set_subnet_ids(Some(spec.subnet_ids.clone()))
            .set_tags(tags::at_creation(tags));
        let created = aws_call("rds:CreateDBSubnetGroup", request.send()).await?;
        let name = created
            .db_subnet_group()
            .and_then(DbSubnetGroup::db_subnet_group_name);
        let name = name.ok_or_else(|| missing("rds:CreateDBSubnetGroup", "DBSubnetGroupName"))?;
        Ok(name.to_string())
    }

    fn natural_id(&self, spec: &Spec) -> Option<String> {
        natural_id(&spec.name)
    }

    fn conflict_codes(&self) -> &'static [&'static str] {
        &["DBSubnetGroupAlreadyExists"]
    }

    // DescribeDBSubnetGroups reports no tags: listing by tag would take a
    // ListTagsForResource per group, so groups are not listed.

    async fn identity_of(&self, aws: &AwsContext, live: &Live) -> KindResult<Tags> {
        tags::identity_of(aws.rds().await, live).await
    }

    fn live(&self, _: &AwsContext, group: &DbSubnetGroup) -> Option<Live> {
        to_live(group)
    }

    /// ModifyDBSubnetGroup replaces the subnet list (the layer syncs the tags).
    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        let rds = cx.aws.rds().await;
        if change.changed("description") || change.changed("subnet_ids") {
            let request = rds
                .modify_db_subnet_group()
                .db_subnet_group_name(change.id())
                .db_subnet_group_description(&change.desired.description)
                .set_subnet_ids(Some(change.desired.subnet_ids.clone()));
            aws_call("rds:ModifyDBSubnetGroup", request.send()).await?;
        }
        Ok(())
    }

    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let rds = cx.aws.rds().await;
        delete_group("InvalidDBSubnetGroupStateFault", || async {
            let request = rds.delete_db_subnet_group().db_subnet_group_name(&live.id);
            aws_call("rds:DeleteDBSubnetGroup", request.send()).await?;
            Ok(())
        })
        .await
    }
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
    // DescribeDBSubnetGroups has no tags: `identity_of` asks for them.
    Some(Live::observed(
        group.db_subnet_group_name()?.to_string(),
        outputs([
            ("arn", group.db_subnet_group_arn().map(str::to_string)),
            ("vpc_id", group.vpc_id().map(str::to_string)),
        ]),
        observed_attrs(group),
    ))
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

/// The ARN a described group carries: what RDS tags by.
fn group_arn(group: &DbSubnetGroup) -> KindResult<&str> {
    group
        .db_subnet_group_arn()
        .ok_or_else(|| missing("rds:DescribeDBSubnetGroups", "DBSubnetGroupArn"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
