//! `ec2.nat_gateway`: a NAT gateway in a subnet, public (with an Elastic IP) or private.
//! AWS takes minutes to make one available and to delete one; both are waited for. Only
//! its tags change in place.

use super::{missing, observed, outputs, string_or_null, tags};
use crate::aws::{aws_call, retry_while, AwsContext, Backoff, Cx};
use crate::kinds::{
    AttrType, Attrs, AwsKind, KindError, KindResult, Live, Schema, Seen, Tags, Tier, Waiter,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::{
    ConnectivityType, NatGateway, NatGatewayAddress, NatGatewayState, ResourceType,
};
use aws_sdk_ec2::Client;
use std::time::Duration;

crate::spec! {
    pub(super) struct Spec with tags {
        subnet_id: String = required(AttrType::String).force_new(),
        allocation_id: Option<String> = optional(AttrType::String).force_new(),
        connectivity_type: String = optional(AttrType::String)
            .default("\"public\"")
            .force_new()
            .one_of(&["public", "private"]),
    }
}

const SCHEMA: Schema = Schema::new("ec2.nat_gateway", Tier::Network, Spec::ATTRS)
    .outputs(&["public_ip", "private_ip", "network_interface_id"])
    .priced(crate::cost::models::nat_gateway);

const NOT_FOUND: [&str; 2] = ["NatGatewayNotFound", "InvalidNatGatewayID.NotFound"];
const DESCRIBE: &str = "ec2:DescribeNatGateways";

/// NAT gateways take minutes to become available, and to go, on AWS. One that goes to
/// `failed` instead reports why (no free address, subnet full ...).
const AVAILABLE: Waiter = Waiter::until(DESCRIBE, &["available"], &["failed"], LOOKS);
const LOOKS: Backoff = Backoff {
    first: Duration::from_millis(500),
    max_delay: Duration::from_secs(10),
    bound: Duration::from_secs(10 * 60),
};
/// AWS takes minutes to release a gateway's interface and address; 30 minutes by default,
/// as terraform-provider-aws allows, unless the blueprint's `timeouts` say otherwise.
const DELETED: Waiter = AVAILABLE.gone(&[], LOOKS.within(Duration::from_secs(30 * 60)));

// Gateways on their way out are not listed (nor, being gone, read: see `to_live`).
ec2_item!(NatGateway, DESCRIBE, &NOT_FOUND, described by describe_all,
    listed by describe_nat_gateways.filter if |g| !is_gone(g) && !deleting(g));

pub(super) struct NatGatewayKind;

#[async_trait]
impl AwsKind for NatGatewayKind {
    type Spec = Spec;
    type Item = NatGateway;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        if spec.connectivity_type == "public" && spec.allocation_id.is_none() {
            let message = "allocation_id is required when connectivity_type is public";
            return Err(KindError::local("ec2:CreateNatGateway", message));
        }
        let ec2 = cx.aws.ec2().await;
        let id = create_nat_gateway(ec2, spec, tags).await?;
        let ids = std::slice::from_ref(&id);
        let look = || async move { Ok(describe_all(ec2, ids).await?.pop()) };
        AVAILABLE.wait(cx, look, seen).await?;
        Ok(id)
    }

    /// CreateNatGateway is idempotent on AWS (its ClientToken); an endpoint that ignores
    /// the token refuses the retry because the Elastic IP is taken, by our own gateway.
    fn conflict_codes(&self) -> &'static [&'static str] {
        &["Resource.AlreadyAssociated"]
    }

    fn live(&self, _: &AwsContext, gateway: &NatGateway) -> Option<Live> {
        to_live(gateway)
    }

    /// Only the tags change in place, and the layer syncs those.
    /// A gateway already gone answers NOT_FOUND, which the layer counts as deleted.
    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let ec2 = cx.aws.ec2().await;
        let request = ec2.delete_nat_gateway().nat_gateway_id(&live.id);
        aws_call("ec2:DeleteNatGateway", request.send()).await?;
        let ids = std::slice::from_ref(&live.id);
        let deleted = |g: &NatGateway| g.state() == Some(&NatGatewayState::Deleted);
        let look = || async move {
            let gateway = describe_all(ec2, ids).await?.pop();
            Ok(gateway.filter(|g| !deleted(g)))
        };
        DELETED.wait(cx, look, seen).await.map(drop)
    }
}

/// Creates the gateway under a fresh client token, so that retrying the call (here, or by
/// the SDK after a lost response) never makes a second gateway. The subnet or address may
/// be too fresh for AWS to see yet.
async fn create_nat_gateway(ec2: &Client, spec: &Spec, tags: &Tags) -> KindResult<String> {
    let token = uuid::Uuid::new_v4().to_string();
    let not_yet = ["InvalidSubnetID.NotFound", "InvalidAllocationID.NotFound"];
    let created = retry_while(&not_yet, Backoff::CONSISTENCY, || async {
        let request = ec2
            .create_nat_gateway()
            .subnet_id(&spec.subnet_id)
            .set_allocation_id(spec.allocation_id.clone())
            .connectivity_type(ConnectivityType::from(spec.connectivity_type.as_str()))
            .client_token(&token)
            .set_tag_specifications(tags::specification(ResourceType::Natgateway, tags));
        aws_call("ec2:CreateNatGateway", request.send()).await
    })
    .await?;
    let id = created.nat_gateway().and_then(NatGateway::nat_gateway_id);
    Ok(id
        .ok_or_else(|| missing("ec2:CreateNatGateway", "NatGatewayId"))?
        .to_string())
}

/// Every gateway AWS still lists for `ids`, including deleted ones (AWS keeps them visible
/// for about an hour).
async fn describe_all(ec2: &Client, ids: &[String]) -> KindResult<Vec<NatGateway>> {
    describe_ids!(
        ec2,
        ids,
        describe_nat_gateways.set_nat_gateway_ids,
        filter("nat-gateway-id"),
        &NOT_FOUND,
        DESCRIBE
    )
}

/// Deleted and failed gateways are only listed for a while; they route nothing.
fn is_gone(gateway: &NatGateway) -> bool {
    matches!(
        gateway.state(),
        Some(NatGatewayState::Deleted | NatGatewayState::Failed)
    )
}

/// The gateway's state, with AWS's own reason when it went to `failed`.
fn seen(gateway: &NatGateway) -> Seen {
    let state = gateway.state().map_or("in no state yet", |s| s.as_str());
    let reason = gateway.failure_message().or(gateway.failure_code());
    let seen = Seen::new(state).because(reason.map(str::to_string));
    seen.with_code(gateway.failure_code())
}

/// Being deleted: on its way to [`is_gone`].
fn deleting(gateway: &NatGateway) -> bool {
    gateway.state() == Some(&NatGatewayState::Deleting)
}

/// `None` for a gateway that [`is_gone`]: AWS still lists it, but it is no longer there.
fn to_live(gateway: &NatGateway) -> Option<Live> {
    if is_gone(gateway) {
        return None;
    }
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
    ]);
    Some(Live::observed(
        gateway.nat_gateway_id()?.to_string(),
        outputs,
        attrs,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::StepCx;

    #[test]
    fn deletes_wait_thirty_minutes_unless_the_blueprint_says_otherwise() {
        assert_eq!(DELETED.backoff.bound, Duration::from_secs(30 * 60));
        let cx = StepCx::silent("ec2.nat_gateway.nat");
        assert_eq!(cx.timeout_or(DELETED.backoff.bound), DELETED.backoff.bound);
        let cx = cx.with_timeout(Some(Duration::from_secs(60)));
        assert_eq!(
            cx.timeout_or(DELETED.backoff.bound),
            Duration::from_secs(60)
        );
    }

    #[tokio::test]
    async fn a_failed_gateway_reports_aws_reason() {
        let gateway = NatGateway::builder()
            .state(NatGatewayState::Failed)
            .failure_code("Gateway.NotAttached")
            .failure_message("Network vpc-1 has no Internet gateway attached")
            .build();
        let look = || {
            let gateway = gateway.clone();
            async move { Ok(Some(gateway)) }
        };
        let err = AVAILABLE
            .wait(&StepCx::silent("nat"), look, seen)
            .await
            .unwrap_err();
        assert_eq!(err.code.as_deref(), Some("Gateway.NotAttached"));
        assert_eq!(
            err.message,
            "Network vpc-1 has no Internet gateway attached"
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
