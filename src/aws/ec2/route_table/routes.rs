//! A route table's routes: the blueprint's, AWS's, and the calls between them, by
//! destination.

use super::NOT_FOUND;
use crate::aws::ec2::{cidr_order, has_code, ignore_gone, keyed_changes, KeyedChanges};
use crate::aws::{retry_while, sdk_error, Backoff};
use crate::kinds::{AttrType, KindError, KindResult};
use aws_sdk_ec2::types::{Route, RouteOrigin};
use aws_sdk_ec2::Client;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

crate::spec! {
    /// One route of the blueprint: to one gateway or one NAT gateway.
    pub(in crate::aws::ec2) struct RouteSpec {
        destination_cidr_block: String = required(AttrType::Cidr),
        gateway_id: Option<String> = optional(AttrType::String),
        nat_gateway_id: Option<String> = optional(AttrType::String),
    }
}

/// A route's target created moments ago (above all a NAT gateway) may not be visible yet.
const TARGET_NOT_YET: [&str; 3] = [
    "InvalidNatGatewayID.NotFound",
    "InvalidGatewayID.NotFound",
    NOT_FOUND,
];

/// Where a route sends traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    Gateway(String),
    NatGateway(String),
    /// A target innovate does not manage (instance, peering ...): replaced when a blueprint
    /// route claims its destination.
    Other,
}

/// Destination -> where its route sends traffic.
pub(super) type Routes = BTreeMap<String, Target>;

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

/// The blueprint's routes, refused when one has no single target or two share a
/// destination.
pub(super) fn desired_routes(routes: &[RouteSpec]) -> KindResult<Routes> {
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

/// The table's routes that a blueprint can own: not the VPC's `local` route, nor routes
/// propagated from a virtual private gateway.
pub(super) fn actual_routes(routes: &[Route]) -> Routes {
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
pub(super) fn observed_routes(routes: &Routes) -> Value {
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
type RouteChanges = KeyedChanges<String, Target>;

/// Makes table `id`'s routes (`current`, as AWS reported them) the `desired` ones:
/// deletions first, so a destination is free before it is reused.
pub(super) async fn sync(
    ec2: &Client,
    id: &str,
    current: &[Route],
    desired: &Routes,
) -> KindResult<()> {
    let RouteChanges {
        removed: delete,
        changed: replace,
        added: create,
    } = keyed_changes(&actual_routes(current), desired);
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
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum RouteCall {
    Create,
    Replace,
}

/// CreateRoute and ReplaceRoute take the same fields.
macro_rules! send_route {
    ($request:expr, $id:expr, $destination:expr, $target:expr, $call:literal) => {{
        let (gateway, nat) = $target.ids();
        $request
            .route_table_id($id)
            .destination_cidr_block($destination)
            .set_gateway_id(gateway)
            .set_nat_gateway_id(nat)
            .send()
            .await
            .map(drop)
            .map_err(|e| sdk_error($call, e))
    }};
}

async fn put_route(
    ec2: &Client,
    id: &str,
    destination: &str,
    target: &Target,
    call: RouteCall,
) -> KindResult<()> {
    retry_while(&TARGET_NOT_YET, Backoff::CONSISTENCY, || async move {
        match call {
            RouteCall::Create => {
                send_route!(
                    ec2.create_route(),
                    id,
                    destination,
                    target,
                    "ec2:CreateRoute"
                )
            }
            RouteCall::Replace => {
                send_route!(
                    ec2.replace_route(),
                    id,
                    destination,
                    target,
                    "ec2:ReplaceRoute"
                )
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

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(pairs: &[(&str, Target)]) -> Routes {
        pairs
            .iter()
            .map(|(d, t)| (d.to_string(), t.clone()))
            .collect()
    }

    fn igw(id: &str) -> Target {
        Target::Gateway(id.into())
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
            keyed_changes(&actual, &desired),
            RouteChanges {
                removed: vec!["10.8.0.0/16".into()],
                changed: vec![("0.0.0.0/0".into(), Target::NatGateway("nat-1".into()))],
                added: vec![("192.168.0.0/16".into(), igw("igw-2"))],
            }
        );
        assert_eq!(keyed_changes(&desired, &desired), RouteChanges::default());
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
}
