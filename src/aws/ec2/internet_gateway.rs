//! `ec2.internet_gateway`: an internet gateway, attached to at most one VPC. Moving it to
//! another VPC is done in place (detach, attach).

use super::{
    delete_retrying, ignore_gone, missing, observed, outputs, string_or_null, tags,
    unless_already_ours,
};
use crate::aws::{aws_call, retry_while, AwsContext, Backoff, Cx};
use crate::kinds::{gone, AttrType, Attrs, AwsKind, Change, KindResult, Live, Schema, Tags, Tier};
use async_trait::async_trait;
use aws_sdk_ec2::types::{InternetGateway, InternetGatewayAttachment, ResourceType};
use aws_sdk_ec2::Client;

crate::spec! {
    pub(super) struct Spec with tags {
        vpc_id: Option<String> = optional(AttrType::String),
    }
}

const SCHEMA: Schema =
    Schema::new("ec2.internet_gateway", Tier::Network, Spec::ATTRS).outputs(&["arn", "owner_id"]);

const NOT_FOUND: &str = "InvalidInternetGatewayID.NotFound";
const DESCRIBE: &str = "ec2:DescribeInternetGateways";

ec2_item!(InternetGateway, DESCRIBE, &[NOT_FOUND], described by describe,
    listed by describe_internet_gateways.filters);

pub(super) struct InternetGatewayKind;

#[async_trait]
impl AwsKind for InternetGatewayKind {
    type Spec = Spec;
    type Item = InternetGateway;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        let ec2 = cx.aws.ec2().await;
        let request = ec2
            .create_internet_gateway()
            .set_tag_specifications(tags::specification(ResourceType::InternetGateway, tags));
        let created = aws_call("ec2:CreateInternetGateway", request.send()).await?;
        let id = created
            .internet_gateway()
            .and_then(InternetGateway::internet_gateway_id);
        let id = id.ok_or_else(|| missing("ec2:CreateInternetGateway", "InternetGatewayId"))?;
        if let Some(vpc) = &spec.vpc_id {
            attach(ec2, id, vpc).await?;
        }
        Ok(id.to_string())
    }

    fn live(&self, aws: &AwsContext, gateway: &InternetGateway) -> Option<Live> {
        to_live(aws, gateway)
    }

    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        let ec2 = cx.aws.ec2().await;
        let wanted = change.desired.vpc_id.as_ref();
        let attached = attached_vpcs(change.current);
        for vpc in attached.iter().filter(|vpc| wanted != Some(*vpc)) {
            detach(ec2, change.id(), vpc).await?;
        }
        if let Some(vpc) = wanted.filter(|vpc| !attached.contains(vpc)) {
            attach(ec2, change.id(), vpc).await?;
        }
        Ok(())
    }

    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let ec2 = cx.aws.ec2().await;
        let Some(current) = describe(ec2, std::slice::from_ref(&live.id)).await?.pop() else {
            return Ok(());
        };
        for vpc in attached_vpcs(&current) {
            detach(ec2, &live.id, &vpc).await?;
        }
        let id = live.id.as_str();
        delete_retrying(&[NOT_FOUND], || async move {
            let request = ec2.delete_internet_gateway().internet_gateway_id(id);
            aws_call("ec2:DeleteInternetGateway", request.send()).await?;
            Ok(())
        })
        .await
    }
}

async fn describe(ec2: &Client, ids: &[String]) -> KindResult<Vec<InternetGateway>> {
    describe_ids!(
        ec2,
        ids,
        describe_internet_gateways.set_internet_gateway_ids,
        filters("internet-gateway-id"),
        &[NOT_FOUND],
        DESCRIBE
    )
}

fn attached_vpcs(gateway: &InternetGateway) -> Vec<String> {
    let vpcs = gateway
        .attachments()
        .iter()
        .filter_map(InternetGatewayAttachment::vpc_id);
    vpcs.map(str::to_string).collect()
}

/// A gateway or VPC created moments ago may not be visible to AttachInternetGateway yet.
async fn attach(ec2: &Client, id: &str, vpc: &str) -> KindResult<()> {
    let not_yet = [NOT_FOUND, "InvalidVpcID.NotFound"];
    let attached = retry_while(&not_yet, Backoff::CONSISTENCY, || async move {
        let request = ec2
            .attach_internet_gateway()
            .internet_gateway_id(id)
            .vpc_id(vpc);
        aws_call("ec2:AttachInternetGateway", request.send()).await?;
        Ok(())
    })
    .await;
    unless_already_ours(attached, || async move {
        let gateway = describe(ec2, &[id.to_string()]).await?.pop();
        let gateway = gateway.ok_or_else(|| gone(DESCRIBE, &[NOT_FOUND], id))?;
        Ok(attached_vpcs(&gateway).iter().any(|v| v == vpc))
    })
    .await
}

/// AWS refuses the detach while public addresses in the VPC are still mapped
/// (DependencyViolation); an already detached gateway is fine.
async fn detach(ec2: &Client, id: &str, vpc: &str) -> KindResult<()> {
    let detached = retry_while(
        &["DependencyViolation"],
        Backoff::DEPENDENCIES,
        || async move {
            let request = ec2
                .detach_internet_gateway()
                .internet_gateway_id(id)
                .vpc_id(vpc);
            aws_call("ec2:DetachInternetGateway", request.send()).await?;
            Ok(())
        },
    )
    .await;
    ignore_gone(
        detached,
        &["Gateway.NotAttached", NOT_FOUND, "InvalidVpcID.NotFound"],
    )
}

fn to_live(aws: &AwsContext, gateway: &InternetGateway) -> Option<Live> {
    let id = gateway.internet_gateway_id()?.to_string();
    let owner = gateway.owner_id();
    let outputs = outputs([
        (
            "arn",
            owner.and_then(|owner| aws.arn("ec2", owner, &format!("internet-gateway/{id}"))),
        ),
        ("owner_id", owner.map(str::to_string)),
    ]);
    let attrs = observed([(
        "vpc_id",
        string_or_null(attached_vpcs(gateway).first().map(String::as_str)),
    )]);
    Some(Live::observed(id, outputs, attrs))
}
