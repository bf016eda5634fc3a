//! `ec2.elastic_ip`: an Elastic IP address; its id is the allocation id. Only its tags
//! change in place.

use super::{
    describe_existing, filter, missing, observed, outputs, string_or_null, tag_filters,
    tagging_by_id, tags, Lookup,
};
use crate::aws::{aws_call, retry_while, sdk_error, AwsContext, Backoff, Cx};
use crate::kinds::{
    AttrType, Attrs, AwsItem, AwsKind, KindResult, Live, Schema, Tagging, Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::{Address, DomainType, ResourceType};
use aws_sdk_ec2::Client;
use std::time::Duration;

crate::spec! {
    pub(super) struct Spec with tags {
        // EC2-Classic is retired: AWS offers VPC addresses only.
        domain: String = optional(AttrType::String)
            .default("\"vpc\"")
            .force_new()
            .one_of(&["vpc"]),
    }
}

const SCHEMA: Schema = Schema::new("ec2.elastic_ip", Tier::Network, Spec::ATTRS)
    .outputs(&["public_ip"])
    .priced(crate::cost::models::elastic_ip);

const NOT_FOUND: &str = "InvalidAllocationID.NotFound";
const DESCRIBE: &str = "ec2:DescribeAddresses";

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

#[async_trait]
impl AwsItem for Address {
    type Client = AwsContext;
    const DESCRIBE: &'static str = DESCRIBE;
    const NOT_FOUND: &'static [&'static str] = &[NOT_FOUND];

    async fn describe(aws: &AwsContext, ids: &[String]) -> KindResult<Vec<Address>> {
        describe(aws.ec2().await, ids).await
    }

    /// DescribeAddresses is not paginated: one call answers for every address.
    async fn list(aws: &AwsContext, tags: &Tags) -> KindResult<Option<Vec<Address>>> {
        let request = aws.ec2().await.describe_addresses();
        let request = request.set_filters(Some(tag_filters(tags)));
        let described = request.send().await.map_err(|e| sdk_error(DESCRIBE, e))?;
        Ok(Some(described.addresses.unwrap_or_default()))
    }

    fn tags(&self) -> Option<Tags> {
        Some(tags::to_map(Address::tags(self)))
    }

    async fn tagging(&self, aws: &AwsContext, id: &str) -> KindResult<Option<Tagging>> {
        Ok(Some(tagging_by_id(aws, id).await))
    }
}

pub(super) struct ElasticIpKind;

#[async_trait]
impl AwsKind for ElasticIpKind {
    type Spec = Spec;
    type Item = Address;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        let request = cx
            .aws
            .ec2()
            .await
            .allocate_address()
            .domain(DomainType::from(spec.domain.as_str()))
            .set_tag_specifications(tags::specification(ResourceType::ElasticIp, tags));
        let allocated = aws_call("ec2:AllocateAddress", request.send()).await?;
        let id = allocated.allocation_id();
        Ok(id
            .ok_or_else(|| missing("ec2:AllocateAddress", "AllocationId"))?
            .to_string())
    }

    fn live(&self, _: &AwsContext, address: &Address) -> Option<Live> {
        to_live(address)
    }

    /// Only the tags change in place, and the layer syncs those.
    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let ec2 = cx.aws.ec2().await;
        let id = live.id.as_str();
        // An address already released is NOT_FOUND, which the layer counts as deleted.
        retry_while(&RELEASE_BLOCKED, RELEASE_BACKOFF, || async move {
            let request = ec2.release_address().allocation_id(id);
            aws_call("ec2:ReleaseAddress", request.send()).await?;
            Ok(())
        })
        .await
    }
}

/// DescribeAddresses is not paginated: one call answers for every id.
async fn describe(ec2: &Client, ids: &[String]) -> KindResult<Vec<Address>> {
    describe_existing(ids, &[NOT_FOUND], |lookup, ids| async move {
        let request = match lookup {
            Lookup::Ids => ec2
                .describe_addresses()
                .set_allocation_ids(Some(ids.to_vec())),
            Lookup::Filter => ec2
                .describe_addresses()
                .filters(filter("allocation-id", ids)),
        };
        let described = request.send().await.map_err(|e| sdk_error(DESCRIBE, e))?;
        Ok(described.addresses.unwrap_or_default())
    })
    .await
}

fn to_live(address: &Address) -> Option<Live> {
    let outputs = outputs([("public_ip", address.public_ip().map(str::to_string))]);
    let attrs = observed([(
        "domain",
        string_or_null(address.domain().map(DomainType::as_str)),
    )]);
    Some(Live::observed(
        address.allocation_id()?.to_string(),
        outputs,
        attrs,
    ))
}
