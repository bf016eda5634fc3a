//! `ec2.nat_gateway`: a NAT gateway in a subnet, public (with an Elastic IP) or private.
//! AWS takes minutes to make one available and to delete one; both are waited for.

use super::{
    carries_all, describe_existing, exists, filter, ignore_gone, in_order, missing, observed,
    outputs, parse_spec, string_or_null, tag_filters, tags, user_tags, with_tags, Lookup, TAGS,
};
use crate::aws::wait::{self, Status};
use crate::aws::{retry_while, sdk_error, AwsContext, Backoff};
use crate::kinds::{
    identity_tags, Attr, AttrType, Attrs, KindError, KindResult, Live, Price, ResourceKind, Schema,
    StepCx, Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::{
    ConnectivityType, NatGateway, NatGatewayAddress, NatGatewayState, ResourceType,
};
use aws_sdk_ec2::Client;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

static SCHEMA: Schema = Schema {
    name: "ec2.nat_gateway",
    attrs: &[
        Attr::required("subnet_id", AttrType::String).force_new(),
        Attr::optional("allocation_id", AttrType::String).force_new(),
        Attr::optional("connectivity_type", AttrType::String)
            .default("\"public\"")
            .force_new(),
        TAGS,
    ],
    outputs: &["public_ip", "private_ip", "network_interface_id"],
    taggable: true,
    tier: Tier::Network,
    price: Price::Model(crate::cost::models::nat_gateway),
};

/// NAT gateways take minutes to become available, and to go, on AWS.
const WAIT: Backoff = Backoff {
    first: Duration::from_millis(500),
    max_delay: Duration::from_secs(10),
    bound: Duration::from_secs(10 * 60),
};

const NOT_FOUND: [&str; 2] = ["NatGatewayNotFound", "InvalidNatGatewayID.NotFound"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    subnet_id: String,
    allocation_id: Option<String>,
    connectivity_type: String,
}

pub(super) struct NatGatewayKind(pub(super) Arc<AwsContext>);

#[async_trait]
impl ResourceKind for NatGatewayKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        if spec.connectivity_type == "public" && spec.allocation_id.is_none() {
            let message = "allocation_id is required when connectivity_type is public";
            return Err(KindError::local("ec2:CreateNatGateway", message));
        }
        let ec2 = self.0.ec2().await;
        let id = create_nat_gateway(ec2, &spec, tags).await?;
        let available = wait_available(cx, ec2, &id).await?;
        exists(
            "ec2:DescribeNatGateways",
            NOT_FOUND[0],
            &id,
            to_live(&available),
        )
    }

    /// CreateNatGateway is idempotent on AWS (its ClientToken); an endpoint that ignores
    /// the token refuses the retry because the Elastic IP is taken, by our own gateway.
    fn conflict_codes(&self) -> &'static [&'static str] {
        &["Resource.AlreadyAssociated"]
    }

    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        let ec2 = self.0.ec2().await;
        let gateways = describe(ec2, ids).await?;
        let live = gateways
            .iter()
            .filter(|gateway| !is_gone(gateway))
            .filter_map(to_live);
        Ok(in_order(ids, live.collect()))
    }

    /// The tag filters narrow the listing on AWS (an emulator may ignore them); the tags
    /// are checked here as well, and gateways on their way out are not listed.
    async fn list_tagged(&self, tags: &Tags) -> KindResult<Option<Vec<Live>>> {
        let ec2 = self.0.ec2().await;
        let gateways: Vec<NatGateway> = ec2
            .describe_nat_gateways()
            .set_filter(Some(tag_filters(tags)))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("ec2:DescribeNatGateways", e))?;
        let live = gateways
            .iter()
            .filter(|gateway| {
                !is_gone(gateway) && gateway.state() != Some(&NatGatewayState::Deleting)
            })
            .filter(|gateway| carries_all(&tags::to_map(gateway.tags()), tags))
            .filter_map(to_live);
        Ok(Some(live.collect()))
    }

    async fn update(
        &self,
        _cx: &StepCx,
        live: &Live,
        _prior: &Attrs,
        _desired: &Attrs,
        tags: &Tags,
    ) -> KindResult<Live> {
        let ec2 = self.0.ec2().await;
        let current = describe(ec2, std::slice::from_ref(&live.id)).await?.pop();
        let current = current.filter(|gateway| !is_gone(gateway));
        let current = exists("ec2:DescribeNatGateways", NOT_FOUND[0], &live.id, current)?;
        tags::sync(ec2, &live.id, current.tags(), tags).await?;
        // Only tags change in place; the rest is as just described.
        let updated = exists(
            "ec2:DescribeNatGateways",
            NOT_FOUND[0],
            &live.id,
            to_live(&current),
        )?;
        Ok(with_tags(updated, tags))
    }

    async fn delete(&self, cx: &StepCx, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let ec2 = self.0.ec2().await;
        let deleted = ec2
            .delete_nat_gateway()
            .nat_gateway_id(&live.id)
            .send()
            .await;
        ignore_gone(
            deleted
                .map(drop)
                .map_err(|e| sdk_error("ec2:DeleteNatGateway", e)),
            &NOT_FOUND,
        )?;
        wait_deleted(cx, ec2, &live.id).await
    }
}

/// Creates the gateway under a fresh client token, so that retrying the call (here, or by
/// the SDK after a lost response) never makes a second gateway. The subnet or address may
/// be too fresh for AWS to see yet.
async fn create_nat_gateway(ec2: &Client, spec: &Spec, tags: &Tags) -> KindResult<String> {
    let token = uuid::Uuid::new_v4().to_string();
    let not_yet = ["InvalidSubnetID.NotFound", "InvalidAllocationID.NotFound"];
    let created = retry_while(&not_yet, Backoff::CONSISTENCY, || async {
        ec2.create_nat_gateway()
            .subnet_id(&spec.subnet_id)
            .set_allocation_id(spec.allocation_id.clone())
            .connectivity_type(ConnectivityType::from(spec.connectivity_type.as_str()))
            .client_token(&token)
            .set_tag_specifications(tags::specification(ResourceType::Natgateway, tags))
            .send()
            .await
            .map_err(|e| sdk_error("ec2:CreateNatGateway", e))
    })
    .await?;
    let id = created.nat_gateway().and_then(NatGateway::nat_gateway_id);
    Ok(id
        .ok_or_else(|| missing("ec2:CreateNatGateway", "NatGatewayId"))?
        .to_string())
}

/// Every gateway AWS still lists for `ids`, including deleted ones (AWS keeps them visible
/// for about an hour).
async fn describe(ec2: &Client, ids: &[String]) -> KindResult<Vec<NatGateway>> {
    describe_existing(ids, &NOT_FOUND, |lookup| async move {
        let request = match lookup {
            Lookup::Ids => ec2
                .describe_nat_gateways()
                .set_nat_gateway_ids(Some(ids.to_vec())),
            Lookup::Filter => ec2
                .describe_nat_gateways()
                .filter(filter("nat-gateway-id", ids)),
        };
        let pages = request.into_paginator().items().send();
        pages
            .try_collect()
            .await
            .map_err(|e| sdk_error("ec2:DescribeNatGateways", e))
    })
    .await
}

/// Deleted and failed gateways are only listed for a while; they route nothing.
fn is_gone(gateway: &NatGateway) -> bool {
    matches!(
        gateway.state(),
        Some(NatGatewayState::Deleted | NatGatewayState::Failed)
    )
}

async fn wait_available(cx: &StepCx, ec2: &Client, id: &str) -> KindResult<NatGateway> {
    let ids = &[id.to_string()];
    wait::until(
        cx,
        "ec2:DescribeNatGateways",
        "available",
        WAIT,
        || async move {
            let Some(gateway) = describe(ec2, ids).await?.pop() else {
                return Ok(Status::Pending("not visible yet".to_string()));
            };
            match gateway.state() {
                Some(NatGatewayState::Available) => Ok(Status::Ready(gateway)),
                Some(NatGatewayState::Failed) => Err(creation_failed(&gateway)),
                Some(state) => Ok(Status::Pending(state.as_str().to_string())),
                None => Ok(Status::Pending("in no state yet".to_string())),
            }
        },
    )
    .await
}

/// AWS's own reason for a gateway that went to `failed` (no free address, subnet full ...).
fn creation_failed(gateway: &NatGateway) -> KindError {
    let code = gateway.failure_code().map(str::to_string);
    let message = gateway
        .failure_message()
        .unwrap_or("the NAT gateway went to state failed");
    KindError::new("ec2:CreateNatGateway", code, message.to_string())
}

async fn wait_deleted(cx: &StepCx, ec2: &Client, id: &str) -> KindResult<()> {
    let ids = &[id.to_string()];
    wait::until(
        cx,
        "ec2:DescribeNatGateways",
        "deleted",
        WAIT,
        || async move {
            let gateway = describe(ec2, ids).await?.pop();
            Ok(match gateway.as_ref().and_then(NatGateway::state) {
                None | Some(NatGatewayState::Deleted) => Status::Ready(()),
                Some(state) => Status::Pending(state.as_str().to_string()),
            })
        },
    )
    .await
}

fn to_live(gateway: &NatGateway) -> Option<Live> {
    let addresses = gateway.nat_gateway_addresses();
    let primary = addresses
        .iter()
        .find(|a| a.is_primary() == Some(true))
        .or(addresses.first());
    let field =
        |get: fn(&NatGatewayAddress) -> Option<&str>| primary.and_then(get).map(str::to_string);
    let outputs = outputs([
        ("public_ip", field(NatGatewayAddress::public_ip)),
        ("private_ip", field(NatGatewayAddress::private_ip)),
        (
            "network_interface_id",
            field(NatGatewayAddress::network_interface_id),
        ),
    ]);
    let attrs = observed([
        ("subnet_id", string_or_null(gateway.subnet_id())),
        (
            "allocation_id",
            string_or_null(primary.and_then(NatGatewayAddress::allocation_id)),
        ),
        (
            "connectivity_type",
            string_or_null(gateway.connectivity_type().map(ConnectivityType::as_str)),
        ),
        ("tags", user_tags(&tags::to_map(gateway.tags()))),
    ]);
    Some(Live {
        attrs: Some(attrs),
        id: gateway.nat_gateway_id()?.to_string(),
        outputs,
        identity: identity_tags(&tags::to_map(gateway.tags())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_fits_schema() {
        crate::aws::common::testing::assert_spec_fits_schema::<Spec>(&SCHEMA);
    }

    #[test]
    fn a_failed_gateway_reports_aws_reason() {
        let gateway = NatGateway::builder()
            .state(NatGatewayState::Failed)
            .failure_code("Gateway.NotAttached")
            .failure_message("Network vpc-1 has no Internet gateway attached")
            .build();
        let err = creation_failed(&gateway);
        assert_eq!(err.code.as_deref(), Some("Gateway.NotAttached"));
        assert!(
            err.message.contains("no Internet gateway"),
            "{}",
            err.message
        );
        assert!(is_gone(&gateway));
    }

    #[test]
    fn outputs_come_from_the_primary_address() {
        let secondary = NatGatewayAddress::builder()
            .private_ip("10.0.0.9")
            .is_primary(false)
            .build();
        let primary = NatGatewayAddress::builder()
            .public_ip("203.0.113.7")
            .private_ip("10.0.0.5")
            .network_interface_id("eni-1")
            .is_primary(true)
            .build();
        let gateway = NatGateway::builder()
            .nat_gateway_id("nat-1")
            .nat_gateway_addresses(secondary)
            .nat_gateway_addresses(primary)
            .build();
        let live = to_live(&gateway).unwrap();
        assert_eq!(live.outputs["public_ip"], "203.0.113.7");
        assert_eq!(live.outputs["private_ip"], "10.0.0.5");
        assert_eq!(live.outputs["network_interface_id"], "eni-1");
    }
}
