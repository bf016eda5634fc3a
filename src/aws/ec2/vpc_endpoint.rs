//! `ec2.vpc_endpoint`: a private path from a VPC to an AWS service. A gateway endpoint
//! (S3, DynamoDB) adds a route to the route tables it names; an interface endpoint
//! (ecr.api, sts, logs, ...) puts a network interface in each subnet it names, behind
//! security groups, optionally answering the service's public DNS name inside the VPC.
//! Route tables, subnets, groups, private DNS and the policy change in place
//! (ModifyVpcEndpoint); the VPC, service and type force a new endpoint.

use super::{delete_retrying, has_code, missing, observed, outputs, tags};
use crate::aws::iam::policy;
use crate::aws::{aws_call, retry_while, sdk_error, AwsContext, Backoff, Cx};
use crate::kinds::{
    AttrType, Attrs, AwsKind, Change, KindError, KindResult, Live, Schema, Seen, Tags, Tier, Waiter,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType, VpcEndpoint, VpcEndpointType};
use aws_sdk_ec2::Client;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

crate::spec! {
    pub(super) struct Spec with tags {
        vpc_id: String = required(AttrType::String).force_new(),
        /// `com.amazonaws.REGION.SERVICE`, such as `com.amazonaws.eu-west-1.s3`.
        service_name: String = required(AttrType::String).force_new(),
        vpc_endpoint_type: String = optional(AttrType::String)
            .default("\"Gateway\"")
            .one_of(&["Gateway", "Interface"])
            .force_new(),
        /// Gateway endpoints: the route tables that get the service's prefix-list route.
        route_table_ids: Vec<String> = optional(AttrType::List(&AttrType::String))
            .default("[]")
            .unordered(),
        /// Interface endpoints: one subnet per availability zone.
        subnet_ids: Vec<String> = optional(AttrType::List(&AttrType::String))
            .default("[]")
            .unordered(),
        security_group_ids: Vec<String> = optional(AttrType::List(&AttrType::String))
            .default("[]")
            .unordered(),
        private_dns_enabled: bool = optional(AttrType::Bool).default("false"),
        /// Absent: AWS's default policy (full access through the endpoint).
        policy: Option<Value> = optional(AttrType::Json),
    }
}

const SCHEMA: Schema = Schema::new("ec2.vpc_endpoint", Tier::Network, Spec::ATTRS)
    .outputs(&["arn", "dns_name"])
    .priced(crate::cost::models::vpc_endpoint);

const NOT_FOUND: &str = "InvalidVpcEndpointId.NotFound";
const DESCRIBE: &str = "ec2:DescribeVpcEndpoints";
/// AWS spells an endpoint's states in lower camel case ("pendingAcceptance"); states are
/// compared in lower case. An interface endpoint takes a minute or two to place its network
/// interfaces and to remove them; 10 minutes each, as terraform-provider-aws allows, unless
/// the blueprint's `timeouts` say otherwise.
const AVAILABLE: Waiter = Waiter::until(
    DESCRIBE,
    &["available"],
    &["failed", "rejected", "expired"],
    Backoff::CONSISTENCY.within(Duration::from_secs(10 * 60)),
);
const DELETED: Waiter = AVAILABLE.gone(AVAILABLE.failed, AVAILABLE.backoff);

ec2_item!(VpcEndpoint, DESCRIBE, &[NOT_FOUND], described by describe,
    listed by describe_vpc_endpoints.filters if |e: &VpcEndpoint| !gone(e));

pub(super) struct VpcEndpointKind;

#[async_trait]
impl AwsKind for VpcEndpointKind {
    type Spec = Spec;
    type Item = VpcEndpoint;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        let ec2 = cx.aws.ec2().await;
        let id = create_endpoint(ec2, spec, tags).await?;
        // Interface endpoints take a minute or two to place their interfaces.
        let ids = std::slice::from_ref(&id);
        let look = || async move { Ok(describe(ec2, ids).await?.pop()) };
        AVAILABLE.wait(cx, look, state).await?;
        Ok(id)
    }

    fn live(&self, aws: &AwsContext, endpoint: &VpcEndpoint) -> Option<Live> {
        let id = endpoint.vpc_endpoint_id()?.to_string();
        let owner = endpoint.owner_id();
        let arn = owner.and_then(|o| aws.arn("ec2", o, &format!("vpc-endpoint/{id}")));
        let dns_name = endpoint.dns_entries().first().and_then(|d| d.dns_name());
        let outputs = outputs([("arn", arn), ("dns_name", dns_name.map(str::to_string))]);
        let groups = endpoint.groups().iter().filter_map(|g| g.group_id());
        let kind = endpoint.vpc_endpoint_type().map(VpcEndpointType::as_str);
        // Private DNS means nothing to a gateway endpoint (the emulator says true).
        let private_dns = kind == Some("Interface") && endpoint.private_dns_enabled() == Some(true);
        let attrs = observed([
            ("vpc_id", endpoint.vpc_id().unwrap_or_default().into()),
            (
                "service_name",
                endpoint.service_name().unwrap_or_default().into(),
            ),
            // AWS's default type, which an answer may leave out (the emulator does).
            ("vpc_endpoint_type", kind.unwrap_or("Gateway").into()),
            ("route_table_ids", endpoint.route_table_ids().into()),
            ("subnet_ids", endpoint.subnet_ids().into()),
            ("security_group_ids", groups.collect()),
            ("private_dns_enabled", private_dns.into()),
            ("policy", observed_policy(endpoint.policy_document())),
        ]);
        Some(Live::observed(id, outputs, attrs))
    }

    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        let (current, desired) = (change.current, change.desired);
        let ec2 = cx.aws.ec2().await;
        let groups: Vec<String> = current
            .groups()
            .iter()
            .filter_map(|g| g.group_id())
            .map(str::to_string)
            .collect();
        let (add_tables, drop_tables) =
            set_changes(current.route_table_ids(), &desired.route_table_ids);
        let (add_subnets, drop_subnets) = set_changes(current.subnet_ids(), &desired.subnet_ids);
        let (add_groups, drop_groups) = set_changes(&groups, &desired.security_group_ids);
        let mut request = ec2
            .modify_vpc_endpoint()
            .vpc_endpoint_id(change.id())
            .set_add_route_table_ids(add_tables)
            .set_remove_route_table_ids(drop_tables)
            .set_add_subnet_ids(add_subnets)
            .set_remove_subnet_ids(drop_subnets)
            .set_add_security_group_ids(add_groups)
            .set_remove_security_group_ids(drop_groups);
        let interface = desired.vpc_endpoint_type == "Interface";
        if interface && current.private_dns_enabled() != Some(desired.private_dns_enabled) {
            request = request.private_dns_enabled(desired.private_dns_enabled);
        }
        // Compared with what AWS holds, so that a policy changed outside is put back.
        let held = observed_policy(current.policy_document());
        request = match &desired.policy {
            Some(wanted) if held.is_null() || !policy::same(&held, wanted) => {
                request.policy_document(policy::render(wanted))
            }
            None if !held.is_null() => request.reset_policy(true),
            _ => request,
        };
        let sent = request.send().await;
        sent.map_err(|e| sdk_error("ec2:ModifyVpcEndpoint", e))?;
        Ok(())
    }

    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let ec2 = cx.aws.ec2().await;
        let id = live.id.as_str();
        delete_retrying(&[NOT_FOUND], || async move {
            let request = ec2.delete_vpc_endpoints().vpc_endpoint_ids(id);
            let answer = request.send().await;
            let answer = answer.map_err(|e| sdk_error("ec2:DeleteVpcEndpoints", e))?;
            // The call succeeds as a whole and reports a refused endpoint as an item.
            match answer.unsuccessful().first().and_then(|item| item.error()) {
                Some(error) => Err(KindError::new(
                    "ec2:DeleteVpcEndpoints",
                    error.code().map(str::to_string),
                    error.message().unwrap_or("refused"),
                )),
                None => Ok(()),
            }
        })
        .await?;
        let ids = std::slice::from_ref(&live.id);
        let look = || async move { Ok(describe(ec2, ids).await?.pop()) };
        DELETED.wait(cx, look, state).await?;
        Ok(())
    }
}

/// The endpoints of `ids` that are not deleted (a deleted one stays visible for a while).
async fn describe(ec2: &Client, ids: &[String]) -> KindResult<Vec<VpcEndpoint>> {
    let found: Vec<VpcEndpoint> = describe_ids!(
        ec2,
        ids,
        describe_vpc_endpoints.set_vpc_endpoint_ids,
        filters("vpc-endpoint-id"),
        &[NOT_FOUND],
        DESCRIBE
    )?;
    Ok(found.into_iter().filter(|e| !gone(e)).collect())
}

/// A VPC, route table, subnet or group created moments ago may not be visible to
/// CreateVpcEndpoint yet.
async fn create_endpoint(ec2: &Client, spec: &Spec, tags: &Tags) -> KindResult<String> {
    let not_yet = [
        "InvalidVpcID.NotFound",
        "InvalidRouteTableId.NotFound",
        "InvalidSubnetID.NotFound",
        "InvalidGroup.NotFound",
    ];
    let document = spec.policy.as_ref().map(policy::render);
    let listed = |ids: &[String]| Some(ids.to_vec()).filter(|ids| !ids.is_empty());
    // One token for every attempt: AWS answers a repeat (a lost answer retried) with the
    // endpoint the first attempt made, not a second endpoint.
    let token = uuid::Uuid::new_v4().to_string();
    let created = retry_while(&not_yet, Backoff::CONSISTENCY, || async {
        let request = ec2
            .create_vpc_endpoint()
            .vpc_id(&spec.vpc_id)
            .service_name(&spec.service_name)
            .client_token(&token)
            .vpc_endpoint_type(VpcEndpointType::from(spec.vpc_endpoint_type.as_str()))
            .set_route_table_ids(listed(&spec.route_table_ids))
            .set_subnet_ids(listed(&spec.subnet_ids))
            .set_security_group_ids(listed(&spec.security_group_ids))
            .set_policy_document(document.clone())
            .set_tag_specifications(tags::specification(ResourceType::VpcEndpoint, tags));
        let request = match spec.vpc_endpoint_type.as_str() {
            "Interface" => request.private_dns_enabled(spec.private_dns_enabled),
            _ => request,
        };
        aws_call("ec2:CreateVpcEndpoint", request.send()).await
    })
    .await;
    let created = match created {
        Err(err) if has_code(&err, &["RouteAlreadyExists"]) => {
            let hint = "a route table already has a route to this service (another endpoint's)";
            return Err(KindError::new(
                "ec2:CreateVpcEndpoint",
                Some("RouteAlreadyExists".into()),
                format!("{err}; {hint}"),
            ));
        }
        other => other?,
    };
    let id = created
        .vpc_endpoint()
        .and_then(VpcEndpoint::vpc_endpoint_id);
    Ok(id
        .ok_or_else(|| missing("ec2:CreateVpcEndpoint", "VpcEndpointId"))?
        .to_string())
}

fn state(endpoint: &VpcEndpoint) -> Seen {
    let state = endpoint.state().map_or("in no state yet", |s| s.as_str());
    let reason = endpoint
        .last_error()
        .and_then(|e| e.message())
        .map(str::to_string);
    Seen::new(state.to_ascii_lowercase()).because(reason)
}

/// A deleted endpoint stays visible for a while in state "deleted".
fn gone(endpoint: &VpcEndpoint) -> bool {
    endpoint
        .state()
        .is_some_and(|s| s.as_str().eq_ignore_ascii_case("deleted"))
}

/// What to add and what to remove to turn `current` into `desired`; `None` for nothing.
fn set_changes(
    current: &[String],
    desired: &[String],
) -> (Option<Vec<String>>, Option<Vec<String>>) {
    let (now, want): (BTreeSet<&String>, BTreeSet<&String>) =
        (current.iter().collect(), desired.iter().collect());
    let some = |ids: Vec<String>| Some(ids).filter(|ids| !ids.is_empty());
    let added = want.difference(&now).map(|s| s.to_string()).collect();
    let removed = now.difference(&want).map(|s| s.to_string()).collect();
    (some(added), some(removed))
}

/// The endpoint's policy in the blueprint's form. AWS's default ("everyone, everything")
/// reads as no policy, so a blueprint that leaves it out sees no difference.
fn observed_policy(text: Option<&str>) -> Value {
    let Some(document) = text.and_then(|t| policy::from_aws(t).ok()) else {
        return Value::Null;
    };
    let full_access = serde_json::json!({"Statement": [{"Action": "*", "Effect": "Allow", "Principal": "*", "Resource": "*"}]});
    let statements = document.get("Statement");
    match statements
        .is_some_and(|s| policy::same(&serde_json::json!({"Statement": s}), &full_access))
    {
        true => Value::Null,
        false => document,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_differences_are_sent() {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (added, removed) = set_changes(&ids(&["rtb-1", "rtb-2"]), &ids(&["rtb-2", "rtb-3"]));
        assert_eq!(added, Some(ids(&["rtb-3"])));
        assert_eq!(removed, Some(ids(&["rtb-1"])));
        assert_eq!(set_changes(&ids(&["a"]), &ids(&["a"])), (None, None));
    }

    #[test]
    fn the_default_policy_reads_as_none() {
        let default = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;
        assert_eq!(observed_policy(Some(default)), Value::Null);
        let narrow = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#;
        assert_eq!(
            observed_policy(Some(narrow))["Statement"][0]["Action"],
            json!("s3:GetObject")
        );
        assert_eq!(observed_policy(None), Value::Null);
    }

    #[test]
    fn states_are_compared_in_one_case() {
        let endpoint = VpcEndpoint::builder()
            .state(aws_sdk_ec2::types::State::Available)
            .build();
        assert!(AVAILABLE.ready.contains(&state(&endpoint).state.as_str()));
        let deleted = VpcEndpoint::builder()
            .state(aws_sdk_ec2::types::State::Deleted)
            .build();
        assert!(gone(&deleted));
    }
}
