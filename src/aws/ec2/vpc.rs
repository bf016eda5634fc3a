//! `ec2.vpc`: a VPC with its DNS attributes. Its outputs name the security group and the
//! main route table AWS creates with it.

use super::{
    available, delete_retrying, filter, missing, observed, outputs, string_or_null, tag_filters,
    tagging_by_id, tags,
};
use crate::aws::{aws_call, retry_while, AwsContext, Backoff, Cx};
use crate::kinds::{
    AttrType, Attrs, AwsItem, AwsKind, Change, KindResult, Live, Schema, Seen, Tagging, Tags, Tier,
    Waiter,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Tenancy, Vpc, VpcTenancy};
use aws_sdk_ec2::Client;
use serde_json::Value;
use std::collections::HashMap;

crate::spec! {
    pub(super) struct Spec with tags {
        cidr_block: String = required(AttrType::Cidr).force_new(),
        enable_dns_support: bool = optional(AttrType::Bool).default("true"),
        enable_dns_hostnames: bool = optional(AttrType::Bool).default("false"),
        instance_tenancy: String = optional(AttrType::String)
            .default("\"default\"")
            .force_new_unless(dedicated_to_default)
            .one_of(&["default", "dedicated"]),
    }
}

const SCHEMA: Schema = Schema::new("ec2.vpc", Tier::Network, Spec::ATTRS).outputs(&[
    "arn",
    "owner_id",
    "default_security_group_id",
    "main_route_table_id",
]);

const NOT_FOUND: &str = "InvalidVpcID.NotFound";
const DESCRIBE: &str = "ec2:DescribeVpcs";

/// A fresh VPC is `pending` for a moment, and on AWS may not be visible at all at first.
const AVAILABLE: Waiter = available(DESCRIBE);

/// A VPC with what its outputs take one more call each for (for all VPCs of a read at once).
pub(super) struct VpcItem {
    vpc: Vpc,
    default_security_group: Option<String>,
    main_route_table: Option<String>,
}

#[async_trait]
impl AwsItem for VpcItem {
    type Client = AwsContext;
    const DESCRIBE: &'static str = DESCRIBE;
    const NOT_FOUND: &'static [&'static str] = &[NOT_FOUND];

    async fn describe(aws: &AwsContext, ids: &[String]) -> KindResult<Vec<VpcItem>> {
        let ec2 = aws.ec2().await;
        with_outputs(ec2, describe(ec2, ids).await?).await
    }

    async fn list(aws: &AwsContext, tags: &Tags) -> KindResult<Option<Vec<VpcItem>>> {
        let ec2 = aws.ec2().await;
        let request = ec2.describe_vpcs().set_filters(Some(tag_filters(tags)));
        let vpcs = all_pages!(request, DESCRIBE)?;
        Ok(Some(with_outputs(ec2, vpcs).await?))
    }

    fn tags(&self) -> Option<Tags> {
        Some(tags::to_map(self.vpc.tags()))
    }

    async fn tagging(&self, aws: &AwsContext, id: &str) -> KindResult<Option<Tagging>> {
        Ok(Some(tagging_by_id(aws, id).await))
    }
}

pub(super) struct VpcKind;

#[async_trait]
impl AwsKind for VpcKind {
    type Spec = Spec;
    type Item = VpcItem;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        let ec2 = cx.aws.ec2().await;
        let request = ec2
            .create_vpc()
            .cidr_block(&spec.cidr_block)
            .instance_tenancy(Tenancy::from(spec.instance_tenancy.as_str()))
            .set_tag_specifications(tags::specification(ResourceType::Vpc, tags));
        let created = aws_call("ec2:CreateVpc", request.send()).await?;
        let id = created
            .vpc()
            .and_then(Vpc::vpc_id)
            .ok_or_else(|| missing("ec2:CreateVpc", "VpcId"))?;
        let ids = &[id.to_string()];
        let look = || async move { Ok(describe(ec2, ids).await?.pop()) };
        AVAILABLE.wait(cx, look, state).await?;
        let support = (!spec.enable_dns_support).then_some(false);
        let hostnames = spec.enable_dns_hostnames.then_some(true);
        set_dns(ec2, id, support, hostnames).await?;
        Ok(id.to_string())
    }

    fn live(&self, aws: &AwsContext, item: &VpcItem) -> Option<Live> {
        to_live(aws, item)
    }

    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        let ec2 = cx.aws.ec2().await;
        if change.changed("instance_tenancy") {
            // The plan replaces the VPC for every other change (`dedicated_to_default`).
            let request = ec2.modify_vpc_tenancy().vpc_id(change.id());
            let request = request.instance_tenancy(VpcTenancy::Default);
            aws_call("ec2:ModifyVpcTenancy", request.send()).await?;
        }
        let wanted = |name, value: bool| change.changed(name).then_some(value);
        let support = wanted("enable_dns_support", change.desired.enable_dns_support);
        let hostnames = wanted("enable_dns_hostnames", change.desired.enable_dns_hostnames);
        set_dns(ec2, change.id(), support, hostnames).await
    }

    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let ec2 = cx.aws.ec2().await;
        let id = live.id.as_str();
        delete_retrying(&[NOT_FOUND], || async move {
            aws_call("ec2:DeleteVpc", ec2.delete_vpc().vpc_id(id).send()).await?;
            Ok(())
        })
        .await
    }
}

async fn describe(ec2: &Client, ids: &[String]) -> KindResult<Vec<Vpc>> {
    describe_ids!(
        ec2,
        ids,
        describe_vpcs.set_vpc_ids,
        filters("vpc-id"),
        &[NOT_FOUND],
        DESCRIBE
    )
}

/// ModifyVpcTenancy takes a VPC from dedicated to default tenancy, and only that way;
/// every other change of `instance_tenancy` replaces the VPC.
fn dedicated_to_default(before: Option<&Value>, after: Option<&Value>) -> bool {
    let is = |value: Option<&Value>, tenancy: &str| {
        value.and_then(Value::as_str).unwrap_or("default") == tenancy
    };
    is(before, "dedicated") && is(after, "default")
}

fn state(vpc: &Vpc) -> Seen {
    Seen::new(
        vpc.state()
            .map_or("in no state yet", |state| state.as_str()),
    )
}

/// `vpcs` with their default security group and main route table, in one call each for
/// all of them.
async fn with_outputs(ec2: &Client, vpcs: Vec<Vpc>) -> KindResult<Vec<VpcItem>> {
    let found: Vec<&str> = vpcs.iter().filter_map(Vpc::vpc_id).collect();
    let mut default_groups = default_security_groups(ec2, &found).await?;
    let mut main_tables = main_route_tables(ec2, &found).await?;
    let items = vpcs.into_iter().map(|vpc| {
        let id = vpc.vpc_id().unwrap_or_default();
        VpcItem {
            default_security_group: default_groups.remove(id),
            main_route_table: main_tables.remove(id),
            vpc,
        }
    });
    Ok(items.collect())
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
        aws_call("ec2:ModifyVpcAttribute", request.send()).await?;
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
    let request = ec2
        .describe_security_groups()
        .filters(filter("vpc-id", vpcs.iter().copied()))
        .filters(filter("group-name", ["default"]));
    let groups: Vec<_> = all_pages!(request, "ec2:DescribeSecurityGroups")?;
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
    let request = ec2
        .describe_route_tables()
        .filters(filter("vpc-id", vpcs.iter().copied()))
        .filters(filter("association.main", ["true"]));
    let tables: Vec<_> = all_pages!(request, "ec2:DescribeRouteTables")?;
    let pairs = tables
        .iter()
        .filter_map(|t| Some((t.vpc_id()?.into(), t.route_table_id()?.into())));
    Ok(pairs.collect())
}

fn to_live(aws: &AwsContext, item: &VpcItem) -> Option<Live> {
    let id = item.vpc.vpc_id()?.to_string();
    let owner = item.vpc.owner_id();
    let outputs = outputs([
        (
            "arn",
            owner.and_then(|owner| aws.arn("ec2", owner, &format!("vpc/{id}"))),
        ),
        ("owner_id", owner.map(str::to_string)),
        (
            "default_security_group_id",
            item.default_security_group.clone(),
        ),
        ("main_route_table_id", item.main_route_table.clone()),
    ]);
    Some(Live::observed(id, outputs, observed_attrs(&item.vpc)))
}

/// The blueprint attributes DescribeVpcs reports (the layer adds the tags). The DNS flags
/// are left out: each needs a DescribeVpcAttribute call per VPC.
fn observed_attrs(vpc: &Vpc) -> Attrs {
    observed([
        ("cidr_block", string_or_null(vpc.cidr_block())),
        (
            "instance_tenancy",
            string_or_null(vpc.instance_tenancy().map(Tenancy::as_str)),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn only_dedicated_to_default_tenancy_changes_in_place() {
        let tenancy = SCHEMA.attr("instance_tenancy").unwrap();
        let (dedicated, default) = (json!("dedicated"), json!("default"));
        assert!(!tenancy.replaces(Some(&dedicated), Some(&default)));
        assert!(tenancy.replaces(Some(&default), Some(&dedicated)));
        assert!(
            tenancy.replaces(None, Some(&dedicated)),
            "absent is default"
        );
    }

    #[test]
    fn observed_attrs_are_the_blueprint_attributes_aws_reports() {
        let vpc = Vpc::builder()
            .vpc_id("vpc-1")
            .owner_id("123456789012")
            .cidr_block("10.0.0.0/16")
            .instance_tenancy(Tenancy::Default)
            .build();
        let item = VpcItem {
            vpc,
            default_security_group: Some("sg-1".into()),
            main_route_table: None,
        };
        let live = to_live(&AwsContext::new(None), &item).unwrap();
        assert_eq!(
            Value::Object(live.attrs.unwrap()),
            json!({"cidr_block": "10.0.0.0/16", "instance_tenancy": "default"})
        );
        assert_eq!(
            Value::Object(live.outputs),
            json!({"owner_id": "123456789012", "default_security_group_id": "sg-1"})
        );
    }
}
