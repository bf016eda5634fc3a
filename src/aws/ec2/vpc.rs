//! `ec2.vpc`: a VPC with its DNS attributes.

use super::{
    arn, carries_all, changed, delete_retrying, describe_existing, exists, filter, in_order,
    missing, observed, outputs, parse_spec, read_one, string_or_null, tag_filters, tags, user_tags,
    Lookup, TAGS,
};
use crate::aws::wait::{self, Status};
use crate::aws::{retry_while, sdk_error, AwsContext, Backoff};
use crate::kinds::{
    identity_tags, Attr, AttrType, Attrs, KindResult, Live, Price, ResourceKind, Schema, StepCx,
    Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Tenancy, Vpc, VpcState};
use aws_sdk_ec2::Client;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

static SCHEMA: Schema = Schema {
    name: "ec2.vpc",
    attrs: &[
        Attr::required("cidr_block", AttrType::Cidr).force_new(),
        Attr::optional("enable_dns_support", AttrType::Bool).default("true"),
        Attr::optional("enable_dns_hostnames", AttrType::Bool).default("false"),
        Attr::optional("instance_tenancy", AttrType::String)
            .default("\"default\"")
            .force_new(),
        TAGS,
    ],
    outputs: &[
        "arn",
        "owner_id",
        "default_security_group_id",
        "main_route_table_id",
    ],
    taggable: true,
    tier: Tier::Network,
    price: Price::Free,
};

const NOT_FOUND: &str = "InvalidVpcID.NotFound";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    cidr_block: String,
    enable_dns_support: bool,
    enable_dns_hostnames: bool,
    instance_tenancy: String,
}

pub(super) struct VpcKind(pub(super) Arc<AwsContext>);

#[async_trait]
impl ResourceKind for VpcKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        let ec2 = self.0.ec2().await;
        let created = ec2
            .create_vpc()
            .cidr_block(&spec.cidr_block)
            .instance_tenancy(Tenancy::from(spec.instance_tenancy.as_str()))
            .set_tag_specifications(tags::specification(ResourceType::Vpc, tags))
            .send()
            .await
            .map_err(|e| sdk_error("ec2:CreateVpc", e))?;
        let id = created
            .vpc()
            .and_then(Vpc::vpc_id)
            .ok_or_else(|| missing("ec2:CreateVpc", "VpcId"))?;
        wait_available(cx, ec2, id).await?;
        let support = (!spec.enable_dns_support).then_some(false);
        let hostnames = spec.enable_dns_hostnames.then_some(true);
        set_dns(ec2, id, support, hostnames).await?;
        self.read_one(id).await
    }

    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        let ec2 = self.0.ec2().await;
        let vpcs = describe(ec2, ids).await?;
        Ok(in_order(ids, lives(ec2, &vpcs).await?))
    }

    async fn list_tagged(&self, tags: &Tags) -> KindResult<Option<Vec<Live>>> {
        let ec2 = self.0.ec2().await;
        let vpcs: Vec<Vpc> = ec2
            .describe_vpcs()
            .set_filters(Some(tag_filters(tags)))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("ec2:DescribeVpcs", e))?;
        let vpcs: Vec<Vpc> = vpcs
            .into_iter()
            .filter(|vpc| carries_all(&tags::to_map(vpc.tags()), tags))
            .collect();
        Ok(Some(lives(ec2, &vpcs).await?))
    }

    async fn update(
        &self,
        _cx: &StepCx,
        live: &Live,
        prior: &Attrs,
        desired: &Attrs,
        tags: &Tags,
    ) -> KindResult<Live> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        let ec2 = self.0.ec2().await;
        let current = describe(ec2, std::slice::from_ref(&live.id)).await?.pop();
        let current = exists("ec2:DescribeVpcs", NOT_FOUND, &live.id, current)?;
        tags::sync(ec2, &live.id, current.tags(), tags).await?;
        let wanted = |name, value: bool| changed(&SCHEMA, prior, desired, name).then_some(value);
        let support = wanted("enable_dns_support", spec.enable_dns_support);
        let hostnames = wanted("enable_dns_hostnames", spec.enable_dns_hostnames);
        set_dns(ec2, &live.id, support, hostnames).await?;
        self.read_one(&live.id).await
    }

    async fn delete(&self, _cx: &StepCx, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let ec2 = self.0.ec2().await;
        let id = live.id.as_str();
        delete_retrying(&[NOT_FOUND], || async move {
            ec2.delete_vpc()
                .vpc_id(id)
                .send()
                .await
                .map_err(|e| sdk_error("ec2:DeleteVpc", e))?;
            Ok(())
        })
        .await
    }
}

impl VpcKind {
    async fn read_one(&self, id: &str) -> KindResult<Live> {
        read_one(self, "ec2:DescribeVpcs", NOT_FOUND, id).await
    }
}

/// `vpcs` as [`Live`]s, with the outputs that take one more call each for all of them.
async fn lives(ec2: &Client, vpcs: &[Vpc]) -> KindResult<Vec<Live>> {
    let found: Vec<&str> = vpcs.iter().filter_map(Vpc::vpc_id).collect();
    let default_groups = default_security_groups(ec2, &found).await?;
    let main_tables = main_route_tables(ec2, &found).await?;
    let live = vpcs
        .iter()
        .filter_map(|vpc| to_live(ec2, vpc, &default_groups, &main_tables));
    Ok(live.collect())
}

async fn describe(ec2: &Client, ids: &[String]) -> KindResult<Vec<Vpc>> {
    describe_existing(ids, &[NOT_FOUND], |lookup| async move {
        let request = match lookup {
            Lookup::Ids => ec2.describe_vpcs().set_vpc_ids(Some(ids.to_vec())),
            Lookup::Filter => ec2.describe_vpcs().filters(filter("vpc-id", ids)),
        };
        let pages = request.into_paginator().items().send();
        pages
            .try_collect()
            .await
            .map_err(|e| sdk_error("ec2:DescribeVpcs", e))
    })
    .await
}

/// A fresh VPC is `pending` for a moment, and on AWS may not be visible at all at first.
async fn wait_available(cx: &StepCx, ec2: &Client, id: &str) -> KindResult<()> {
    let ids = &[id.to_string()];
    wait::until(
        cx,
        "ec2:DescribeVpcs",
        "available",
        Backoff::CONSISTENCY,
        || async move {
            let vpcs = describe(ec2, ids).await?;
            Ok(match vpcs.first().and_then(Vpc::state) {
                Some(VpcState::Available) => Status::Ready(()),
                Some(state) => Status::Pending(state.as_str().to_string()),
                None => Status::Pending("not visible yet".to_string()),
            })
        },
    )
    .await
}

#[derive(Debug, Clone, Copy)]
enum Dns {
    Support,
    Hostnames,
}

/// Sets the DNS attributes given as `Some`. Hostnames need DNS support, so support is turned
/// on before and off after hostnames.
async fn set_dns(
    ec2: &Client,
    id: &str,
    support: Option<bool>,
    hostnames: Option<bool>,
) -> KindResult<()> {
    if support == Some(true) {
        set_dns_attribute(ec2, id, Dns::Support, true).await?;
    }
    if let Some(on) = hostnames {
        set_dns_attribute(ec2, id, Dns::Hostnames, on).await?;
    }
    if support == Some(false) {
        set_dns_attribute(ec2, id, Dns::Support, false).await?;
    }
    Ok(())
}

/// ModifyVpcAttribute takes one attribute per call; a fresh VPC may not be visible yet.
async fn set_dns_attribute(ec2: &Client, id: &str, attr: Dns, on: bool) -> KindResult<()> {
    retry_while(&[NOT_FOUND], Backoff::CONSISTENCY, || async move {
        let flag = AttributeBooleanValue::builder().value(on).build();
        let request = ec2.modify_vpc_attribute().vpc_id(id);
        let request = match attr {
            Dns::Support => request.enable_dns_support(flag),
            Dns::Hostnames => request.enable_dns_hostnames(flag),
        };
        request
            .send()
            .await
            .map_err(|e| sdk_error("ec2:ModifyVpcAttribute", e))?;
        Ok(())
    })
    .await
}

/// VPC id -> id of the security group AWS created with it, in one call for all `vpcs`.
async fn default_security_groups(
    ec2: &Client,
    vpcs: &[&str],
) -> KindResult<HashMap<String, String>> {
    if vpcs.is_empty() {
        return Ok(HashMap::new());
    }
    let groups = ec2
        .describe_security_groups()
        .filters(filter("vpc-id", vpcs.iter().copied()))
        .filters(filter("group-name", ["default"]))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("ec2:DescribeSecurityGroups", e))?;
    let pairs = groups
        .iter()
        .filter_map(|g| Some((g.vpc_id()?.into(), g.group_id()?.into())));
    Ok(pairs.collect())
}

/// VPC id -> id of its main route table, in one call for all `vpcs`.
async fn main_route_tables(ec2: &Client, vpcs: &[&str]) -> KindResult<HashMap<String, String>> {
    if vpcs.is_empty() {
        return Ok(HashMap::new());
    }
    let tables = ec2
        .describe_route_tables()
        .filters(filter("vpc-id", vpcs.iter().copied()))
        .filters(filter("association.main", ["true"]))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("ec2:DescribeRouteTables", e))?;
    let pairs = tables
        .iter()
        .filter_map(|t| Some((t.vpc_id()?.into(), t.route_table_id()?.into())));
    Ok(pairs.collect())
}

fn to_live(
    ec2: &Client,
    vpc: &Vpc,
    default_groups: &HashMap<String, String>,
    main_tables: &HashMap<String, String>,
) -> Option<Live> {
    let id = vpc.vpc_id()?.to_string();
    let owner = vpc.owner_id();
    let outputs = outputs([
        (
            "arn",
            owner.and_then(|owner| arn(ec2, owner, &format!("vpc/{id}"))),
        ),
        ("owner_id", owner.map(str::to_string)),
        (
            "default_security_group_id",
            default_groups.get(&id).cloned(),
        ),
        ("main_route_table_id", main_tables.get(&id).cloned()),
    ]);
    Some(Live {
        id,
        outputs,
        attrs: Some(observed_attrs(vpc)),
        identity: identity_tags(&tags::to_map(vpc.tags())),
    })
}

/// The blueprint attributes DescribeVpcs reports. The DNS flags are left out: each needs a
/// DescribeVpcAttribute call per VPC.
fn observed_attrs(vpc: &Vpc) -> Attrs {
    observed([
        ("cidr_block", string_or_null(vpc.cidr_block())),
        (
            "instance_tenancy",
            string_or_null(vpc.instance_tenancy().map(Tenancy::as_str)),
        ),
        ("tags", user_tags(&tags::to_map(vpc.tags()))),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::{json, Value};

    #[test]
    fn spec_fits_schema() {
        crate::aws::common::testing::assert_spec_fits_schema::<Spec>(&SCHEMA);
    }

    #[test]
    fn observed_attrs_are_the_blueprint_attributes_aws_reports() {
        let vpc = Vpc::builder()
            .vpc_id("vpc-1")
            .cidr_block("10.0.0.0/16")
            .instance_tenancy(Tenancy::Default)
            .tags(
                aws_sdk_ec2::types::Tag::builder()
                    .key("Name")
                    .value("main")
                    .build(),
            )
            .tags(
                aws_sdk_ec2::types::Tag::builder()
                    .key("innovate:env")
                    .value("prod")
                    .build(),
            )
            .build();
        assert_eq!(
            Value::Object(observed_attrs(&vpc)),
            json!({"cidr_block": "10.0.0.0/16", "instance_tenancy": "default", "tags": {"Name": "main"}})
        );
    }
}
