//! `ec2.elastic_ip`: an Elastic IP address; its id is the allocation id.

use super::{
    carries_all, describe_existing, exists, filter, ignore_gone, in_order, missing, observed,
    outputs, parse_spec, string_or_null, tag_filters, tags, user_tags, with_tags, Lookup, TAGS,
};
use crate::aws::{retry_while, sdk_error, AwsContext, Backoff};
use crate::kinds::{
    identity_tags, Attr, AttrType, Attrs, KindResult, Live, Price, ResourceKind, Schema, StepCx,
    Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::{Address, DomainType, ResourceType};
use aws_sdk_ec2::Client;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

static SCHEMA: Schema = Schema {
    name: "ec2.elastic_ip",
    attrs: &[
        Attr::optional("domain", AttrType::String)
            .default("\"vpc\"")
            .force_new(),
        TAGS,
    ],
    outputs: &["public_ip"],
    taggable: true,
    tier: Tier::Network,
    price: Price::Model(crate::cost::models::elastic_ip),
};

const NOT_FOUND: &str = "InvalidAllocationID.NotFound";

/// While a NAT gateway that used the address is still deleting, AWS refuses to release it
/// with these codes; minutes, not forever.
const RELEASE_BLOCKED: [&str; 3] = [
    "InvalidIPAddress.InUse",
    "AuthFailure",
    "DependencyViolation",
];
const RELEASE_BACKOFF: Backoff = Backoff {
    first: Duration::from_secs(2),
    max_delay: Duration::from_secs(15),
    bound: Duration::from_secs(5 * 60),
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    domain: String,
}

pub(super) struct ElasticIpKind(pub(super) Arc<AwsContext>);

#[async_trait]
impl ResourceKind for ElasticIpKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, _cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        let ec2 = self.0.ec2().await;
        let allocated = ec2
            .allocate_address()
            .domain(DomainType::from(spec.domain.as_str()))
            .set_tag_specifications(tags::specification(ResourceType::ElasticIp, tags))
            .send()
            .await
            .map_err(|e| sdk_error("ec2:AllocateAddress", e))?;
        let id = allocated
            .allocation_id()
            .ok_or_else(|| missing("ec2:AllocateAddress", "AllocationId"))?;
        let outputs = outputs([("public_ip", allocated.public_ip().map(str::to_string))]);
        let domain = allocated
            .domain()
            .map_or(spec.domain.as_str(), DomainType::as_str);
        let attrs = observed([
            ("domain", string_or_null(Some(domain))),
            ("tags", user_tags(tags)),
        ]);
        Ok(Live {
            attrs: Some(attrs),
            id: id.to_string(),
            outputs,
            identity: identity_tags(tags),
        })
    }

    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        let ec2 = self.0.ec2().await;
        let addresses = describe(ec2, ids).await?;
        Ok(in_order(
            ids,
            addresses.iter().filter_map(to_live).collect(),
        ))
    }

    async fn list_tagged(&self, tags: &Tags) -> KindResult<Option<Vec<Live>>> {
        let ec2 = self.0.ec2().await;
        let described = ec2
            .describe_addresses()
            .set_filters(Some(tag_filters(tags)))
            .send()
            .await
            .map_err(|e| sdk_error("ec2:DescribeAddresses", e))?;
        Ok(Some(
            described
                .addresses()
                .iter()
                .filter(|address| carries_all(&tags::to_map(address.tags()), tags))
                .filter_map(to_live)
                .collect(),
        ))
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
        let current = exists("ec2:DescribeAddresses", NOT_FOUND, &live.id, current)?;
        tags::sync(ec2, &live.id, current.tags(), tags).await?;
        // Only tags change in place; the rest is as just described.
        let updated = exists(
            "ec2:DescribeAddresses",
            NOT_FOUND,
            &live.id,
            to_live(&current),
        )?;
        Ok(with_tags(updated, tags))
    }

    async fn delete(&self, _cx: &StepCx, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let ec2 = self.0.ec2().await;
        let id = live.id.as_str();
        let released = retry_while(&RELEASE_BLOCKED, RELEASE_BACKOFF, || async move {
            let request = ec2.release_address().allocation_id(id);
            request
                .send()
                .await
                .map_err(|e| sdk_error("ec2:ReleaseAddress", e))?;
            Ok(())
        })
        .await;
        ignore_gone(released, &[NOT_FOUND])
    }
}

/// DescribeAddresses is not paginated: one call answers for every id.
async fn describe(ec2: &Client, ids: &[String]) -> KindResult<Vec<Address>> {
    describe_existing(ids, &[NOT_FOUND], |lookup| async move {
        let request = match lookup {
            Lookup::Ids => ec2
                .describe_addresses()
                .set_allocation_ids(Some(ids.to_vec())),
            Lookup::Filter => ec2
                .describe_addresses()
                .filters(filter("allocation-id", ids)),
        };
        let described = request
            .send()
            .await
            .map_err(|e| sdk_error("ec2:DescribeAddresses", e))?;
        Ok(described.addresses.unwrap_or_default())
    })
    .await
}

fn to_live(address: &Address) -> Option<Live> {
    let outputs = outputs([("public_ip", address.public_ip().map(str::to_string))]);
    let attrs = observed([
        (
            "domain",
            string_or_null(address.domain().map(DomainType::as_str)),
        ),
        ("tags", user_tags(&tags::to_map(address.tags()))),
    ]);
    Some(Live {
        attrs: Some(attrs),
        id: address.allocation_id()?.to_string(),
        outputs,
        identity: identity_tags(&tags::to_map(address.tags())),
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
