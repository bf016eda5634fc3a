//! `ec2.subnet`: a subnet of a VPC, optionally giving instances public IPs.

use super::{
    carries_all, delete_retrying, describe_existing, exists, filter, has_code, in_order, missing,
    observed, outputs, parse_spec, read_one, string_or_null, tag_filters, tags, user_tags, Lookup,
    TAGS,
};
use crate::aws::wait::{self, Status};
use crate::aws::{retry_while, sdk_error, AwsContext, Backoff};
use crate::kinds::{
    identity_tags, Attr, AttrType, Attrs, KindResult, Live, Price, ResourceKind, Schema, StepCx,
    Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Subnet, SubnetState};
use aws_sdk_ec2::Client;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

static SCHEMA: Schema = Schema {
    name: "ec2.subnet",
    attrs: &[
        Attr::required("vpc_id", AttrType::String).force_new(),
        Attr::required("cidr_block", AttrType::Cidr).force_new(),
        Attr::optional("availability_zone", AttrType::String).force_new(),
        Attr::optional("map_public_ip_on_launch", AttrType::Bool).default("false"),
        TAGS,
    ],
    outputs: &["arn", "availability_zone_id"],
    taggable: true,
    tier: Tier::Network,
    price: Price::Free,
};

const NOT_FOUND: &str = "InvalidSubnetID.NotFound";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    vpc_id: String,
    cidr_block: String,
    availability_zone: Option<String>,
    map_public_ip_on_launch: bool,
}

pub(super) struct SubnetKind(pub(super) Arc<AwsContext>);

#[async_trait]
impl ResourceKind for SubnetKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        let ec2 = self.0.ec2().await;
        let id = create_subnet(ec2, &spec, tags).await?;
        wait_available(cx, ec2, &id).await?;
        if spec.map_public_ip_on_launch {
            map_public_ip(ec2, &id, true).await?;
        }
        self.read_one(&id).await
    }

    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        let ec2 = self.0.ec2().await;
        let subnets = describe(ec2, ids).await?;
        Ok(in_order(ids, subnets.iter().filter_map(to_live).collect()))
    }

    async fn list_tagged(&self, tags: &Tags) -> KindResult<Option<Vec<Live>>> {
        let ec2 = self.0.ec2().await;
        let subnets: Vec<Subnet> = ec2
            .describe_subnets()
            .set_filters(Some(tag_filters(tags)))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("ec2:DescribeSubnets", e))?;
        let tagged = subnets
            .iter()
            .filter(|subnet| carries_all(&tags::to_map(subnet.tags()), tags));
        Ok(Some(tagged.filter_map(to_live).collect()))
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
        let ec2 = self.0.ec2().await;
        let current = describe(ec2, std::slice::from_ref(&live.id)).await?.pop();
        let current = exists("ec2:DescribeSubnets", NOT_FOUND, &live.id, current)?;
        tags::sync(ec2, &live.id, current.tags(), tags).await?;
        // DescribeSubnets reports the flag, so compare with AWS rather than with state.
        if current.map_public_ip_on_launch() != Some(spec.map_public_ip_on_launch) {
            map_public_ip(ec2, &live.id, spec.map_public_ip_on_launch).await?;
        }
        self.read_one(&live.id).await
    }

    async fn delete(&self, _cx: &StepCx, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let ec2 = self.0.ec2().await;
        let id = live.id.as_str();
        delete_retrying(&[NOT_FOUND], || async move {
            let request = ec2.delete_subnet().subnet_id(id);
            request
                .send()
                .await
                .map_err(|e| sdk_error("ec2:DeleteSubnet", e))?;
            Ok(())
        })
        .await
    }
}

impl SubnetKind {
    async fn read_one(&self, id: &str) -> KindResult<Live> {
        read_one(self, "ec2:DescribeSubnets", NOT_FOUND, id).await
    }
}

/// Creates the subnet; a VPC created moments ago may not be visible to CreateSubnet yet.
async fn create_subnet(ec2: &Client, spec: &Spec, tags: &Tags) -> KindResult<String> {
    let created = retry_while(&["InvalidVpcID.NotFound"], Backoff::CONSISTENCY, || async {
        ec2.create_subnet()
            .vpc_id(&spec.vpc_id)
            .cidr_block(&spec.cidr_block)
            .set_availability_zone(spec.availability_zone.clone())
            .set_tag_specifications(tags::specification(ResourceType::Subnet, tags))
            .send()
            .await
            .map_err(|e| sdk_error("ec2:CreateSubnet", e))
    })
    .await;
    let created = match created {
        Err(err) if has_code(&err, &["InvalidSubnet.Conflict"]) => {
            return own_subnet_at(ec2, spec, tags).await?.ok_or(err);
        }
        other => other?,
    };
    let id = created.subnet().and_then(Subnet::subnet_id);
    Ok(id
        .ok_or_else(|| missing("ec2:CreateSubnet", "SubnetId"))?
        .to_string())
}

/// The subnet at the blueprint's CIDR in the VPC when it carries this instance's identity
/// tags: made by an earlier attempt of this same create whose answer was lost. Anyone else's
/// subnet there stays a conflict.
async fn own_subnet_at(ec2: &Client, spec: &Spec, tags: &Tags) -> KindResult<Option<String>> {
    let found = ec2
        .describe_subnets()
        .filters(filter("vpc-id", [spec.vpc_id.as_str()]))
        .filters(filter("cidr-block", [spec.cidr_block.as_str()]))
        .send()
        .await
        .map_err(|e| sdk_error("ec2:DescribeSubnets", e))?;
    let own = found
        .subnets()
        .iter()
        .find(|subnet| carries_all(&tags::to_map(subnet.tags()), &identity_tags(tags)));
    Ok(own.and_then(Subnet::subnet_id).map(str::to_string))
}

async fn describe(ec2: &Client, ids: &[String]) -> KindResult<Vec<Subnet>> {
    describe_existing(ids, &[NOT_FOUND], |lookup| async move {
        let request = match lookup {
            Lookup::Ids => ec2.describe_subnets().set_subnet_ids(Some(ids.to_vec())),
            Lookup::Filter => ec2.describe_subnets().filters(filter("subnet-id", ids)),
        };
        let pages = request.into_paginator().items().send();
        pages
            .try_collect()
            .await
            .map_err(|e| sdk_error("ec2:DescribeSubnets", e))
    })
    .await
}

async fn wait_available(cx: &StepCx, ec2: &Client, id: &str) -> KindResult<()> {
    let ids = &[id.to_string()];
    wait::until(
        cx,
        "ec2:DescribeSubnets",
        "available",
        Backoff::CONSISTENCY,
        || async move {
            let subnets = describe(ec2, ids).await?;
            Ok(match subnets.first().and_then(Subnet::state) {
                Some(SubnetState::Available) => Status::Ready(()),
                Some(state) => Status::Pending(state.as_str().to_string()),
                None => Status::Pending("not visible yet".to_string()),
            })
        },
    )
    .await
}

async fn map_public_ip(ec2: &Client, id: &str, on: bool) -> KindResult<()> {
    retry_while(&[NOT_FOUND], Backoff::CONSISTENCY, || async move {
        ec2.modify_subnet_attribute()
            .subnet_id(id)
            .map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build())
            .send()
            .await
            .map_err(|e| sdk_error("ec2:ModifySubnetAttribute", e))?;
        Ok(())
    })
    .await
}

fn to_live(subnet: &Subnet) -> Option<Live> {
    let outputs = outputs([
        ("arn", subnet.subnet_arn().map(str::to_string)),
        (
            "availability_zone_id",
            subnet.availability_zone_id().map(str::to_string),
        ),
    ]);
    Some(Live {
        attrs: Some(observed_attrs(subnet)),
        id: subnet.subnet_id()?.to_string(),
        outputs,
        identity: identity_tags(&tags::to_map(subnet.tags())),
    })
}

/// Every blueprint attribute of a subnet, as DescribeSubnets reports it.
fn observed_attrs(subnet: &Subnet) -> Attrs {
    observed([
        ("vpc_id", string_or_null(subnet.vpc_id())),
        ("cidr_block", string_or_null(subnet.cidr_block())),
        (
            "availability_zone",
            string_or_null(subnet.availability_zone()),
        ),
        (
            "map_public_ip_on_launch",
            subnet
                .map_public_ip_on_launch()
                .map_or(Value::Null, Value::Bool),
        ),
        ("tags", user_tags(&tags::to_map(subnet.tags()))),
    ])
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
    fn observed_attrs_are_every_blueprint_attribute() {
        let subnet = Subnet::builder()
            .subnet_id("subnet-1")
            .vpc_id("vpc-1")
            .cidr_block("10.0.1.0/24")
            .availability_zone("us-east-1a")
            .map_public_ip_on_launch(true)
            .tags(
                aws_sdk_ec2::types::Tag::builder()
                    .key("aws:cloudformation:stack-id")
                    .value("x")
                    .build(),
            )
            .build();
        let attrs = Value::Object(observed_attrs(&subnet));
        assert_eq!(
            attrs,
            json!({"vpc_id": "vpc-1", "cidr_block": "10.0.1.0/24",
                "availability_zone": "us-east-1a", "map_public_ip_on_launch": true, "tags": {}})
        );
        let names: Vec<&str> = SCHEMA.attrs.iter().map(|a| a.name).collect();
        assert!(attrs
            .as_object()
            .unwrap()
            .keys()
            .all(|k| names.contains(&k.as_str())));
    }
}
