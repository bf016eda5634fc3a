//! `ec2.internet_gateway`: an internet gateway, attached to at most one VPC. Moving it to
//! another VPC is done in place (detach, attach).

use super::{
    arn, carries_all, delete_retrying, describe_existing, exists, filter, has_code, ignore_gone,
    in_order, missing, observed, outputs, parse_spec, read_one, string_or_null, tag_filters, tags,
    user_tags, Lookup, TAGS,
};
use crate::aws::{retry_while, sdk_error, AwsContext, Backoff};
use crate::kinds::{
    identity_tags, Attr, AttrType, Attrs, KindResult, Live, ResourceKind, Schema, StepCx, Tags,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::{InternetGateway, InternetGatewayAttachment, ResourceType};
use aws_sdk_ec2::Client;
use serde::Deserialize;
use std::sync::Arc;

static SCHEMA: Schema = Schema {
    name: "ec2.internet_gateway",
    attrs: &[Attr::optional("vpc_id", AttrType::String), TAGS],
    outputs: &["arn", "owner_id"],
    taggable: true,
};

const NOT_FOUND: &str = "InvalidInternetGatewayID.NotFound";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    vpc_id: Option<String>,
}

pub(super) struct InternetGatewayKind(pub(super) Arc<AwsContext>);

#[async_trait]
impl ResourceKind for InternetGatewayKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, _cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        let ec2 = self.0.ec2().await;
        let created = ec2
            .create_internet_gateway()
            .set_tag_specifications(tags::specification(ResourceType::InternetGateway, tags))
            .send()
            .await
            .map_err(|e| sdk_error("ec2:CreateInternetGateway", e))?;
        let id = created
            .internet_gateway()
            .and_then(InternetGateway::internet_gateway_id);
        let id = id.ok_or_else(|| missing("ec2:CreateInternetGateway", "InternetGatewayId"))?;
        if let Some(vpc) = &spec.vpc_id {
            attach(ec2, id, vpc).await?;
        }
        self.read_one(id).await
    }

    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        let ec2 = self.0.ec2().await;
        let gateways = describe(ec2, ids).await?;
        let live = gateways.iter().filter_map(|gateway| to_live(ec2, gateway));
        Ok(in_order(ids, live.collect()))
    }

    async fn list_tagged(&self, tags: &Tags) -> KindResult<Option<Vec<Live>>> {
        let ec2 = self.0.ec2().await;
        let gateways: Vec<InternetGateway> = ec2
            .describe_internet_gateways()
            .set_filters(Some(tag_filters(tags)))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("ec2:DescribeInternetGateways", e))?;
        let live = gateways
            .iter()
            .filter(|gateway| carries_all(&tags::to_map(gateway.tags()), tags))
            .filter_map(|gateway| to_live(ec2, gateway));
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
        let ec2 = self.0.ec2().await;
        let current = describe(ec2, std::slice::from_ref(&live.id)).await?.pop();
        let current = exists("ec2:DescribeInternetGateways", NOT_FOUND, &live.id, current)?;
        tags::sync(ec2, &live.id, current.tags(), tags).await?;
        let attached = attached_vpcs(&current);
        for vpc in attached
            .iter()
            .filter(|vpc| spec.vpc_id.as_ref() != Some(*vpc))
        {
            detach(ec2, &live.id, vpc).await?;
        }
        if let Some(vpc) = spec.vpc_id.as_ref().filter(|vpc| !attached.contains(vpc)) {
            attach(ec2, &live.id, vpc).await?;
        }
        self.read_one(&live.id).await
    }

    async fn delete(&self, _cx: &StepCx, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let ec2 = self.0.ec2().await;
        let Some(current) = describe(ec2, std::slice::from_ref(&live.id)).await?.pop() else {
            return Ok(());
        };
        for vpc in attached_vpcs(&current) {
            detach(ec2, &live.id, &vpc).await?;
        }
        let id = live.id.as_str();
        delete_retrying(&[NOT_FOUND], || async move {
            let request = ec2.delete_internet_gateway().internet_gateway_id(id);
            request
                .send()
                .await
                .map_err(|e| sdk_error("ec2:DeleteInternetGateway", e))?;
            Ok(())
        })
        .await
    }
}

impl InternetGatewayKind {
    async fn read_one(&self, id: &str) -> KindResult<Live> {
        read_one(self, "ec2:DescribeInternetGateways", NOT_FOUND, id).await
    }
}

async fn describe(ec2: &Client, ids: &[String]) -> KindResult<Vec<InternetGateway>> {
    describe_existing(ids, &[NOT_FOUND], |lookup| async move {
        let request = match lookup {
            Lookup::Ids => ec2
                .describe_internet_gateways()
                .set_internet_gateway_ids(Some(ids.to_vec())),
            Lookup::Filter => ec2
                .describe_internet_gateways()
                .filters(filter("internet-gateway-id", ids)),
        };
        let pages = request.into_paginator().items().send();
        pages
            .try_collect()
            .await
            .map_err(|e| sdk_error("ec2:DescribeInternetGateways", e))
    })
    .await
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
        ec2.attach_internet_gateway()
            .internet_gateway_id(id)
            .vpc_id(vpc)
            .send()
            .await
            .map_err(|e| sdk_error("ec2:AttachInternetGateway", e))?;
        Ok(())
    })
    .await;
    match attached {
        // Fine when attached to this very VPC: an earlier attempt's answer was lost.
        Err(err) if has_code(&err, &["Resource.AlreadyAssociated"]) => {
            let gateway = describe(ec2, &[id.to_string()]).await?.pop();
            let gateway = exists("ec2:DescribeInternetGateways", NOT_FOUND, id, gateway)?;
            if attached_vpcs(&gateway).iter().any(|v| v == vpc) {
                Ok(())
            } else {
                Err(err)
            }
        }
        other => other,
    }
}

/// AWS refuses the detach while public addresses in the VPC are still mapped
/// (DependencyViolation); an already detached gateway is fine.
async fn detach(ec2: &Client, id: &str, vpc: &str) -> KindResult<()> {
    let detached = retry_while(
        &["DependencyViolation"],
        Backoff::DEPENDENCIES,
        || async move {
            ec2.detach_internet_gateway()
                .internet_gateway_id(id)
                .vpc_id(vpc)
                .send()
                .await
                .map_err(|e| sdk_error("ec2:DetachInternetGateway", e))?;
            Ok(())
        },
    )
    .await;
    ignore_gone(
        detached,
        &["Gateway.NotAttached", NOT_FOUND, "InvalidVpcID.NotFound"],
    )
}

fn to_live(ec2: &Client, gateway: &InternetGateway) -> Option<Live> {
    let id = gateway.internet_gateway_id()?.to_string();
    let owner = gateway.owner_id();
    let outputs = outputs([
        (
            "arn",
            owner.and_then(|owner| arn(ec2, owner, &format!("internet-gateway/{id}"))),
        ),
        ("owner_id", owner.map(str::to_string)),
    ]);
    let attrs = observed([
        (
            "vpc_id",
            string_or_null(attached_vpcs(gateway).first().map(String::as_str)),
        ),
        ("tags", user_tags(&tags::to_map(gateway.tags()))),
    ]);
    Some(Live {
        id,
        outputs,
        attrs: Some(attrs),
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
}
