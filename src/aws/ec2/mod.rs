//! The EC2 network tier: VPC, subnet, internet gateway, Elastic IP, NAT gateway, route table
//! and security group, one kind per file. What several kinds share lives here, in
//! [`tags`] and in [`wait`].

mod elastic_ip;
mod internet_gateway;
mod nat_gateway;
mod route_table;
mod security_group;
mod subnet;
mod tags;
mod vpc;
mod wait;

use crate::aws::{retry_while, AwsContext, Backoff};
use crate::kinds::{Attr, AttrType, Attrs, KindError, KindResult, Live, Registry, Schema};
use aws_sdk_ec2::types::Filter;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

/// Registers every EC2 network kind, all sharing `aws`'s one EC2 client.
pub fn register(registry: &mut Registry, aws: &Arc<AwsContext>) {
    registry.register(Arc::new(vpc::VpcKind(aws.clone())));
    registry.register(Arc::new(subnet::SubnetKind(aws.clone())));
    registry.register(Arc::new(internet_gateway::InternetGatewayKind(aws.clone())));
    registry.register(Arc::new(elastic_ip::ElasticIpKind(aws.clone())));
    registry.register(Arc::new(nat_gateway::NatGatewayKind(aws.clone())));
    registry.register(Arc::new(route_table::RouteTableKind(aws.clone())));
    registry.register(Arc::new(security_group::SecurityGroupKind(aws.clone())));
}

/// The `tags` attribute every kind here has. Its value reaches the kind merged with innovate's
/// identity tags through the `tags` argument, so the spec structs leave it out.
const TAGS: Attr = Attr::optional("tags", AttrType::StringMap).default("{}");

/// Deserializes a kind's attributes into its spec struct: schema defaults fill what is
/// missing, `tags` and anything the schema does not know are dropped.
fn parse_spec<T: DeserializeOwned>(schema: &Schema, attrs: &Attrs) -> KindResult<T> {
    let mut spec = Map::new();
    for attr in schema.attrs.iter().filter(|a| a.name != TAGS.name) {
        spec.insert(attr.name.to_string(), value_or_default(attr, attrs));
    }
    serde_json::from_value(Value::Object(spec))
        .map_err(|e| KindError::local(schema.name, format!("attributes do not fit: {e}")))
}

fn value_or_default(attr: &Attr, attrs: &Attrs) -> Value {
    match attrs.get(attr.name) {
        Some(value) if !value.is_null() => value.clone(),
        _ => attr.default_value().unwrap_or(Value::Null),
    }
}

/// Whether an attribute differs between what state recorded and what the blueprint wants,
/// counting an absent attribute as its default.
fn changed(schema: &Schema, prior: &Attrs, desired: &Attrs, name: &str) -> bool {
    schema
        .attr(name)
        .is_some_and(|attr| value_or_default(attr, prior) != value_or_default(attr, desired))
}

/// `Filter { name, values }` for Describe* calls.
fn filter(name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().map(Into::into).collect()))
        .build()
}

/// How a Describe* call selects resources.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Lookup {
    /// By the call's id list: AWS fails the whole call if one id is gone.
    Ids,
    /// By an id filter: AWS silently leaves out what is gone.
    Filter,
}

/// Describes `ids` by id, and when AWS refuses because one of them is gone (`not_found`),
/// once more by filter, which returns the ones that still exist.
async fn describe_existing<T, F, Fut>(
    ids: &[String],
    not_found: &[&str],
    mut describe: F,
) -> KindResult<Vec<T>>
where
    F: FnMut(Lookup) -> Fut,
    Fut: Future<Output = KindResult<Vec<T>>>,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    match describe(Lookup::Ids).await {
        Err(err) if has_code(&err, not_found) => describe(Lookup::Filter).await,
        result => result,
    }
}

fn has_code(err: &KindError, codes: &[&str]) -> bool {
    err.code
        .as_deref()
        .is_some_and(|code| codes.contains(&code))
}

/// Lines found resources up with `ids`: `None` where one is gone.
fn in_order(ids: &[String], found: Vec<Live>) -> Vec<Option<Live>> {
    let by_id: HashMap<String, Live> = found.into_iter().map(|l| (l.id.clone(), l)).collect();
    ids.iter().map(|id| by_id.get(id).cloned()).collect()
}

/// The resource `id` if it was found, else an error naming the call that no longer finds it.
fn exists<T>(call: &str, not_found: &str, id: &str, found: Option<T>) -> KindResult<T> {
    found.ok_or_else(|| {
        KindError::new(
            call,
            Some(not_found.to_string()),
            format!("{id} no longer exists"),
        )
    })
}

/// A deletion that finds the resource already gone has done its job.
fn ignore_gone(result: KindResult<()>, not_found: &[&str]) -> KindResult<()> {
    match result {
        Err(err) if has_code(&err, not_found) => Ok(()),
        other => other,
    }
}

/// Runs a Delete* call, retrying while AWS still releases what depends on the resource
/// (network interfaces, mapped addresses); a resource already gone counts as deleted.
async fn delete_retrying<F, Fut>(not_found: &[&str], delete: F) -> KindResult<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = KindResult<()>>,
{
    ignore_gone(
        retry_while(&["DependencyViolation"], Backoff::DEPENDENCIES, delete).await,
        not_found,
    )
}

/// An identifier AWS should have returned but did not.
fn missing(call: &str, field: &str) -> KindError {
    KindError::local(call, format!("the response has no {field}"))
}

/// `arn:PARTITION:ec2:REGION:OWNER:RESOURCE`, for resources whose Describe* has no ARN.
fn arn(ec2: &aws_sdk_ec2::Client, owner: &str, resource: &str) -> Option<String> {
    let region = ec2.config().region()?.as_ref();
    let partition = if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    Some(format!("arn:{partition}:ec2:{region}:{owner}:{resource}"))
}

/// Outputs from `(name, value)` pairs, leaving out values AWS did not report.
fn outputs<'a>(pairs: impl IntoIterator<Item = (&'a str, Option<String>)>) -> Attrs {
    pairs
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_string(), Value::String(value?))))
        .collect()
}

#[cfg(test)]
mod testing {
    //! What the kinds' tests share (keeping each spec struct and its schema from drifting
    //! apart), and the tests of the helpers above.

    use super::*;
    use serde_json::json;

    /// A value of `ty`'s shape, so every attribute can be fed to a spec struct.
    fn sample(ty: &AttrType) -> Value {
        match ty {
            AttrType::String => json!("x"),
            AttrType::Int => json!(1),
            AttrType::Bool => json!(true),
            AttrType::Cidr => json!("10.0.0.0/16"),
            AttrType::List(item) => json!([sample(item)]),
            AttrType::StringMap => json!({"k": "v"}),
            AttrType::Object(attrs) => Value::Object(
                attrs
                    .iter()
                    .map(|a| (a.name.to_string(), sample(&a.ty)))
                    .collect(),
            ),
        }
    }

    /// Fails when the schema has an attribute the spec struct rejects (the structs deny
    /// unknown fields) or the struct requires a field the schema does not have.
    pub(super) fn assert_spec_fits_schema<T: DeserializeOwned>(schema: &Schema) {
        let samples: Attrs = schema
            .attrs
            .iter()
            .map(|a| (a.name.to_string(), sample(&a.ty)))
            .collect();
        if let Err(err) = parse_spec::<T>(schema, &samples) {
            panic!("{} spec does not fit its schema: {err}", schema.name);
        }
        let required_only: Attrs = schema
            .attrs
            .iter()
            .filter(|a| a.required)
            .map(|a| (a.name.to_string(), sample(&a.ty)))
            .collect();
        if let Err(err) = parse_spec::<T>(schema, &required_only) {
            panic!(
                "{} spec needs more than required attrs and defaults: {err}",
                schema.name
            );
        }
    }

    #[test]
    fn parse_spec_fills_defaults_and_drops_tags() {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Spec {
            cidr_block: String,
            enable: bool,
        }
        static SCHEMA: Schema = Schema {
            name: "test.kind",
            attrs: &[
                Attr::required("cidr_block", AttrType::Cidr),
                Attr::optional("enable", AttrType::Bool).default("true"),
                TAGS,
            ],
            outputs: &[],
            taggable: true,
        };
        let attrs = json!({"cidr_block": "10.0.0.0/16", "tags": {"a": "b"}, "count": 3});
        let spec: Spec = parse_spec(&SCHEMA, attrs.as_object().unwrap()).unwrap();
        assert_eq!(spec.cidr_block, "10.0.0.0/16");
        assert!(spec.enable);
        let with_enable = json!({"enable": false});
        assert!(changed(
            &SCHEMA,
            attrs.as_object().unwrap(),
            with_enable.as_object().unwrap(),
            "enable"
        ));
        let explicit = json!({"enable": true});
        assert!(!changed(
            &SCHEMA,
            attrs.as_object().unwrap(),
            explicit.as_object().unwrap(),
            "enable"
        ));
    }

    #[test]
    fn in_order_follows_the_ids_and_marks_gone_ones() {
        let live = |id: &str| Live {
            id: id.into(),
            outputs: Attrs::new(),
        };
        let ids = ["a".to_string(), "b".to_string(), "c".to_string()];
        let found = in_order(&ids, vec![live("c"), live("a")]);
        assert_eq!(found, vec![Some(live("a")), None, Some(live("c"))]);
    }

    #[tokio::test]
    async fn describe_existing_falls_back_to_the_filter_on_not_found() {
        let ids = ["vpc-1".to_string(), "vpc-2".to_string()];
        let mut lookups = Vec::new();
        let found = describe_existing(&ids, &["InvalidVpcID.NotFound"], |lookup| {
            lookups.push(lookup);
            async move {
                match lookup {
                    Lookup::Ids => Err(KindError::new(
                        "ec2:DescribeVpcs",
                        Some("InvalidVpcID.NotFound".into()),
                        "vpc-2 does not exist",
                    )),
                    Lookup::Filter => Ok(vec!["vpc-1"]),
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(found, vec!["vpc-1"]);
        assert_eq!(lookups, vec![Lookup::Ids, Lookup::Filter]);
    }

    #[test]
    fn outputs_leave_out_what_aws_did_not_report() {
        let out = outputs([("a", Some("1".to_string())), ("b", None)]);
        assert_eq!(Value::Object(out), json!({"a": "1"}));
    }
}
