//! `ec2.network_acl`: a VPC network ACL, its numbered entries (synced in place by direction
//! and rule number) and the subnets it guards. A subnet always has exactly one NACL, so
//! joining moves a subnet off the VPC's default NACL and leaving moves it back; a subnet
//! held by any other NACL is refused, since that NACL may belong to someone else.

use super::{delete_retrying, filter, keyed_changes, missing, observed, outputs, tags};
use crate::aws::{aws_call, retry_while, sdk_error, AwsContext, Backoff, Cx};
use crate::kinds::{
    AttrType, Attrs, AwsKind, Change, KindError, KindResult, Live, Schema, Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::{IcmpTypeCode, NetworkAcl, NetworkAclEntry, PortRange};
use aws_sdk_ec2::types::{ResourceType, RuleAction};
use aws_sdk_ec2::Client;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

crate::spec! {
    pub(super) struct Spec with tags {
        vpc_id: String = required(AttrType::String).force_new(),
        subnet_ids: Vec<String> = optional(AttrType::List(&AttrType::String))
            .default("[]")
            .unordered(),
        ingress: Vec<EntrySpec> = optional(AttrType::List(&AttrType::Object(EntrySpec::ATTRS)))
            .default("[]")
            .unordered(),
        egress: Vec<EntrySpec> = optional(AttrType::List(&AttrType::Object(EntrySpec::ATTRS)))
            .default("[]")
            .unordered(),
    }
}

crate::spec! {
    /// One entry. AWS evaluates a direction's entries from the lowest number up and denies
    /// what none allows (its own entry 32767). Ports are for tcp and udp, type and code
    /// for icmp (-1: all); AWS ignores both for "-1" (all traffic).
    pub(super) struct EntrySpec {
        rule_number: i32 = required(AttrType::Int).range(1, 32766),
        protocol: String = required(AttrType::String).one_of(&["-1", "tcp", "udp", "icmp"]),
        action: String = required(AttrType::String).one_of(&["allow", "deny"]),
        cidr_block: String = required(AttrType::Cidr),
        from_port: Option<i32> = optional(AttrType::Int).range(0, 65535),
        to_port: Option<i32> = optional(AttrType::Int).range(0, 65535),
        icmp_type: Option<i32> = optional(AttrType::Int).range(-1, 255),
        icmp_code: Option<i32> = optional(AttrType::Int).range(-1, 255),
    }
}

const SCHEMA: Schema =
    Schema::new("ec2.network_acl", Tier::Network, Spec::ATTRS).outputs(&["arn", "owner_id"]);

const NOT_FOUND: &str = "InvalidNetworkAclID.NotFound";
const DESCRIBE: &str = "ec2:DescribeNetworkAcls";
/// The entry AWS puts last in both directions of every NACL; it cannot be changed.
const AWS_CATCH_ALL: i32 = 32767;
const ENTRY_EXISTS: &str = "NetworkAclEntryAlreadyExists";
const ENTRY_NOT_FOUND: &str = "InvalidNetworkAclEntry.NotFound";
const ASSOCIATION_NOT_FOUND: &str = "InvalidAssociationID.NotFound";

ec2_item!(NetworkAcl, DESCRIBE, &[NOT_FOUND], described by describe,
    listed by describe_network_acls.filters);

pub(super) struct NetworkAclKind;

#[async_trait]
impl AwsKind for NetworkAclKind {
    type Spec = Spec;
    type Item = NetworkAcl;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        let desired = desired_entries(spec)?;
        let ec2 = cx.aws.ec2().await;
        let id = create_acl(ec2, spec, tags).await?;
        // A NACL created moments ago may not be visible to the entry calls yet.
        let acl = retry_while(&[NOT_FOUND], Backoff::CONSISTENCY, || async {
            let found = describe(ec2, std::slice::from_ref(&id)).await?.pop();
            found.ok_or_else(|| crate::kinds::gone(DESCRIBE, &[NOT_FOUND], &id))
        })
        .await?;
        sync_entries(ec2, &id, &actual_entries(&acl), &desired).await?;
        sync_subnets(ec2, &acl, &spec.subnet_ids).await?;
        Ok(id)
    }

    fn live(&self, aws: &AwsContext, acl: &NetworkAcl) -> Option<Live> {
        let id = acl.network_acl_id()?.to_string();
        let owner = acl.owner_id();
        let arn = owner.and_then(|o| aws.arn("ec2", o, &format!("network-acl/{id}")));
        let outputs = outputs([("arn", arn), ("owner_id", owner.map(str::to_string))]);
        let entries = actual_entries(acl);
        let attrs = observed([
            ("vpc_id", acl.vpc_id().unwrap_or_default().into()),
            ("subnet_ids", associated_subnets(acl).into_keys().collect()),
            ("ingress", observed_entries(&entries, false)),
            ("egress", observed_entries(&entries, true)),
        ]);
        Some(Live::observed(id, outputs, attrs))
    }

    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        let ec2 = cx.aws.ec2().await;
        let desired = desired_entries(change.desired)?;
        let actual = actual_entries(change.current);
        sync_entries(ec2, change.id(), &actual, &desired).await?;
        sync_subnets(ec2, change.current, &change.desired.subnet_ids).await
    }

    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let ec2 = cx.aws.ec2().await;
        let Some(acl) = describe(ec2, std::slice::from_ref(&live.id)).await?.pop() else {
            return Ok(());
        };
        sync_subnets(ec2, &acl, &[]).await?;
        let id = live.id.as_str();
        delete_retrying(&[NOT_FOUND], || async move {
            let request = ec2.delete_network_acl().network_acl_id(id);
            let sent = request.send().await.map(drop);
            sent.map_err(|e| sdk_error("ec2:DeleteNetworkAcl", e))
        })
        .await
    }
}

async fn describe(ec2: &Client, ids: &[String]) -> KindResult<Vec<NetworkAcl>> {
    describe_ids!(
        ec2,
        ids,
        describe_network_acls.set_network_acl_ids,
        filters("network-acl-id"),
        &[NOT_FOUND],
        DESCRIBE
    )
}

/// A VPC created moments ago may not be visible to CreateNetworkAcl yet.
async fn create_acl(ec2: &Client, spec: &Spec, tags: &Tags) -> KindResult<String> {
    let created = retry_while(&["InvalidVpcID.NotFound"], Backoff::CONSISTENCY, || async {
        let request = ec2.create_network_acl().vpc_id(&spec.vpc_id);
        let tagged =
            request.set_tag_specifications(tags::specification(ResourceType::NetworkAcl, tags));
        aws_call("ec2:CreateNetworkAcl", tagged.send()).await
    })
    .await?;
    let id = created.network_acl().and_then(NetworkAcl::network_acl_id);
    let id = id.ok_or_else(|| missing("ec2:CreateNetworkAcl", "NetworkAclId"))?;
    Ok(id.to_string())
}

/// One entry as AWS identifies it (direction and number) and what it says, in the
/// blueprint's spelling: protocol by name, only the fields the protocol uses.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    protocol: String,
    action: String,
    cidr_block: String,
    ports: Option<(i32, i32)>,
    icmp: Option<(i32, i32)>,
}

/// (egress, rule number) -> entry.
type Entries = BTreeMap<(bool, i32), Entry>;

fn desired_entries(spec: &Spec) -> KindResult<Entries> {
    let directions = [(false, &spec.ingress), (true, &spec.egress)];
    let mut entries = Entries::new();
    for (egress, specs) in directions {
        for entry in specs.iter() {
            let key = (egress, entry.rule_number);
            if entries.insert(key, from_spec(entry)?).is_some() {
                let message = format!("rule number {} appears twice", entry.rule_number);
                return Err(KindError::local("ec2:CreateNetworkAclEntry", message));
            }
        }
    }
    Ok(entries)
}

/// The entry a blueprint entry asks for; fields its protocol does not use are refused, as
/// AWS would drop them and every refresh would then see a difference.
fn from_spec(entry: &EntrySpec) -> KindResult<Entry> {
    let ports = entry.from_port.zip(entry.to_port);
    let icmp = entry.icmp_type.zip(entry.icmp_code);
    let any_port = entry.from_port.is_some() || entry.to_port.is_some();
    let any_icmp = entry.icmp_type.is_some() || entry.icmp_code.is_some();
    let (fits, takes) = match entry.protocol.as_str() {
        "tcp" | "udp" => (
            ports.is_some() && !any_icmp,
            "from_port and to_port, no icmp fields",
        ),
        "icmp" => (
            icmp.is_some() && !any_port,
            "icmp_type and icmp_code (-1: all), no ports",
        ),
        _ => (!any_port && !any_icmp, "neither ports nor icmp fields"),
    };
    if !fits {
        let (number, protocol) = (entry.rule_number, &entry.protocol);
        let message = format!("entry {number}: protocol {protocol} takes {takes}");
        return Err(KindError::local("ec2:CreateNetworkAclEntry", message));
    }
    Ok(Entry {
        protocol: entry.protocol.clone(),
        action: entry.action.clone(),
        cidr_block: entry.cidr_block.clone(),
        ports,
        icmp,
    })
}

/// The NACL's own entries as AWS reports them (IPv4 only; AWS's catch-all left out).
fn actual_entries(acl: &NetworkAcl) -> Entries {
    let ours = acl
        .entries()
        .iter()
        .filter(|e| e.rule_number() != Some(AWS_CATCH_ALL));
    ours.filter_map(|e| Some(((e.egress()?, e.rule_number()?), from_aws(e)?)))
        .collect()
}

fn from_aws(entry: &NetworkAclEntry) -> Option<Entry> {
    let protocol = match entry.protocol()? {
        "6" => "tcp",
        "17" => "udp",
        "1" => "icmp",
        other => other,
    };
    let ports = entry.port_range().and_then(|p| p.from().zip(p.to()));
    let icmp = entry
        .icmp_type_code()
        .map(|i| (i.r#type().unwrap_or(-1), i.code().unwrap_or(-1)));
    Some(Entry {
        protocol: protocol.to_string(),
        action: entry.rule_action()?.as_str().to_string(),
        cidr_block: entry.cidr_block()?.to_string(),
        ports: ports.filter(|_| matches!(protocol, "tcp" | "udp")),
        icmp: icmp.filter(|_| protocol == "icmp"),
    })
}

/// One direction's entries in the blueprint's form, for drift and import.
fn observed_entries(entries: &Entries, egress: bool) -> Value {
    let mine = entries.iter().filter(|((out, _), _)| *out == egress);
    let observed = mine.map(|((_, number), entry)| {
        let mut fields = Map::new();
        fields.insert("rule_number".into(), (*number).into());
        fields.insert("protocol".into(), entry.protocol.clone().into());
        fields.insert("action".into(), entry.action.clone().into());
        fields.insert("cidr_block".into(), entry.cidr_block.clone().into());
        if let Some((from, to)) = entry.ports {
            fields.insert("from_port".into(), from.into());
            fields.insert("to_port".into(), to.into());
        }
        if let (Some((kind, code)), true) = (entry.icmp, entry.protocol == "icmp") {
            fields.insert("icmp_type".into(), kind.into());
            fields.insert("icmp_code".into(), code.into());
        }
        Value::Object(fields)
    });
    Value::Array(observed.collect())
}

/// One entry call for `entry` at (`egress`, `number`) on NACL `id`, built on `$request`
/// (CreateNetworkAclEntry and ReplaceNetworkAclEntry take the same fields).
macro_rules! entry_call {
    ($request:expr, $id:expr, $key:expr, $entry:expr) => {{
        let ((egress, number), entry) = ($key, $entry);
        $request
            .network_acl_id($id)
            .egress(egress)
            .rule_number(number)
            .protocol(aws_protocol(entry))
            .rule_action(RuleAction::from(entry.action.as_str()))
            .cidr_block(&entry.cidr_block)
            .set_port_range(port_range(entry))
            .set_icmp_type_code(icmp_type_code(entry))
    }};
}

/// Deletes what only AWS has, replaces what differs, creates what only the blueprint has.
/// A NACL created moments ago may not be visible to the entry calls yet.
async fn sync_entries(
    ec2: &Client,
    id: &str,
    actual: &Entries,
    desired: &Entries,
) -> KindResult<()> {
    let changes = keyed_changes(actual, desired);
    for (egress, number) in changes.removed {
        let deleted = retry_while(&[NOT_FOUND], Backoff::CONSISTENCY, || async move {
            let request = ec2.delete_network_acl_entry().network_acl_id(id);
            let sent = request.egress(egress).rule_number(number).send().await;
            sent.map(drop)
                .map_err(|e| sdk_error("ec2:DeleteNetworkAclEntry", e))
        })
        .await;
        // Gone already: an earlier attempt whose answer was lost deleted it.
        super::ignore_gone(deleted, &[ENTRY_NOT_FOUND])?;
    }
    for (key, entry) in &changes.changed {
        replace_entry(ec2, id, *key, entry).await?;
    }
    for (key, entry) in &changes.added {
        let created = retry_while(&[NOT_FOUND], Backoff::CONSISTENCY, || async move {
            let request = entry_call!(ec2.create_network_acl_entry(), id, *key, entry);
            let sent = request.send().await.map(drop);
            sent.map_err(|e| sdk_error("ec2:CreateNetworkAclEntry", e))
        })
        .await;
        match created {
            // The number taken in our own NACL: an earlier attempt whose answer was lost
            // made it (or a stray edit did); either way it becomes what the blueprint says.
            Err(err) if err.has_code_in(&[ENTRY_EXISTS]) => {
                replace_entry(ec2, id, *key, entry).await?
            }
            other => other?,
        }
    }
    Ok(())
}

async fn replace_entry(ec2: &Client, id: &str, key: (bool, i32), entry: &Entry) -> KindResult<()> {
    retry_while(&[NOT_FOUND], Backoff::CONSISTENCY, || async move {
        let request = entry_call!(ec2.replace_network_acl_entry(), id, key, entry);
        let sent = request.send().await.map(drop);
        sent.map_err(|e| sdk_error("ec2:ReplaceNetworkAclEntry", e))
    })
    .await
}

fn aws_protocol(entry: &Entry) -> &'static str {
    match entry.protocol.as_str() {
        "tcp" => "6",
        "udp" => "17",
        "icmp" => "1",
        _ => "-1",
    }
}

fn port_range(entry: &Entry) -> Option<PortRange> {
    let (from, to) = entry.ports?;
    Some(PortRange::builder().from(from).to(to).build())
}

fn icmp_type_code(entry: &Entry) -> Option<IcmpTypeCode> {
    let (kind, code) = entry.icmp?;
    Some(IcmpTypeCode::builder().r#type(kind).code(code).build())
}

/// Subnet id -> association id of the subnets `acl` guards.
fn associated_subnets(acl: &NetworkAcl) -> BTreeMap<String, String> {
    let pairs = acl.associations().iter();
    pairs
        .filter_map(|a| {
            Some((
                a.subnet_id()?.to_string(),
                a.network_acl_association_id()?.to_string(),
            ))
        })
        .collect()
}

/// Makes `desired` the subnets `acl` guards: subnets leaving go back to the VPC's default
/// NACL; subnets joining come from it.
async fn sync_subnets(ec2: &Client, acl: &NetworkAcl, desired: &[String]) -> KindResult<()> {
    let current = associated_subnets(acl);
    let wanted: BTreeSet<&String> = desired.iter().collect();
    let leaving: Vec<&String> = current.keys().filter(|s| !wanted.contains(s)).collect();
    let joining: Vec<&String> = wanted
        .into_iter()
        .filter(|s| !current.contains_key(*s))
        .collect();
    if leaving.is_empty() && joining.is_empty() {
        return Ok(());
    }
    let vpc = acl.vpc_id().ok_or_else(|| missing(DESCRIBE, "VpcId"))?;
    let fallback = default_acl(ec2, vpc).await?;
    for subnet in leaving {
        // Gone already: the subnet was deleted or moved on since the read.
        let moved = replace_association(ec2, &current[subnet], &fallback).await;
        super::ignore_gone(moved, &[ASSOCIATION_NOT_FOUND])?;
    }
    let id = acl
        .network_acl_id()
        .ok_or_else(|| missing(DESCRIBE, "NetworkAclId"))?;
    for subnet in joining {
        let (holder, association) = holder_of(ec2, subnet).await?;
        if holder != fallback {
            let message = format!(
                "subnet {subnet} is guarded by {holder}, not by the VPC's default NACL \
                 {fallback}; innovate takes subnets only from the default NACL, since {holder} \
                 may belong to someone else: remove the subnet there first"
            );
            return Err(KindError::local(
                "ec2:ReplaceNetworkAclAssociation",
                message,
            ));
        }
        let moved = replace_association(ec2, &association, id).await;
        match moved {
            // The association was replaced already: an earlier attempt whose answer was
            // lost moved the subnet (to us, or it stays an error).
            Err(err) if err.has_code_in(&[ASSOCIATION_NOT_FOUND]) => {
                if holder_of(ec2, subnet).await?.0 != id {
                    return Err(err);
                }
            }
            other => other?,
        }
    }
    Ok(())
}

/// The id of the VPC's default NACL.
async fn default_acl(ec2: &Client, vpc: &str) -> KindResult<String> {
    let request = ec2.describe_network_acls().filters(filter("vpc-id", [vpc]));
    let request = request.filters(filter("default", ["true"]));
    let found = request.send().await.map_err(|e| sdk_error(DESCRIBE, e))?;
    let acl = found
        .network_acls()
        .first()
        .and_then(NetworkAcl::network_acl_id);
    Ok(acl
        .ok_or_else(|| missing(DESCRIBE, "the VPC's default NACL"))?
        .to_string())
}

/// The NACL guarding `subnet` and the association that binds them. A subnet created
/// moments ago may not show its association yet.
async fn holder_of(ec2: &Client, subnet: &str) -> KindResult<(String, String)> {
    retry_while(
        &["InvalidAssociation.NotFound"],
        Backoff::CONSISTENCY,
        || async {
            let request = ec2
                .describe_network_acls()
                .filters(filter("association.subnet-id", [subnet]));
            let found = request.send().await.map_err(|e| sdk_error(DESCRIBE, e))?;
            let pair = found.network_acls().iter().find_map(|acl| {
                let association = associated_subnets(acl).remove(subnet)?;
                Some((acl.network_acl_id()?.to_string(), association))
            });
            let message = format!("subnet {subnet} shows no NACL association yet");
            pair.ok_or_else(|| {
                KindError::new(
                    DESCRIBE,
                    Some("InvalidAssociation.NotFound".into()),
                    message,
                )
            })
        },
    )
    .await
}

async fn replace_association(ec2: &Client, association: &str, acl: &str) -> KindResult<()> {
    let request = ec2
        .replace_network_acl_association()
        .association_id(association);
    let sent = request.network_acl_id(acl).send().await.map(drop);
    sent.map_err(|e| sdk_error("ec2:ReplaceNetworkAclAssociation", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(ingress: Value) -> Spec {
        serde_json::from_value(
            json!({"vpc_id": "vpc-1", "subnet_ids": [], "ingress": ingress, "egress": []}),
        )
        .unwrap()
    }

    #[test]
    fn entries_read_back_as_the_blueprint_wrote_them() {
        let ingress = json!([
            {"rule_number": 100, "protocol": "-1", "action": "allow", "cidr_block": "10.0.0.0/16"},
            {"rule_number": 110, "protocol": "tcp", "action": "allow", "cidr_block": "0.0.0.0/0",
             "from_port": 1024, "to_port": 65535},
            {"rule_number": 120, "protocol": "icmp", "action": "deny", "cidr_block": "0.0.0.0/0",
             "icmp_type": 8, "icmp_code": -1},
        ]);
        let desired = desired_entries(&spec(ingress.clone())).unwrap();
        let reported: Vec<NetworkAclEntry> = desired
            .iter()
            .map(|((egress, number), entry)| {
                NetworkAclEntry::builder()
                    .egress(*egress)
                    .rule_number(*number)
                    .protocol(aws_protocol(entry))
                    .rule_action(RuleAction::from(entry.action.as_str()))
                    .cidr_block(&entry.cidr_block)
                    .set_port_range(port_range(entry))
                    .set_icmp_type_code(icmp_type_code(entry))
                    .build()
            })
            .chain([NetworkAclEntry::builder()
                .egress(false)
                .rule_number(AWS_CATCH_ALL)
                .protocol("-1")
                .rule_action(RuleAction::Deny)
                .cidr_block("0.0.0.0/0")
                .build()])
            .collect();
        let acl = NetworkAcl::builder().set_entries(Some(reported)).build();
        assert_eq!(actual_entries(&acl), desired);
        assert_eq!(observed_entries(&actual_entries(&acl), false), ingress);
        assert_eq!(observed_entries(&actual_entries(&acl), true), json!([]));
    }

    #[test]
    fn fields_a_protocol_does_not_use_are_refused() {
        let cases = [
            json!({"rule_number": 1, "protocol": "-1", "action": "allow", "cidr_block": "0.0.0.0/0", "from_port": 0, "to_port": 0}),
            json!({"rule_number": 1, "protocol": "tcp", "action": "allow", "cidr_block": "0.0.0.0/0"}),
            json!({"rule_number": 1, "protocol": "udp", "action": "allow", "cidr_block": "0.0.0.0/0", "from_port": 53, "to_port": 53, "icmp_type": 0}),
            json!({"rule_number": 1, "protocol": "icmp", "action": "allow", "cidr_block": "0.0.0.0/0", "icmp_type": 8}),
        ];
        for case in cases {
            let err = desired_entries(&spec(json!([case]))).unwrap_err();
            assert!(err.to_string().contains("takes"), "{err}");
        }
    }

    #[test]
    fn a_rule_number_used_twice_in_one_direction_is_refused() {
        let entry = json!({"rule_number": 100, "protocol": "-1", "action": "allow", "cidr_block": "10.0.0.0/16"});
        let err = desired_entries(&spec(json!([entry.clone(), entry]))).unwrap_err();
        assert!(err.to_string().contains("appears twice"), "{err}");
    }
}
