//! `ec2.route_table`: a route table with its routes and subnet associations, both changed in
//! place: routes by destination ([`routes`]), associations by subnet ([`associations`]),
//! always against what AWS reports.

mod associations;
mod routes;

use super::{delete_retrying, missing, observed, outputs, string_or_null, tags};
use crate::aws::{aws_call, retry_while, AwsContext, Backoff, Cx};
use crate::kinds::{AttrType, Attrs, AwsKind, Change, KindResult, Live, Schema, Tags, Tier};
use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType, RouteTable, RouteTableAssociation};
use aws_sdk_ec2::Client;
use routes::{actual_routes, desired_routes, observed_routes, RouteSpec, Routes};

crate::spec! {
    pub(super) struct Spec with tags {
        vpc_id: String = required(AttrType::String).force_new(),
        routes: Vec<RouteSpec> = optional(AttrType::List(&AttrType::Object(RouteSpec::ATTRS)))
            .default("[]")
            .unordered(),
        subnet_ids: Vec<String> = optional(AttrType::List(&AttrType::String))
            .default("[]")
            .unordered(),
    }
}

const SCHEMA: Schema =
    Schema::new("ec2.route_table", Tier::Network, Spec::ATTRS).outputs(&["arn", "owner_id"]);

const NOT_FOUND: &str = "InvalidRouteTableID.NotFound";
const DESCRIBE: &str = "ec2:DescribeRouteTables";

ec2_item!(RouteTable, DESCRIBE, &[NOT_FOUND], described by describe,
    listed by describe_route_tables.filters);

pub(super) struct RouteTableKind;

#[async_trait]
impl AwsKind for RouteTableKind {
    type Spec = Spec;
    type Item = RouteTable;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        let routes = desired_routes(&spec.routes)?;
        let ec2 = cx.aws.ec2().await;
        let table = create_route_table(ec2, &spec.vpc_id, tags).await?;
        let id = table
            .route_table_id()
            .ok_or_else(|| missing("ec2:CreateRouteTable", "RouteTableId"))?;
        reconcile(ec2, id, &table, &routes, &spec.subnet_ids).await?;
        Ok(id.to_string())
    }

    fn live(&self, aws: &AwsContext, table: &RouteTable) -> Option<Live> {
        to_live(aws, table)
    }

    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        let routes = desired_routes(&change.desired.routes)?;
        let ec2 = cx.aws.ec2().await;
        let subnets = &change.desired.subnet_ids;
        reconcile(ec2, change.id(), change.current, &routes, subnets).await
    }

    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let ec2 = cx.aws.ec2().await;
        let Some(table) = describe(ec2, std::slice::from_ref(&live.id)).await?.pop() else {
            return Ok(());
        };
        // AWS refuses to delete a table that still has associations.
        let associations = table
            .associations()
            .iter()
            .filter(|a| a.main() != Some(true));
        for association in
            associations.filter_map(RouteTableAssociation::route_table_association_id)
        {
            associations::disassociate(ec2, association).await?;
        }
        let id = live.id.as_str();
        delete_retrying(&[NOT_FOUND], || async move {
            let request = ec2.delete_route_table().route_table_id(id);
            aws_call("ec2:DeleteRouteTable", request.send()).await?;
            Ok(())
        })
        .await
    }
}

async fn create_route_table(ec2: &Client, vpc: &str, tags: &Tags) -> KindResult<RouteTable> {
    let created = retry_while(
        &["InvalidVpcID.NotFound"],
        Backoff::CONSISTENCY,
        || async move {
            let request = ec2
                .create_route_table()
                .vpc_id(vpc)
                .set_tag_specifications(tags::specification(ResourceType::RouteTable, tags));
            aws_call("ec2:CreateRouteTable", request.send()).await
        },
    )
    .await?;
    created
        .route_table
        .ok_or_else(|| missing("ec2:CreateRouteTable", "RouteTable"))
}

async fn describe(ec2: &Client, ids: &[String]) -> KindResult<Vec<RouteTable>> {
    describe_ids!(
        ec2,
        ids,
        describe_route_tables.set_route_table_ids,
        filters("route-table-id"),
        &[NOT_FOUND],
        DESCRIBE
    )
}

/// Makes the table's routes and associations what the blueprint says, given `table` as AWS
/// reported it.
async fn reconcile(
    ec2: &Client,
    id: &str,
    table: &RouteTable,
    routes: &Routes,
    subnets: &[String],
) -> KindResult<()> {
    routes::sync(ec2, id, table.routes(), routes).await?;
    associations::sync(ec2, id, table.associations(), subnets).await
}

fn to_live(aws: &AwsContext, table: &RouteTable) -> Option<Live> {
    let id = table.route_table_id()?.to_string();
    let owner = table.owner_id();
    let outputs = outputs([
        (
            "arn",
            owner.and_then(|owner| aws.arn("ec2", owner, &format!("route-table/{id}"))),
        ),
        ("owner_id", owner.map(str::to_string)),
    ]);
    Some(Live::observed(id, outputs, observed_attrs(table)))
}

/// The blueprint attributes of a table as AWS reports them (the layer adds the tags).
/// `subnet_ids` is left out: the blueprint lists the subnets in its own order (often
/// `${private[*].id}`), which AWS does not keep, so no order of AWS's list is sure to
/// compare equal to an unchanged one.
fn observed_attrs(table: &RouteTable) -> Attrs {
    observed([
        ("vpc_id", string_or_null(table.vpc_id())),
        ("routes", observed_routes(&actual_routes(table.routes()))),
    ])
}
