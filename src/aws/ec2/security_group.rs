//! `ec2.security_group`: a VPC security group whose ingress and egress rules are reconciled
//! in place. Each blueprint rule expands into AWS's permission entries (one per CIDR and per
//! source group); only the entries that differ from what AWS reports are authorized or
//! revoked, so unchanged rules never blink.

use super::{
    arn, carries_all, cidr_order, delete_retrying, describe_existing, exists, filter, has_code,
    ignore_already_done, ignore_gone, in_order, missing, observed, outputs, parse_spec, read_one,
    string_or_null, tag_filters, tags, user_tags, Lookup, TAGS,
};
use crate::aws::{retry_while, sdk_error, AwsContext, Backoff};
use crate::kinds::{
    identity_tags, Attr, AttrType, Attrs, KindError, KindResult, Live, Price, ResourceKind, Schema,
    StepCx, Tags, Tier, IDENTITY_TAGS,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, SecurityGroup, UserIdGroupPair};
use aws_sdk_ec2::Client;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

const RULE: &[Attr] = &[
    Attr::required("protocol", AttrType::String),
    Attr::optional("from_port", AttrType::Int),
    Attr::optional("to_port", AttrType::Int),
    Attr::optional("cidr_blocks", AttrType::List(&AttrType::Cidr)),
    Attr::optional("security_groups", AttrType::List(&AttrType::String)),
    Attr::optional("description", AttrType::String),
];

/// What AWS gives every new VPC security group, so that leaving `egress` out keeps it.
const DEFAULT_EGRESS: &str =
    r#"[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}]"#;

static SCHEMA: Schema = Schema {
    name: "ec2.security_group",
    attrs: &[
        Attr::required("vpc_id", AttrType::String).force_new(),
        Attr::optional("group_name", AttrType::String).force_new(),
        Attr::optional("description", AttrType::String)
            .default("\"Managed by innovate\"")
            .force_new(),
        Attr::optional("ingress", AttrType::List(&AttrType::Object(RULE)))
            .default("[]")
            .unordered(),
        Attr::optional("egress", AttrType::List(&AttrType::Object(RULE)))
            .default(DEFAULT_EGRESS)
            .unordered(),
        TAGS,
    ],
    outputs: &["arn", "owner_id"],
    taggable: true,
    tier: Tier::Network,
    price: Price::Free,
};

const NOT_FOUND: &str = "InvalidGroup.NotFound";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    vpc_id: String,
    group_name: Option<String>,
    description: String,
    ingress: Vec<RuleSpec>,
    egress: Vec<RuleSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    protocol: String,
    from_port: Option<i32>,
    to_port: Option<i32>,
    cidr_blocks: Option<Vec<String>>,
    security_groups: Option<Vec<String>>,
    description: Option<String>,
}

/// Where traffic of one permission entry comes from (ingress) or goes to (egress).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Peer {
    Cidr(String),
    Group(String),
}

/// One AWS permission entry, identified as AWS identifies it (the description is not part
/// of a rule's identity).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Permission {
    protocol: String,
    from_port: Option<i32>,
    to_port: Option<i32>,
    peer: Peer,
}

/// Permission entry -> its description.
type Permissions = BTreeMap<Permission, Option<String>>;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    fn name(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

pub(super) struct SecurityGroupKind(pub(super) Arc<AwsContext>);

#[async_trait]
impl ResourceKind for SecurityGroupKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, _cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        let rules = desired_rules(&spec)?;
        let name = match &spec.group_name {
            Some(name) => name.clone(),
            None => default_group_name(tags)?,
        };
        let ec2 = self.0.ec2().await;
        let id = create_group(ec2, &spec, &name, tags).await?;
        let group = retry_while(&[NOT_FOUND], Backoff::CONSISTENCY, || {
            describe_one(ec2, &id)
        })
        .await?;
        reconcile(ec2, &group, &rules).await?;
        self.read_one(&id).await
    }

    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        let ec2 = self.0.ec2().await;
        let groups = describe(ec2, ids).await?;
        let live = groups.iter().filter_map(|group| to_live(ec2, group));
        Ok(in_order(ids, live.collect()))
    }

    async fn list_tagged(&self, tags: &Tags) -> KindResult<Option<Vec<Live>>> {
        let ec2 = self.0.ec2().await;
        let groups: Vec<SecurityGroup> = ec2
            .describe_security_groups()
            .set_filters(Some(tag_filters(tags)))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("ec2:DescribeSecurityGroups", e))?;
        let live = groups
            .iter()
            .filter(|group| carries_all(&tags::to_map(group.tags()), tags))
            .filter_map(|group| to_live(ec2, group));
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
        let rules = desired_rules(&spec)?;
        let ec2 = self.0.ec2().await;
        let group = describe_one(ec2, &live.id).await?;
        tags::sync(ec2, &live.id, group.tags(), tags).await?;
        reconcile(ec2, &group, &rules).await?;
        self.read_one(&live.id).await
    }

    async fn delete(&self, _cx: &StepCx, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let ec2 = self.0.ec2().await;
        let id = live.id.as_str();
        delete_retrying(&[NOT_FOUND], || async move {
            let request = ec2.delete_security_group().group_id(id);
            request
                .send()
                .await
                .map_err(|e| sdk_error("ec2:DeleteSecurityGroup", e))?;
            Ok(())
        })
        .await
    }
}

impl SecurityGroupKind {
    async fn read_one(&self, id: &str) -> KindResult<Live> {
        read_one(self, "ec2:DescribeSecurityGroups", NOT_FOUND, id).await
    }
}

/// A name unique per blueprint, environment and address, and stable across runs: built
/// from innovate's identity tags, with what AWS does not allow in a name replaced by `_`.
fn default_group_name(tags: &Tags) -> KindResult<String> {
    let parts: Vec<&str> = IDENTITY_TAGS
        .iter()
        .filter_map(|key| tags.get(*key))
        .map(String::as_str)
        .collect();
    if parts.is_empty() {
        let message = "group_name is needed: there are no innovate identity tags to derive it from";
        return Err(KindError::local("ec2:CreateSecurityGroup", message));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(c);
    let mut name: String = parts
        .join("-")
        .chars()
        .map(|c| if allowed(c) { c } else { '_' })
        .collect();
    // AWS reserves names starting with "sg-".
    if name.to_ascii_lowercase().starts_with("sg-") {
        name.insert_str(0, "innovate-");
    }
    Ok(name.chars().take(255).collect())
}

async fn create_group(ec2: &Client, spec: &Spec, name: &str, tags: &Tags) -> KindResult<String> {
    let created = retry_while(
        &["InvalidVpcID.NotFound"],
        Backoff::CONSISTENCY,
        || async move {
            ec2.create_security_group()
                .vpc_id(&spec.vpc_id)
                .group_name(name)
                .description(&spec.description)
                .set_tag_specifications(tags::specification(ResourceType::SecurityGroup, tags))
                .send()
                .await
                .map_err(|e| sdk_error("ec2:CreateSecurityGroup", e))
        },
    )
    .await;
    let created = match created {
        Err(err) if has_code(&err, &["InvalidGroup.Duplicate"]) => {
            return own_group_named(ec2, spec, name, tags).await?.ok_or(err);
        }
        other => other?,
    };
    let id = created
        .group_id()
        .ok_or_else(|| missing("ec2:CreateSecurityGroup", "GroupId"))?;
    Ok(id.to_string())
}

/// The group `name` in the VPC when it carries this instance's identity tags: made by an
/// earlier attempt of this same create whose answer was lost. Anyone else's group of that
/// name stays a conflict.
async fn own_group_named(
    ec2: &Client,
    spec: &Spec,
    name: &str,
    tags: &Tags,
) -> KindResult<Option<String>> {
    // By VPC only: the name (`app[0]`) would be read as a pattern by a group-name filter.
    let found = ec2
        .describe_security_groups()
        .filters(filter("vpc-id", [spec.vpc_id.as_str()]))
        .send()
        .await
        .map_err(|e| sdk_error("ec2:DescribeSecurityGroups", e))?;
    let own = found.security_groups().iter().find(|group| {
        group.group_name() == Some(name)
            && carries_all(&tags::to_map(group.tags()), &identity_tags(tags))
    });
    Ok(own.and_then(|group| group.group_id()).map(str::to_string))
}

async fn describe(ec2: &Client, ids: &[String]) -> KindResult<Vec<SecurityGroup>> {
    describe_existing(ids, &[NOT_FOUND], |lookup| async move {
        let request = match lookup {
            Lookup::Ids => ec2
                .describe_security_groups()
                .set_group_ids(Some(ids.to_vec())),
            Lookup::Filter => ec2
                .describe_security_groups()
                .filters(filter("group-id", ids)),
        };
        let pages = request.into_paginator().items().send();
        pages
            .try_collect()
            .await
            .map_err(|e| sdk_error("ec2:DescribeSecurityGroups", e))
    })
    .await
}

async fn describe_one(ec2: &Client, id: &str) -> KindResult<SecurityGroup> {
    let found = describe(ec2, &[id.to_string()]).await?.pop();
    exists("ec2:DescribeSecurityGroups", NOT_FOUND, id, found)
}

/// The blueprint's rules as permission entries, ingress and egress.
fn desired_rules(spec: &Spec) -> KindResult<[(Direction, Permissions); 2]> {
    Ok([
        (
            Direction::Ingress,
            expand(Direction::Ingress, &spec.ingress)?,
        ),
        (Direction::Egress, expand(Direction::Egress, &spec.egress)?),
    ])
}

/// AWS spells protocols as names or numbers and "all" as -1; ports only mean something
/// for tcp, udp and icmp (type and code), and AWS drops them for anything else.
fn normalize(
    protocol: &str,
    from_port: Option<i32>,
    to_port: Option<i32>,
) -> (String, Option<i32>, Option<i32>) {
    let protocol = match protocol.trim().to_ascii_lowercase().as_str() {
        "all" | "-1" => "-1".to_string(),
        "6" => "tcp".to_string(),
        "17" => "udp".to_string(),
        "1" => "icmp".to_string(),
        "58" => "icmpv6".to_string(),
        other => other.to_string(),
    };
    match protocol.as_str() {
        "tcp" | "udp" | "icmp" | "icmpv6" => (protocol, from_port, to_port),
        _ => (protocol, None, None),
    }
}

/// Blueprint rules -> permission entries, one per CIDR block and per source group.
fn expand(direction: Direction, rules: &[RuleSpec]) -> KindResult<Permissions> {
    let mut permissions = Permissions::new();
    for rule in rules {
        let (protocol, from_port, to_port) =
            normalize(&rule.protocol, rule.from_port, rule.to_port);
        let cidrs = rule.cidr_blocks.iter().flatten().cloned().map(Peer::Cidr);
        let groups = rule
            .security_groups
            .iter()
            .flatten()
            .cloned()
            .map(Peer::Group);
        let peers: Vec<Peer> = cidrs.chain(groups).collect();
        if peers.is_empty() {
            let message = format!(
                "an {} rule for protocol {} needs cidr_blocks or security_groups",
                direction.name(),
                rule.protocol
            );
            return Err(KindError::local(authorize_call(direction), message));
        }
        for peer in peers {
            let permission = Permission {
                protocol: protocol.clone(),
                from_port,
                to_port,
                peer,
            };
            permissions.insert(permission, description(rule.description.as_deref()));
        }
    }
    Ok(permissions)
}

fn description(text: Option<&str>) -> Option<String> {
    text.filter(|text| !text.is_empty()).map(str::to_string)
}

/// AWS's permissions -> entries. IPv6 ranges and prefix lists are not modelled by the
/// blueprint and are left alone.
fn from_aws(permissions: &[IpPermission]) -> Permissions {
    let mut entries = Permissions::new();
    for permission in permissions {
        let (protocol, from_port, to_port) = normalize(
            permission.ip_protocol().unwrap_or("-1"),
            permission.from_port(),
            permission.to_port(),
        );
        let entry = |peer| Permission {
            protocol: protocol.clone(),
            from_port,
            to_port,
            peer,
        };
        for range in permission.ip_ranges() {
            if let Some(cidr) = range.cidr_ip() {
                entries.insert(
                    entry(Peer::Cidr(cidr.to_string())),
                    description(range.description()),
                );
            }
        }
        for pair in permission.user_id_group_pairs() {
            if let Some(group) = pair.group_id() {
                entries.insert(
                    entry(Peer::Group(group.to_string())),
                    description(pair.description()),
                );
            }
        }
    }
    entries
}

/// Permission entries folded back into blueprint rules, in the one canonical form both AWS's
/// permissions and a blueprint's rules (through [`expand`]) fold to: one rule per protocol,
/// port range and description, holding all its CIDR blocks (by address) and source groups
/// (by id); rules ordered by protocol, port range and description. "All traffic" is
/// spelled as the default egress spells it: protocol "-1", ports 0 to 0. A blueprint whose
/// rules are written that way, as most are, reads back equal while AWS has the same
/// entries, and any added, removed or changed entry shows.
fn observed_rules(permissions: &Permissions) -> Value {
    type RuleKey = (String, Option<i32>, Option<i32>, Option<String>);
    let mut rules: BTreeMap<RuleKey, (Vec<&str>, Vec<&str>)> = BTreeMap::new();
    for (permission, text) in permissions {
        let key = (
            permission.protocol.clone(),
            permission.from_port,
            permission.to_port,
            text.clone(),
        );
        let (cidrs, groups) = rules.entry(key).or_default();
        match &permission.peer {
            Peer::Cidr(cidr) => cidrs.push(cidr),
            Peer::Group(group) => groups.push(group),
        }
    }
    let observed = rules.into_iter().map(
        |((protocol, from_port, to_port, text), (mut cidrs, groups))| {
            let mut rule = Map::new();
            let (from_port, to_port) = match protocol.as_str() {
                "-1" => (Some(0), Some(0)),
                _ => (from_port, to_port),
            };
            rule.insert("protocol".into(), protocol.into());
            if let Some(port) = from_port {
                rule.insert("from_port".into(), port.into());
            }
            if let Some(port) = to_port {
                rule.insert("to_port".into(), port.into());
            }
            cidrs.sort_by(|a, b| cidr_order(a, b));
            if !cidrs.is_empty() {
                rule.insert("cidr_blocks".into(), cidrs.into());
            }
            if !groups.is_empty() {
                rule.insert("security_groups".into(), groups.into());
            }
            if let Some(text) = text {
                rule.insert("description".into(), text.into());
            }
            Value::Object(rule)
        },
    );
    Value::Array(observed.collect())
}

/// What turns the actual entries of one direction into the desired ones.
#[derive(Debug, Default, PartialEq)]
struct RuleChanges {
    authorize: Vec<(Permission, Option<String>)>,
    revoke: Vec<Permission>,
    /// Present on both sides, only the description differs.
    redescribe: Vec<(Permission, Option<String>)>,
}

fn rule_changes(actual: &Permissions, desired: &Permissions) -> RuleChanges {
    let revoke = actual
        .keys()
        .filter(|p| !desired.contains_key(*p))
        .cloned()
        .collect();
    let mut changes = RuleChanges {
        revoke,
        ..RuleChanges::default()
    };
    for (permission, text) in desired {
        let entry = (permission.clone(), text.clone());
        match actual.get(permission) {
            None => changes.authorize.push(entry),
            Some(now) if now != text => changes.redescribe.push(entry),
            Some(_) => {}
        }
    }
    changes
}

fn to_ip_permission(permission: &Permission, text: Option<String>) -> IpPermission {
    let builder = IpPermission::builder()
        .ip_protocol(&permission.protocol)
        .set_from_port(permission.from_port)
        .set_to_port(permission.to_port);
    let builder = match &permission.peer {
        Peer::Cidr(cidr) => builder.ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr)
                .set_description(text)
                .build(),
        ),
        Peer::Group(group) => builder.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(group)
                .set_description(text)
                .build(),
        ),
    };
    builder.build()
}

/// Applies the differences between `group`'s rules (as just described) and `rules`, new
/// entries first so that a changed rule never leaves a gap.
async fn reconcile(
    ec2: &Client,
    group: &SecurityGroup,
    rules: &[(Direction, Permissions); 2],
) -> KindResult<()> {
    let id = group
        .group_id()
        .ok_or_else(|| missing("ec2:DescribeSecurityGroups", "GroupId"))?;
    for (direction, desired) in rules {
        let actual = match direction {
            Direction::Ingress => from_aws(group.ip_permissions()),
            Direction::Egress => from_aws(group.ip_permissions_egress()),
        };
        let RuleChanges {
            authorize,
            revoke,
            redescribe,
        } = rule_changes(&actual, desired);
        let to_aws = |entries: Vec<(Permission, Option<String>)>| {
            entries
                .into_iter()
                .map(|(p, text)| to_ip_permission(&p, text))
                .collect::<Vec<_>>()
        };
        authorize_rules(ec2, id, *direction, to_aws(authorize)).await?;
        redescribe_rules(ec2, id, *direction, to_aws(redescribe)).await?;
        let revoke = revoke.iter().map(|p| to_ip_permission(p, None)).collect();
        revoke_rules(ec2, id, *direction, revoke).await?;
    }
    Ok(())
}

fn authorize_call(direction: Direction) -> &'static str {
    match direction {
        Direction::Ingress => "ec2:AuthorizeSecurityGroupIngress",
        Direction::Egress => "ec2:AuthorizeSecurityGroupEgress",
    }
}

/// A source group created moments ago may not be visible yet.
async fn authorize_rules(
    ec2: &Client,
    id: &str,
    direction: Direction,
    rules: Vec<IpPermission>,
) -> KindResult<()> {
    if rules.is_empty() {
        return Ok(());
    }
    let authorized = retry_while(&[NOT_FOUND], Backoff::CONSISTENCY, || {
        let rules = Some(rules.clone());
        async move {
            match direction {
                Direction::Ingress => ec2
                    .authorize_security_group_ingress()
                    .group_id(id)
                    .set_ip_permissions(rules)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| sdk_error(authorize_call(direction), e)),
                Direction::Egress => ec2
                    .authorize_security_group_egress()
                    .group_id(id)
                    .set_ip_permissions(rules)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| sdk_error(authorize_call(direction), e)),
            }
        }
    })
    .await;
    // Authorization is all-or-nothing: a duplicate means an earlier attempt added them all.
    ignore_already_done(authorized, &["InvalidPermission.Duplicate"])
}

async fn revoke_rules(
    ec2: &Client,
    id: &str,
    direction: Direction,
    rules: Vec<IpPermission>,
) -> KindResult<()> {
    if rules.is_empty() {
        return Ok(());
    }
    let revoked = match direction {
        Direction::Ingress => ec2
            .revoke_security_group_ingress()
            .group_id(id)
            .set_ip_permissions(Some(rules))
            .send()
            .await
            .map(drop)
            .map_err(|e| sdk_error("ec2:RevokeSecurityGroupIngress", e)),
        Direction::Egress => ec2
            .revoke_security_group_egress()
            .group_id(id)
            .set_ip_permissions(Some(rules))
            .send()
            .await
            .map(drop)
            .map_err(|e| sdk_error("ec2:RevokeSecurityGroupEgress", e)),
    };
    // Someone else revoked it already: the rule is gone either way.
    ignore_gone(revoked, &["InvalidPermission.NotFound"])
}

async fn redescribe_rules(
    ec2: &Client,
    id: &str,
    direction: Direction,
    rules: Vec<IpPermission>,
) -> KindResult<()> {
    if rules.is_empty() {
        return Ok(());
    }
    match direction {
        Direction::Ingress => ec2
            .update_security_group_rule_descriptions_ingress()
            .group_id(id)
            .set_ip_permissions(Some(rules))
            .send()
            .await
            .map(drop)
            .map_err(|e| sdk_error("ec2:UpdateSecurityGroupRuleDescriptionsIngress", e)),
        Direction::Egress => ec2
            .update_security_group_rule_descriptions_egress()
            .group_id(id)
            .set_ip_permissions(Some(rules))
            .send()
            .await
            .map(drop)
            .map_err(|e| sdk_error("ec2:UpdateSecurityGroupRuleDescriptionsEgress", e)),
    }
}

fn to_live(ec2: &Client, group: &SecurityGroup) -> Option<Live> {
    let id = group.group_id()?.to_string();
    let owner = group.owner_id();
    let built = || owner.and_then(|owner| arn(ec2, owner, &format!("security-group/{id}")));
    let outputs = outputs([
        (
            "arn",
            group
                .security_group_arn()
                .map(str::to_string)
                .or_else(built),
        ),
        ("owner_id", owner.map(str::to_string)),
    ]);
    Some(Live {
        id,
        outputs,
        attrs: Some(observed_attrs(group)),
        identity: identity_tags(&tags::to_map(group.tags())),
    })
}

/// Every blueprint attribute of a group, as DescribeSecurityGroups reports it, the rules
/// folded as [`observed_rules`] says.
fn observed_attrs(group: &SecurityGroup) -> Attrs {
    observed([
        ("vpc_id", string_or_null(group.vpc_id())),
        ("group_name", string_or_null(group.group_name())),
        ("description", string_or_null(group.description())),
        ("ingress", observed_rules(&from_aws(group.ip_permissions()))),
        (
            "egress",
            observed_rules(&from_aws(group.ip_permissions_egress())),
        ),
        ("tags", user_tags(&tags::to_map(group.tags()))),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(value: serde_json::Value) -> Vec<RuleSpec> {
        serde_json::from_value(value).unwrap()
    }

    fn cidr(protocol: &str, ports: Option<(i32, i32)>, cidr: &str) -> Permission {
        Permission {
            protocol: protocol.into(),
            from_port: ports.map(|p| p.0),
            to_port: ports.map(|p| p.1),
            peer: Peer::Cidr(cidr.into()),
        }
    }

    #[test]
    fn spec_fits_schema() {
        crate::aws::common::testing::assert_spec_fits_schema::<Spec>(&SCHEMA);
    }

    #[test]
    fn a_rule_expands_to_one_entry_per_cidr_and_source_group() {
        let rules = rules(json!([{
            "protocol": "TCP", "from_port": 443, "to_port": 443,
            "cidr_blocks": ["10.0.0.0/8", "192.168.0.0/16"], "security_groups": ["sg-1"],
            "description": "https"
        }]));
        let expanded = expand(Direction::Ingress, &rules).unwrap();
        assert_eq!(expanded.len(), 3);
        let from_group = Permission {
            peer: Peer::Group("sg-1".into()),
            ..cidr("tcp", Some((443, 443)), "")
        };
        assert_eq!(expanded.get(&from_group), Some(&Some("https".to_string())));
        assert!(expanded.contains_key(&cidr("tcp", Some((443, 443)), "10.0.0.0/8")));
    }

    #[test]
    fn all_traffic_ignores_ports_like_aws_does() {
        let ours = expand(
            Direction::Egress,
            &rules(json!([
                {"protocol": "all", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}
            ])),
        )
        .unwrap();
        let aws = IpPermission::builder()
            .ip_protocol("-1")
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build();
        assert_eq!(ours, from_aws(&[aws]));
        assert_eq!(
            normalize("6", Some(22), Some(22)),
            ("tcp".to_string(), Some(22), Some(22))
        );
    }

    #[test]
    fn the_default_egress_is_what_aws_creates() {
        let spec: Spec =
            parse_spec(&SCHEMA, json!({"vpc_id": "vpc-1"}).as_object().unwrap()).unwrap();
        let aws_default = IpPermission::builder()
            .ip_protocol("-1")
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build();
        let changes = rule_changes(
            &from_aws(&[aws_default]),
            &expand(Direction::Egress, &spec.egress).unwrap(),
        );
        assert_eq!(changes, RuleChanges::default());
    }

    /// What AWS reports for `rules` once they are applied: their entries, regrouped the way
    /// DescribeSecurityGroups groups them (one permission per protocol and port range).
    fn as_aws_reports(rules: &Permissions) -> Vec<IpPermission> {
        let mut grouped: BTreeMap<(String, Option<i32>, Option<i32>), IpPermission> =
            BTreeMap::new();
        for (p, text) in rules.iter().rev() {
            let key = (p.protocol.clone(), p.from_port, p.to_port);
            let entry = to_ip_permission(p, text.clone());
            let merged = match grouped.remove(&key) {
                None => entry,
                Some(have) => {
                    let mut ranges = have.ip_ranges().to_vec();
                    ranges.extend(entry.ip_ranges().iter().cloned());
                    let mut pairs = have.user_id_group_pairs().to_vec();
                    pairs.extend(entry.user_id_group_pairs().iter().cloned());
                    IpPermission::builder()
                        .ip_protocol(&p.protocol)
                        .set_from_port(p.from_port)
                        .set_to_port(p.to_port)
                        .set_ip_ranges(Some(ranges))
                        .set_user_id_group_pairs(Some(pairs))
                        .build()
                }
            };
            grouped.insert(key, merged);
        }
        grouped.into_values().collect()
    }

    #[test]
    fn unchanged_rules_read_back_as_the_blueprint_wrote_them() {
        let blueprint = json!([
            {"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]},
            {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["10.2.0.0/16", "10.10.0.0/16"],
             "security_groups": ["sg-a", "sg-b"], "description": "ssh"},
            {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]},
            {"protocol": "tcp", "from_port": 443, "to_port": 443, "security_groups": ["sg-lb"], "description": "lb"},
            {"protocol": "udp", "from_port": 53, "to_port": 53, "cidr_blocks": ["10.0.0.2/32"]},
        ]);
        let expanded = expand(Direction::Ingress, &rules(blueprint.clone())).unwrap();
        assert_eq!(expanded.len(), 8);
        let aws = as_aws_reports(&expanded);
        assert!(aws.len() < expanded.len(), "AWS groups entries by ports");
        assert_eq!(observed_rules(&from_aws(&aws)), blueprint);
        // The blueprint side folds to the same form, whatever order it was written in.
        let mut reordered = blueprint.as_array().unwrap().clone();
        reordered.reverse();
        let expanded = expand(Direction::Ingress, &rules(Value::Array(reordered))).unwrap();
        assert_eq!(observed_rules(&expanded), blueprint);
    }

    #[test]
    fn the_default_egress_reads_back_as_the_schema_default() {
        let aws_default = IpPermission::builder()
            .ip_protocol("-1")
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build();
        let default: Value = serde_json::from_str(DEFAULT_EGRESS).unwrap();
        assert_eq!(observed_rules(&from_aws(&[aws_default])), default);
        assert_eq!(observed_rules(&Permissions::new()), json!([]));
    }

    #[test]
    fn an_added_entry_or_changed_description_shows() {
        let blueprint = json!([
            {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]},
        ]);
        let mut entries = expand(Direction::Ingress, &rules(blueprint.clone())).unwrap();
        entries.insert(cidr("tcp", Some((22, 22)), "203.0.113.0/24"), None);
        assert_eq!(
            observed_rules(&entries),
            json!([
                {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["203.0.113.0/24"]},
                {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]},
            ])
        );
        let mut described = expand(Direction::Ingress, &rules(blueprint)).unwrap();
        for text in described.values_mut() {
            *text = Some("changed".into());
        }
        assert_eq!(
            observed_rules(&described)[0]["description"],
            json!("changed")
        );
    }

    #[test]
    fn observed_attrs_drop_identity_tags() {
        let group = SecurityGroup::builder()
            .group_id("sg-1")
            .vpc_id("vpc-1")
            .group_name("web")
            .description("Managed by innovate")
            .tags(
                aws_sdk_ec2::types::Tag::builder()
                    .key("innovate:address")
                    .value("web")
                    .build(),
            )
            .build();
        assert_eq!(
            Value::Object(observed_attrs(&group)),
            json!({"vpc_id": "vpc-1", "group_name": "web", "description": "Managed by innovate",
                "ingress": [], "egress": [], "tags": {}})
        );
    }

    #[test]
    fn a_rule_without_peers_is_refused() {
        let err = expand(
            Direction::Ingress,
            &rules(json!([{"protocol": "tcp", "from_port": 22, "to_port": 22}])),
        )
        .unwrap_err();
        assert!(
            err.message.contains("needs cidr_blocks or security_groups"),
            "{}",
            err.message
        );
    }

    #[test]
    fn only_the_difference_is_authorized_revoked_or_redescribed() {
        let ssh = cidr("tcp", Some((22, 22)), "10.0.0.0/8");
        let https = cidr("tcp", Some((443, 443)), "0.0.0.0/0");
        let dns = cidr("udp", Some((53, 53)), "10.0.0.2/32");
        let actual: Permissions = [
            (ssh.clone(), None),
            (https.clone(), Some("old".into())),
            (dns.clone(), None),
        ]
        .into();
        let http = cidr("tcp", Some((80, 80)), "0.0.0.0/0");
        let desired: Permissions = [
            (https.clone(), Some("new".into())),
            (dns.clone(), None),
            (http.clone(), None),
        ]
        .into();
        assert_eq!(
            rule_changes(&actual, &desired),
            RuleChanges {
                authorize: vec![(http, None)],
                revoke: vec![ssh],
                redescribe: vec![(https, Some("new".into()))],
            }
        );
        assert_eq!(rule_changes(&desired, &desired), RuleChanges::default());
    }

    #[test]
    fn default_names_come_from_the_identity_tags() {
        let tags: Tags = [
            ("innovate:blueprint", "innovate"),
            ("innovate:env", "prod"),
            ("innovate:address", "app[\"http\"]"),
            ("Name", "ignored"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            default_group_name(&tags).unwrap(),
            "innovate-prod-app[_http_]"
        );
        let reserved: Tags = [("innovate:blueprint".to_string(), "sg-x".to_string())].into();
        assert_eq!(default_group_name(&reserved).unwrap(), "innovate-sg-x");
        assert!(default_group_name(&Tags::new()).is_err());
    }
}
