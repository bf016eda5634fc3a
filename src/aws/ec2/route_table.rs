//! `ec2.route_table`: a route table with its routes and subnet associations, both changed in
//! place: routes by destination, associations by subnet, always against what AWS reports.

use super::{
    arn, carries_all, cidr_order, delete_retrying, describe_existing, exists, filter, has_code,
    ignore_gone, in_order, missing, observed, outputs, parse_spec, read_one, string_or_null,
    tag_filters, tags, user_tags, Lookup, TAGS,
};
use crate::aws::{retry_while, sdk_error, AwsContext, Backoff};
use crate::kinds::{
    identity_tags, Attr, AttrType, Attrs, KindError, KindResult, Live, Price, ResourceKind, Schema,
    StepCx, Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::{
    ResourceType, Route, RouteOrigin, RouteTable, RouteTableAssociation,
    RouteTableAssociationStateCode,
};
use aws_sdk_ec2::Client;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const ROUTE: &[Attr] = &[
    Attr::required("destination_cidr_block", AttrType::Cidr),
    Attr::optional("gateway_id", AttrType::String),
    Attr::optional("nat_gateway_id", AttrType::String),
];

static SCHEMA: Schema = Schema {
    name: "ec2.route_table",
    attrs: &[
        Attr::required("vpc_id", AttrType::String).force_new(),
        Attr::optional("routes", AttrType::List(&AttrType::Object(ROUTE)))
            .default("[]")
            .unordered(),
        Attr::optional("subnet_ids", AttrType::List(&AttrType::String))
            .default("[]")
            .unordered(),
        TAGS,
    ],
    outputs: &["arn", "owner_id"],
    taggable: true,
    tier: Tier::Network,
    price: Price::Free,
};

const NOT_FOUND: &str = "InvalidRouteTableID.NotFound";

/// A route's target created moments ago (above all a NAT gateway) may not be visible yet.
const TARGET_NOT_YET: [&str; 3] = [
    "InvalidNatGatewayID.NotFound",
    "InvalidGatewayID.NotFound",
    NOT_FOUND,
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    vpc_id: String,
    routes: Vec<RouteSpec>,
    subnet_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteSpec {
    destination_cidr_block: String,
    gateway_id: Option<String>,
    nat_gateway_id: Option<String>,
}

/// Where a route sends traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Gateway(String),
    NatGateway(String),
    /// A target innovate does not manage (instance, peering ...): replaced when a blueprint
    /// route claims its destination.
    Other,
}

impl Target {
    /// (gateway_id, nat_gateway_id) for CreateRoute / ReplaceRoute.
    fn ids(&self) -> (Option<String>, Option<String>) {
        match self {
            Target::Gateway(id) => (Some(id.clone()), None),
            Target::NatGateway(id) => (None, Some(id.clone())),
            Target::Other => (None, None),
        }
    }
}

pub(super) struct RouteTableKind(pub(super) Arc<AwsContext>);

#[async_trait]
impl ResourceKind for RouteTableKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, _cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        let routes = desired_routes(&spec.routes)?;
        let ec2 = self.0.ec2().await;
        let table = create_route_table(ec2, &spec.vpc_id, tags).await?;
        let id = table
            .route_table_id()
            .ok_or_else(|| missing("ec2:CreateRouteTable", "RouteTableId"))?;
        reconcile(ec2, id, &table, &routes, &spec.subnet_ids).await?;
        self.read_one(id).await
    }

    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        let ec2 = self.0.ec2().await;
        let tables = describe(ec2, ids).await?;
        let live = tables.iter().filter_map(|table| to_live(ec2, table));
        Ok(in_order(ids, live.collect()))
    }

    async fn list_tagged(&self, tags: &Tags) -> KindResult<Option<Vec<Live>>> {
        let ec2 = self.0.ec2().await;
        let tables: Vec<RouteTable> = ec2
            .describe_route_tables()
            .set_filters(Some(tag_filters(tags)))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("ec2:DescribeRouteTables", e))?;
        let live = tables
            .iter()
            .filter(|table| carries_all(&tags::to_map(table.tags()), tags))
            .filter_map(|table| to_live(ec2, table));
        Ok(Some(live.collect()))
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
        let routes = desired_routes(&spec.routes)?;
        let ec2 = self.0.ec2().await;
        let current = describe(ec2, std::slice::from_ref(&live.id)).await?.pop();
        let current = exists("ec2:DescribeRouteTables", NOT_FOUND, &live.id, current)?;
        tags::sync(ec2, &live.id, current.tags(), tags).await?;
        reconcile(ec2, &live.id, &current, &routes, &spec.subnet_ids).await?;
        self.read_one(&live.id).await
    }

    async fn delete(&self, _cx: &StepCx, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let ec2 = self.0.ec2().await;
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
            disassociate(ec2, association).await?;
        }
        let id = live.id.as_str();
        delete_retrying(&[NOT_FOUND], || async move {
            let request = ec2.delete_route_table().route_table_id(id);
            request
                .send()
                .await
                .map_err(|e| sdk_error("ec2:DeleteRouteTable", e))?;
            Ok(())
        })
        .await
    }
}

impl RouteTableKind {
    async fn read_one(&self, id: &str) -> KindResult<Live> {
        read_one(self, "ec2:DescribeRouteTables", NOT_FOUND, id).await
    }
}

async fn create_route_table(ec2: &Client, vpc: &str, tags: &Tags) -> KindResult<RouteTable> {
    let created = retry_while(
        &["InvalidVpcID.NotFound"],
        Backoff::CONSISTENCY,
        || async move {
            ec2.create_route_table()
                .vpc_id(vpc)
                .set_tag_specifications(tags::specification(ResourceType::RouteTable, tags))
                .send()
                .await
                .map_err(|e| sdk_error("ec2:CreateRouteTable", e))
        },
    )
    .await?;
    created
        .route_table
        .ok_or_else(|| missing("ec2:CreateRouteTable", "RouteTable"))
}

async fn describe(ec2: &Client, ids: &[String]) -> KindResult<Vec<RouteTable>> {
    describe_existing(ids, &[NOT_FOUND], |lookup| async move {
        let request = match lookup {
            Lookup::Ids => ec2
                .describe_route_tables()
                .set_route_table_ids(Some(ids.to_vec())),
            Lookup::Filter => ec2
                .describe_route_tables()
                .filters(filter("route-table-id", ids)),
        };
        let pages = request.into_paginator().items().send();
        pages
            .try_collect()
            .await
            .map_err(|e| sdk_error("ec2:DescribeRouteTables", e))
    })
    .await
}

/// Destination -> target of the blueprint's routes.
fn desired_routes(routes: &[RouteSpec]) -> KindResult<BTreeMap<String, Target>> {
    let mut targets = BTreeMap::new();
    for route in routes {
        let destination = &route.destination_cidr_block;
        let target = match (&route.gateway_id, &route.nat_gateway_id) {
            (Some(gateway), None) => Target::Gateway(gateway.clone()),
            (None, Some(nat)) => Target::NatGateway(nat.clone()),
            _ => {
                let message = format!(
                    "the route to {destination} needs exactly one of gateway_id and nat_gateway_id"
                );
                return Err(KindError::local("ec2:CreateRoute", message));
            }
        };
        if targets.insert(destination.clone(), target).is_some() {
            let message = format!("two routes have the destination {destination}");
            return Err(KindError::local("ec2:CreateRoute", message));
        }
    }
    Ok(targets)
}

/// Destination -> target of the table's routes that a blueprint can own: not the VPC's
/// `local` route, nor routes propagated from a virtual private gateway.
fn actual_routes(routes: &[Route]) -> BTreeMap<String, Target> {
    let owned = routes.iter().filter(|route| {
        let created_with_table = route.origin() == Some(&RouteOrigin::CreateRouteTable);
        let propagated = route.origin() == Some(&RouteOrigin::EnableVgwRoutePropagation);
        !(created_with_table || propagated || route.gateway_id() == Some("local"))
    });
    owned
        .filter_map(|route| {
            Some((
                route.destination_cidr_block()?.to_string(),
                route_target(route),
            ))
        })
        .collect()
}

/// The routes a blueprint can own, as blueprint routes in one canonical order: by
/// destination address. A route to a target the schema cannot name (an instance, a peering
/// connection ...) has its destination alone, so that it shows as drift.
fn observed_routes(routes: &BTreeMap<String, Target>) -> Value {
    let mut sorted: Vec<(&String, &Target)> = routes.iter().collect();
    sorted.sort_by(|a, b| cidr_order(a.0, b.0));
    let observed = sorted.into_iter().map(|(destination, target)| {
        let mut route = Map::new();
        route.insert("destination_cidr_block".into(), destination.as_str().into());
        match target {
            Target::Gateway(id) => route.insert("gateway_id".into(), id.as_str().into()),
            Target::NatGateway(id) => route.insert("nat_gateway_id".into(), id.as_str().into()),
            Target::Other => None,
        };
        Value::Object(route)
    });
    Value::Array(observed.collect())
}

fn route_target(route: &Route) -> Target {
    match (route.nat_gateway_id(), route.gateway_id()) {
        (Some(nat), _) => Target::NatGateway(nat.to_string()),
        (None, Some(gateway)) => Target::Gateway(gateway.to_string()),
        (None, None) => Target::Other,
    }
}

/// Calls that turn the actual routes into the desired ones.
#[derive(Debug, Default, PartialEq)]
struct RouteChanges {
    delete: Vec<String>,
    replace: Vec<(String, Target)>,
    create: Vec<(String, Target)>,
}

fn route_changes(
    actual: &BTreeMap<String, Target>,
    desired: &BTreeMap<String, Target>,
) -> RouteChanges {
    let delete = actual
        .keys()
        .filter(|d| !desired.contains_key(*d))
        .cloned()
        .collect();
    let mut changes = RouteChanges {
        delete,
        ..RouteChanges::default()
    };
    for (destination, target) in desired {
        let entry = (destination.clone(), target.clone());
        match actual.get(destination) {
            None => changes.create.push(entry),
            Some(now) if now != target => changes.replace.push(entry),
            Some(_) => {}
        }
    }
    changes
}

/// Subnet id -> association id of the table's live subnet associations.
fn actual_associations(associations: &[RouteTableAssociation]) -> BTreeMap<String, String> {
    let live = associations.iter().filter(|a| {
        let state = a.association_state().and_then(|s| s.state());
        a.main() != Some(true)
            && !matches!(
                state,
                Some(
                    RouteTableAssociationStateCode::Disassociated
                        | RouteTableAssociationStateCode::Disassociating
                )
            )
    });
    live.filter_map(|a| {
        Some((
            a.subnet_id()?.to_string(),
            a.route_table_association_id()?.to_string(),
        ))
    })
    .collect()
}

/// Association ids to drop and subnets to associate.
#[derive(Debug, Default, PartialEq)]
struct AssociationChanges {
    disassociate: Vec<String>,
    associate: Vec<String>,
}

fn association_changes(
    actual: &BTreeMap<String, String>,
    desired: &[String],
) -> AssociationChanges {
    let wanted: BTreeSet<&String> = desired.iter().collect();
    let disassociate = actual
        .iter()
        .filter(|(subnet, _)| !wanted.contains(subnet))
        .map(|(_, association)| association.clone())
        .collect();
    let associate = wanted
        .into_iter()
        .filter(|s| !actual.contains_key(*s))
        .cloned()
        .collect();
    AssociationChanges {
        disassociate,
        associate,
    }
}

/// Makes the table's routes and associations what the blueprint says, given `table` as AWS
/// reported it: deletions first, so a destination or subnet is free before it is reused.
async fn reconcile(
    ec2: &Client,
    id: &str,
    table: &RouteTable,
    routes: &BTreeMap<String, Target>,
    subnets: &[String],
) -> KindResult<()> {
    let RouteChanges {
        delete,
        replace,
        create,
    } = route_changes(&actual_routes(table.routes()), routes);
    for destination in &delete {
        delete_route(ec2, id, destination).await?;
    }
    for (destination, target) in &replace {
        put_route(ec2, id, destination, target, RouteCall::Replace).await?;
    }
    for (destination, target) in &create {
        let created = put_route(ec2, id, destination, target, RouteCall::Create).await;
        match created {
            // An earlier attempt's answer was lost, or the route appeared meanwhile: setting
            // its target makes it what the blueprint says either way.
            Err(err) if has_code(&err, &["RouteAlreadyExists"]) => {
                put_route(ec2, id, destination, target, RouteCall::Replace).await?
            }
            other => other?,
        }
    }
    let associations = association_changes(&actual_associations(table.associations()), subnets);
    for association in &associations.disassociate {
        disassociate(ec2, association).await?;
    }
    for subnet in &associations.associate {
        associate(ec2, id, subnet).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum RouteCall {
    Create,
    Replace,
}

async fn put_route(
    ec2: &Client,
    id: &str,
    destination: &str,
    target: &Target,
    call: RouteCall,
) -> KindResult<()> {
    let (gateway, nat) = target.ids();
    retry_while(&TARGET_NOT_YET, Backoff::CONSISTENCY, || {
        let (gateway, nat) = (gateway.clone(), nat.clone());
        async move {
            match call {
                RouteCall::Create => ec2
                    .create_route()
                    .route_table_id(id)
                    .destination_cidr_block(destination)
                    .set_gateway_id(gateway)
                    .set_nat_gateway_id(nat)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| sdk_error("ec2:CreateRoute", e)),
                RouteCall::Replace => ec2
                    .replace_route()
                    .route_table_id(id)
                    .destination_cidr_block(destination)
                    .set_gateway_id(gateway)
                    .set_nat_gateway_id(nat)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| sdk_error("ec2:ReplaceRoute", e)),
            }
        }
    })
    .await
}

async fn delete_route(ec2: &Client, id: &str, destination: &str) -> KindResult<()> {
    let deleted = ec2
        .delete_route()
        .route_table_id(id)
        .destination_cidr_block(destination)
        .send()
        .await
        .map(drop)
        .map_err(|e| sdk_error("ec2:DeleteRoute", e));
    ignore_gone(deleted, &["InvalidRoute.NotFound"])
}

/// A subnet created moments ago may not be visible to AssociateRouteTable yet.
async fn associate(ec2: &Client, id: &str, subnet: &str) -> KindResult<()> {
    let not_yet = ["InvalidSubnetID.NotFound", NOT_FOUND];
    let associated = retry_while(&not_yet, Backoff::CONSISTENCY, || async move {
        ec2.associate_route_table()
            .route_table_id(id)
            .subnet_id(subnet)
            .send()
            .await
            .map_err(|e| sdk_error("ec2:AssociateRouteTable", e))?;
        Ok(())
    })
    .await;
    match associated {
        Err(err) if has_code(&err, &["Resource.AlreadyAssociated"]) => {
            // Fine when the subnet is already ours: an earlier attempt's answer was lost.
            let table = describe(ec2, &[id.to_string()]).await?.pop();
            let table = exists("ec2:DescribeRouteTables", NOT_FOUND, id, table)?;
            let ours = table
                .associations()
                .iter()
                .any(|a| a.subnet_id() == Some(subnet));
            if ours {
                Ok(())
            } else {
                Err(err)
            }
        }
        other => other,
    }
}

async fn disassociate(ec2: &Client, association: &str) -> KindResult<()> {
    let done = ec2
        .disassociate_route_table()
        .association_id(association)
        .send()
        .await
        .map(drop)
        .map_err(|e| sdk_error("ec2:DisassociateRouteTable", e));
    ignore_gone(done, &["InvalidAssociationID.NotFound"])
}

fn to_live(ec2: &Client, table: &RouteTable) -> Option<Live> {
    let id = table.route_table_id()?.to_string();
    let owner = table.owner_id();
    let outputs = outputs([
        (
            "arn",
            owner.and_then(|owner| arn(ec2, owner, &format!("route-table/{id}"))),
        ),
        ("owner_id", owner.map(str::to_string)),
    ]);
    Some(Live {
        id,
        outputs,
        attrs: Some(observed_attrs(table)),
        identity: identity_tags(&tags::to_map(table.tags())),
    })
}

/// The blueprint attributes of a table as AWS reports them. `subnet_ids` is left out: the
/// blueprint lists the subnets in its own order (often `${private[*].id}`), which AWS does
/// not keep, so no order of AWS's list is sure to compare equal to an unchanged one.
fn observed_attrs(table: &RouteTable) -> Attrs {
    observed([
        ("vpc_id", string_or_null(table.vpc_id())),
        ("routes", observed_routes(&actual_routes(table.routes()))),
        ("tags", user_tags(&tags::to_map(table.tags()))),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::RouteTableAssociationState;

    fn targets(pairs: &[(&str, Target)]) -> BTreeMap<String, Target> {
        pairs
            .iter()
            .map(|(d, t)| (d.to_string(), t.clone()))
            .collect()
    }

    fn igw(id: &str) -> Target {
        Target::Gateway(id.into())
    }

    #[test]
    fn spec_fits_schema() {
        crate::aws::common::testing::assert_spec_fits_schema::<Spec>(&SCHEMA);
    }

    #[test]
    fn routes_are_diffed_by_destination() {
        let actual = targets(&[
            ("0.0.0.0/0", igw("igw-1")),
            ("10.9.0.0/16", igw("igw-1")),
            ("10.8.0.0/16", Target::Other),
        ]);
        let desired = targets(&[
            ("0.0.0.0/0", Target::NatGateway("nat-1".into())),
            ("10.9.0.0/16", igw("igw-1")),
            ("192.168.0.0/16", igw("igw-2")),
        ]);
        assert_eq!(
            route_changes(&actual, &desired),
            RouteChanges {
                delete: vec!["10.8.0.0/16".into()],
                replace: vec![("0.0.0.0/0".into(), Target::NatGateway("nat-1".into()))],
                create: vec![("192.168.0.0/16".into(), igw("igw-2"))],
            }
        );
        assert_eq!(route_changes(&desired, &desired), RouteChanges::default());
    }

    #[test]
    fn the_local_and_propagated_routes_are_not_owned() {
        let routes = [
            Route::builder()
                .destination_cidr_block("10.0.0.0/16")
                .gateway_id("local")
                .origin(RouteOrigin::CreateRouteTable)
                .build(),
            Route::builder()
                .destination_cidr_block("172.16.0.0/12")
                .gateway_id("vgw-1")
                .origin(RouteOrigin::EnableVgwRoutePropagation)
                .build(),
            Route::builder()
                .destination_cidr_block("0.0.0.0/0")
                .nat_gateway_id("nat-1")
                .origin(RouteOrigin::CreateRoute)
                .build(),
            Route::builder()
                .destination_cidr_block("10.5.0.0/16")
                .vpc_peering_connection_id("pcx-1")
                .build(),
        ];
        assert_eq!(
            actual_routes(&routes),
            targets(&[
                ("0.0.0.0/0", Target::NatGateway("nat-1".into())),
                ("10.5.0.0/16", Target::Other)
            ])
        );
    }

    #[test]
    fn observed_routes_are_blueprint_routes_by_destination_address() {
        let actual = targets(&[
            ("10.10.0.0/16", igw("igw-1")),
            ("0.0.0.0/0", Target::NatGateway("nat-1".into())),
            ("10.9.0.0/16", Target::Other),
        ]);
        assert_eq!(
            observed_routes(&actual),
            serde_json::json!([
                {"destination_cidr_block": "0.0.0.0/0", "nat_gateway_id": "nat-1"},
                {"destination_cidr_block": "10.9.0.0/16"},
                {"destination_cidr_block": "10.10.0.0/16", "gateway_id": "igw-1"},
            ])
        );
        // A blueprint's routes in that order read back equal: the no-drift case.
        let blueprint = serde_json::json!([
            {"destination_cidr_block": "0.0.0.0/0", "nat_gateway_id": "nat-1"},
            {"destination_cidr_block": "10.10.0.0/16", "gateway_id": "igw-1"},
        ]);
        let specs: Vec<RouteSpec> = serde_json::from_value(blueprint.clone()).unwrap();
        assert_eq!(observed_routes(&desired_routes(&specs).unwrap()), blueprint);
    }

    #[test]
    fn a_route_needs_exactly_one_target_and_a_unique_destination() {
        let route = |gateway: Option<&str>, nat: Option<&str>| RouteSpec {
            destination_cidr_block: "0.0.0.0/0".into(),
            gateway_id: gateway.map(Into::into),
            nat_gateway_id: nat.map(Into::into),
        };
        assert!(desired_routes(&[route(None, None)]).is_err());
        assert!(desired_routes(&[route(Some("igw-1"), Some("nat-1"))]).is_err());
        assert!(desired_routes(&[route(Some("igw-1"), None), route(None, Some("nat-1"))]).is_err());
        assert_eq!(
            desired_routes(&[route(None, Some("nat-1"))]).unwrap(),
            targets(&[("0.0.0.0/0", Target::NatGateway("nat-1".into()))])
        );
    }

    #[test]
    fn associations_are_diffed_by_subnet_ignoring_the_main_one() {
        let association = |id: &str, subnet: Option<&str>, main: bool| {
            RouteTableAssociation::builder()
                .route_table_association_id(id)
                .set_subnet_id(subnet.map(Into::into))
                .main(main)
                .association_state(
                    RouteTableAssociationState::builder()
                        .state(RouteTableAssociationStateCode::Associated)
                        .build(),
                )
                .build()
        };
        let live = [
            association("rtbassoc-main", None, true),
            association("rtbassoc-a", Some("subnet-a"), false),
            association("rtbassoc-b", Some("subnet-b"), false),
        ];
        let actual = actual_associations(&live);
        assert_eq!(actual.len(), 2);
        let changes = association_changes(&actual, &["subnet-b".into(), "subnet-c".into()]);
        assert_eq!(
            changes,
            AssociationChanges {
                disassociate: vec!["rtbassoc-a".into()],
                associate: vec!["subnet-c".into()]
            }
        );
    }
}
