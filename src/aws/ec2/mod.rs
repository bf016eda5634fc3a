//! The EC2 network tier: VPC, subnet, internet gateway, Elastic IP, NAT gateway, route table
//! and security group, one kind per file (the two with rule sync, one folder each), all
//! through the typed layer ([`crate::kinds::AwsKind`]). What several kinds share lives
//! here and in [`tags`].

/// Every item of a paginated Describe* `$request`, or the error of `$call`.
macro_rules! all_pages {
    ($request:expr, $call:expr) => {
        $request
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| $crate::aws::sdk_error($call, e))
    };
}

/// Describes `$ids` through the paginated Describe* `$op`: by its id list (`$by_ids`), and
/// when one of them is gone, by the `$id_filter` filter ([`describe_existing`]).
macro_rules! describe_ids {
    ($ec2:expr, $ids:expr, $op:ident . $by_ids:ident, $filters:ident($id_filter:literal),
     $not_found:expr, $call:expr) => {{
        let (ec2, ids) = ($ec2, $ids);
        $crate::aws::ec2::describe_existing(ids, $not_found, |lookup, ids| async move {
            let request = match lookup {
                $crate::aws::ec2::Lookup::Ids => ec2.$op().$by_ids(Some(ids.to_vec())),
                $crate::aws::ec2::Lookup::Filter => ec2
                    .$op()
                    .$filters($crate::aws::ec2::filter($id_filter, ids)),
            };
            all_pages!(request, $call)
        })
        .await
    }};
}

/// The [`AwsItem`](crate::kinds::AwsItem) of EC2 item `$item`: described by the module's
/// `$describe(ec2, ids)`, listed through the paginated `$op` with one `$filter` per tag
/// (keeping what `$keep` accepts, where given), its tags from the Describe* answer, synced
/// through EC2's tag calls by id.
macro_rules! ec2_item {
    ($item:ty, $call:expr, $not_found:expr, described by $describe:ident,
     listed by $op:ident . $filter:ident $(if $keep:expr)?) => {
        #[async_trait::async_trait]
        impl $crate::kinds::AwsItem for $item {
            type Client = $crate::aws::AwsContext;
            const DESCRIBE: &'static str = $call;
            const NOT_FOUND: &'static [&'static str] = $not_found;

            async fn describe(
                aws: &Self::Client,
                ids: &[String],
            ) -> $crate::kinds::KindResult<Vec<Self>> {
                $describe(aws.ec2().await, ids).await
            }

            async fn list(
                aws: &Self::Client,
                tags: &$crate::kinds::Tags,
            ) -> $crate::kinds::KindResult<Option<Vec<Self>>> {
                let filters = $crate::aws::ec2::tag_filters(tags).into_iter();
                let request = filters.fold(aws.ec2().await.$op(), |r, f| r.$filter(f));
                let listed: Vec<Self> = all_pages!(request, $call)?;
                $(let listed = listed.into_iter().filter($keep).collect();)?
                Ok(Some(listed))
            }

            fn tags(&self) -> Option<$crate::kinds::Tags> {
                Some($crate::aws::ec2::tags::to_map(<$item>::tags(self)))
            }

            async fn tagging(
                &self,
                aws: &Self::Client,
                id: &str,
            ) -> $crate::kinds::KindResult<Option<$crate::kinds::Tagging>> {
                Ok(Some($crate::aws::ec2::tagging_by_id(aws, id).await))
            }
        }
    };
}

mod elastic_ip;
mod flow_log;
mod internet_gateway;
mod nat_gateway;
mod network_acl;
mod route_table;
mod security_group;
mod subnet;
mod tags;
mod vpc;
mod vpc_endpoint;

pub(crate) use crate::aws::common::*;
use crate::aws::AwsContext;
use crate::aws::{retry_while, Backoff};
use crate::kinds::{KindResult, Registry, Tagging, Tags, Waiter};
use aws_sdk_ec2::types::Filter;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

/// Registers every EC2 network kind, all sharing `aws`'s one EC2 client.
pub fn register(registry: &mut Registry, aws: &Arc<AwsContext>) {
    registry.add(vpc::VpcKind, aws);
    registry.add(subnet::SubnetKind, aws);
    registry.add(internet_gateway::InternetGatewayKind, aws);
    registry.add(elastic_ip::ElasticIpKind, aws);
    registry.add(nat_gateway::NatGatewayKind, aws);
    registry.add(route_table::RouteTableKind, aws);
    registry.add(security_group::SecurityGroupKind, aws);
    registry.add(network_acl::NetworkAclKind, aws);
    registry.add(vpc_endpoint::VpcEndpointKind, aws);
    registry.add(flow_log::FlowLogKind, aws);
}

/// `Filter { name, values }` for Describe* calls.
fn filter(name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().map(Into::into).collect()))
        .build()
}

/// `tag:KEY = VALUE` filters narrowing a listing to what carries `tags`, for `list_tagged`.
///
/// EC2 filter values are patterns (`*` and `?` are wildcards, and some emulators read
/// `[...]` as a character class), so a value such as `subnet[0]` would not match itself.
/// Such tags are left out here; callers check every tag on what comes back
/// ([`carries_all`]), which is what makes the answer exact either way.
fn tag_filters(tags: &Tags) -> Vec<Filter> {
    tags.iter()
        .filter(|(_, value)| !value.contains(['*', '?', '[', ']']))
        .map(|(key, value)| filter(&format!("tag:{key}"), [value.as_str()]))
        .collect()
}

/// EC2 tags a resource by its id.
async fn tagging_by_id(aws: &AwsContext, id: &str) -> Tagging {
    Tagging::new(tags::Ec2(aws.ec2().await.clone()), id)
}

/// How a Describe* call selects resources.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Lookup {
    /// By the call's id list: AWS fails the whole call if one id is gone.
    Ids,
    /// By an id filter: AWS silently leaves out what is gone.
    Filter,
}

/// How many ids one Describe* call carries: EC2 takes at most 200 values in a filter (and
/// answers FilterLimitExceeded beyond), so id lists go out in chunks of that size.
const IDS_PER_CALL: usize = 200;

/// Describes `ids` by id, [`IDS_PER_CALL`] at a time, and when AWS refuses a chunk because
/// one of its ids is gone (`not_found`), that chunk once more by filter, which returns the
/// ones that still exist.
async fn describe_existing<'a, T, F, Fut>(
    ids: &'a [String],
    not_found: &[&str],
    mut describe: F,
) -> KindResult<Vec<T>>
where
    F: FnMut(Lookup, &'a [String]) -> Fut,
    Fut: Future<Output = KindResult<Vec<T>>>,
{
    let mut found = Vec::new();
    for chunk in ids.chunks(IDS_PER_CALL) {
        let described = match describe(Lookup::Ids, chunk).await {
            Err(err) if has_code(&err, not_found) => describe(Lookup::Filter, chunk).await,
            result => result,
        };
        found.extend(described?);
    }
    Ok(found)
}

/// The wait of a kind whose fresh resources are `pending` for a moment before they are
/// `available` (and on AWS may not be visible at first), polling `call`.
const fn available(call: &'static str) -> Waiter {
    Waiter::until(call, &["available"], &[], Backoff::CONSISTENCY)
}

/// What turns the entries of `actual` into those of `desired`, key by key: the calls a
/// keyed attribute (routes by destination, rules by permission entry) is synced with.
#[derive(Debug, PartialEq)]
struct KeyedChanges<K, V> {
    /// Keys only `actual` has.
    removed: Vec<K>,
    /// Keys both have, with the value `desired` gives them.
    changed: Vec<(K, V)>,
    /// Keys only `desired` has.
    added: Vec<(K, V)>,
}

impl<K, V> Default for KeyedChanges<K, V> {
    fn default() -> Self {
        KeyedChanges {
            removed: Vec::new(),
            changed: Vec::new(),
            added: Vec::new(),
        }
    }
}

fn keyed_changes<K: Ord + Clone, V: PartialEq + Clone>(
    actual: &BTreeMap<K, V>,
    desired: &BTreeMap<K, V>,
) -> KeyedChanges<K, V> {
    let removed = actual.keys().filter(|key| !desired.contains_key(*key));
    let mut changes = KeyedChanges {
        removed: removed.cloned().collect(),
        ..KeyedChanges::default()
    };
    for (key, value) in desired {
        let entry = (key.clone(), value.clone());
        match actual.get(key) {
            None => changes.added.push(entry),
            Some(now) if now != value => changes.changed.push(entry),
            Some(_) => {}
        }
    }
    changes
}

/// An association call (an internet gateway to a VPC, a subnet to a route table) refused
/// with Resource.AlreadyAssociated has done its job when `ours` finds the association is
/// the very one asked for: an earlier attempt whose answer was lost made it.
async fn unless_already_ours<F, Fut>(associated: KindResult<()>, ours: F) -> KindResult<()>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = KindResult<bool>>,
{
    match associated {
        Err(err) if has_code(&err, &["Resource.AlreadyAssociated"]) => match ours().await? {
            true => Ok(()),
            false => Err(err),
        },
        other => other,
    }
}

/// What AWS answers a delete while something still depends on the resource: network
/// interfaces or mapped addresses being released (DependencyViolation), a security group
/// still used by an interface or another group's rule (InvalidGroup.InUse).
const STILL_IN_USE: &[&str] = &["DependencyViolation", "InvalidGroup.InUse"];

/// Runs a Delete* call, retrying while AWS still releases what depends on the resource
/// ([`STILL_IN_USE`]); a resource already gone counts as deleted.
async fn delete_retrying<F, Fut>(not_found: &[&str], delete: F) -> KindResult<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = KindResult<()>>,
{
    ignore_gone(
        retry_while(STILL_IN_USE, Backoff::DEPENDENCIES, delete).await,
        not_found,
    )
}

#[cfg(test)]
mod tests {
    //! Tests of the helpers above and of the shared ones they build on.

    use super::*;
    use crate::kinds::{Attrs, KindError, Live};
    use serde_json::{json, Value};

    #[test]
    fn in_order_follows_the_ids_and_marks_gone_ones() {
        let live = |id: &str| Live {
            attrs: None,
            id: id.into(),
            outputs: Attrs::new(),
            identity: Default::default(),
        };
        let ids = ["a".to_string(), "b".to_string(), "c".to_string()];
        let found = in_order(&ids, vec![live("c"), live("a")]);
        assert_eq!(found, vec![Some(live("a")), None, Some(live("c"))]);
    }

    #[tokio::test]
    async fn describe_existing_falls_back_to_the_filter_on_not_found() {
        let ids = ["vpc-1".to_string(), "vpc-2".to_string()];
        let mut lookups = Vec::new();
        let found = describe_existing(&ids, &["InvalidVpcID.NotFound"], |lookup, _| {
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

    #[tokio::test]
    async fn describe_existing_sends_ids_in_chunks_within_the_filter_limit() {
        let ids: Vec<String> = (0..450).map(|i| format!("subnet-{i}")).collect();
        let mut sizes = Vec::new();
        let found = describe_existing(&ids, &["InvalidSubnetID.NotFound"], |_, chunk| {
            sizes.push(chunk.len());
            async move { Ok(chunk.to_vec()) }
        })
        .await
        .unwrap();
        assert_eq!(sizes, [200, 200, 50]);
        assert_eq!(found, ids);
    }

    #[test]
    fn tag_filters_select_every_identity_tag() {
        let tags: Tags = [
            ("innovate:blueprint".to_string(), "net".to_string()),
            ("innovate:env".to_string(), "prod".to_string()),
        ]
        .into();
        let filters = tag_filters(&tags);
        assert_eq!(filters.len(), 2);
        assert_eq!(filters[0].name(), Some("tag:innovate:blueprint"));
        assert_eq!(filters[0].values(), ["net"]);
        assert_eq!(filters[1].name(), Some("tag:innovate:env"));
    }

    #[test]
    fn tag_filters_leave_out_values_an_api_would_read_as_patterns() {
        let tags: Tags = [
            ("innovate:address".to_string(), "subnet[0]".to_string()),
            ("innovate:env".to_string(), "prod".to_string()),
        ]
        .into();
        let filters = tag_filters(&tags);
        assert_eq!(filters.len(), 1);
        assert_eq!(filters[0].name(), Some("tag:innovate:env"));
    }

    #[test]
    fn outputs_leave_out_what_aws_did_not_report() {
        let out = outputs([("a", Some("1".to_string())), ("b", None)]);
        assert_eq!(Value::Object(out), json!({"a": "1"}));
    }
}
