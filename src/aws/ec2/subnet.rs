//! `ec2.subnet`: a subnet of a VPC, optionally giving instances public IPs.

use super::{
    available, carries_all, delete_retrying, filter, has_code, missing, observed, outputs,
    string_or_null, tags,
};
use crate::aws::{aws_call, retry_while, AwsContext, Backoff, Cx};
use crate::kinds::{
    identity_tags, AttrType, Attrs, AwsKind, Change, KindResult, Live, Schema, Seen, Tags, Tier,
    Waiter,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Subnet};
use aws_sdk_ec2::Client;
use serde_json::Value;

crate::spec! {
    pub(super) struct Spec with tags {
        vpc_id: String = required(AttrType::String).force_new(),
        cidr_block: String = required(AttrType::Cidr).force_new(),
        availability_zone: Option<String> = optional(AttrType::String).force_new(),
        map_public_ip_on_launch: bool = optional(AttrType::Bool).default("false"),
    }
}

const SCHEMA: Schema =
    Schema::new("ec2.subnet", Tier::Network, Spec::ATTRS).outputs(&["arn", "availability_zone_id"]);

const NOT_FOUND: &str = "InvalidSubnetID.NotFound";
const DESCRIBE: &str = "ec2:DescribeSubnets";
const AVAILABLE: Waiter = available(DESCRIBE);

ec2_item!(Subnet, DESCRIBE, &[NOT_FOUND], described by describe,
    listed by describe_subnets.filters);

pub(super) struct SubnetKind;

#[async_trait]
impl AwsKind for SubnetKind {
    type Spec = Spec;
    type Item = Subnet;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        let ec2 = cx.aws.ec2().await;
        let id = create_subnet(ec2, spec, tags).await?;
        let ids = std::slice::from_ref(&id);
        let look = || async move { Ok(describe(ec2, ids).await?.pop()) };
        AVAILABLE.wait(cx, look, state).await?;
        if spec.map_public_ip_on_launch {
            map_public_ip(ec2, &id, true).await?;
        }
        Ok(id)
    }

    fn live(&self, _: &AwsContext, subnet: &Subnet) -> Option<Live> {
        to_live(subnet)
    }

    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        // DescribeSubnets reports the flag, so compare with AWS rather than with state.
        let wanted = change.desired.map_public_ip_on_launch;
        if change.current.map_public_ip_on_launch() != Some(wanted) {
            map_public_ip(cx.aws.ec2().await, change.id(), wanted).await?;
        }
        Ok(())
    }

    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let ec2 = cx.aws.ec2().await;
        let id = live.id.as_str();
        delete_retrying(&[NOT_FOUND], || async move {
            let request = ec2.delete_subnet().subnet_id(id);
            aws_call("ec2:DeleteSubnet", request.send()).await?;
            Ok(())
        })
        .await
    }
}

/// Creates the subnet; a VPC created moments ago may not be visible to CreateSubnet yet.
async fn create_subnet(ec2: &Client, spec: &Spec, tags: &Tags) -> KindResult<String> {
    let created = retry_while(&["InvalidVpcID.NotFound"], Backoff::CONSISTENCY, || async {
        let request = ec2
            .create_subnet()
            .vpc_id(&spec.vpc_id)
            .cidr_block(&spec.cidr_block)
            .set_availability_zone(spec.availability_zone.clone())
            .set_tag_specifications(tags::specification(ResourceType::Subnet, tags));
        aws_call("ec2:CreateSubnet", request.send()).await
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
    let request = ec2
        .describe_subnets()
        .filters(filter("vpc-id", [spec.vpc_id.as_str()]))
        .filters(filter("cidr-block", [spec.cidr_block.as_str()]));
    let found = aws_call(DESCRIBE, request.send()).await?;
    let own = found
        .subnets()
        .iter()
        .find(|subnet| carries_all(&tags::to_map(subnet.tags()), &identity_tags(tags)));
    Ok(own.and_then(Subnet::subnet_id).map(str::to_string))
}

async fn describe(ec2: &Client, ids: &[String]) -> KindResult<Vec<Subnet>> {
    describe_ids!(
        ec2,
        ids,
        describe_subnets.set_subnet_ids,
        filters("subnet-id"),
        &[NOT_FOUND],
        DESCRIBE
    )
}

fn state(subnet: &Subnet) -> Seen {
    Seen::new(
        subnet
            .state()
            .map_or("in no state yet", |state| state.as_str()),
    )
}

async fn map_public_ip(ec2: &Client, id: &str, on: bool) -> KindResult<()> {
    retry_while(&[NOT_FOUND], Backoff::CONSISTENCY, || async move {
        let request = ec2
            .modify_subnet_attribute()
            .subnet_id(id)
            .map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build());
        aws_call("ec2:ModifySubnetAttribute", request.send()).await?;
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
    Some(Live::observed(
        subnet.subnet_id()?.to_string(),
        outputs,
        observed_attrs(subnet),
    ))
}

/// Every blueprint attribute of a subnet but its tags (the layer adds those), as
/// DescribeSubnets reports it.
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
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::TAGS;
    use serde_json::json;

    #[test]
    fn observed_attrs_are_every_blueprint_attribute() {
        let subnet = Subnet::builder()
            .subnet_id("subnet-1")
            .vpc_id("vpc-1")
            .cidr_block("10.0.1.0/24")
            .availability_zone("us-east-1a")
            .map_public_ip_on_launch(true)
            .build();
        let attrs = Value::Object(observed_attrs(&subnet));
        assert_eq!(
            attrs,
            json!({"vpc_id": "vpc-1", "cidr_block": "10.0.1.0/24",
                "availability_zone": "us-east-1a", "map_public_ip_on_launch": true})
        );
        let names: Vec<&str> = SCHEMA.attrs.iter().map(|a| a.name).collect();
        assert_eq!(names.len(), attrs.as_object().unwrap().len() + 1);
        assert!(names.contains(&TAGS.name), "the layer adds the tags");
        assert!(attrs
            .as_object()
            .unwrap()
            .keys()
            .all(|k| names.contains(&k.as_str())));
    }
}
