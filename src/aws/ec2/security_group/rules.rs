//! Security group rules as innovate compares them: each blueprint rule expands into AWS's
//! permission entries (one per CIDR and per source group), AWS's permissions into the same
//! entries, and entries fold back into blueprint rules in one canonical form.

use crate::aws::ec2::cidr_order;
use crate::kinds::{AttrType, KindError, KindResult};
use aws_sdk_ec2::types::IpPermission;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

crate::spec! {
    /// One blueprint rule. `protocol` is AWS's IpProtocol: a name or a number, so not an enum.
    pub(in crate::aws::ec2) struct RuleSpec {
        protocol: String = required(AttrType::String),
        from_port: Option<i32> = optional(AttrType::Int).range(-1, 65535),
        to_port: Option<i32> = optional(AttrType::Int).range(-1, 65535),
        cidr_blocks: Option<Vec<String>> = optional(AttrType::List(&AttrType::Cidr)),
        security_groups: Option<Vec<String>> = optional(AttrType::List(&AttrType::String)),
        description: Option<String> = optional(AttrType::String),
    }
}

/// Where traffic of one permission entry comes from (ingress) or goes to (egress).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Peer {
    Cidr(String),
    Group(String),
}

/// One AWS permission entry, identified as AWS identifies it (the description is not part
/// of a rule's identity).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Permission {
    pub(super) protocol: String,
    pub(super) from_port: Option<i32>,
    pub(super) to_port: Option<i32>,
    pub(super) peer: Peer,
}

/// Permission entry -> its description.
pub(super) type Permissions = BTreeMap<Permission, Option<String>>;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Direction {
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

    pub(super) fn authorize_call(self) -> &'static str {
        match self {
            Direction::Ingress => "ec2:AuthorizeSecurityGroupIngress",
            Direction::Egress => "ec2:AuthorizeSecurityGroupEgress",
        }
    }
}

/// AWS spells protocols as names or numbers and "all" as -1; ports only mean something
/// for tcp, udp and icmp (type and code), and AWS drops them for anything else.
pub(super) fn normalize(
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
pub(super) fn expand(direction: Direction, rules: &[RuleSpec]) -> KindResult<Permissions> {
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
            return Err(KindError::local(direction.authorize_call(), message));
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
pub(super) fn from_aws(permissions: &[IpPermission]) -> Permissions {
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
pub(super) fn observed_rules(permissions: &Permissions) -> Value {
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

#[cfg(test)]
pub(super) mod tests {
    use super::super::apply::to_ip_permission;
    use super::super::DEFAULT_EGRESS;
    use super::*;
    use aws_sdk_ec2::types::IpRange;
    use serde_json::json;

    fn rules(value: serde_json::Value) -> Vec<RuleSpec> {
        serde_json::from_value(value).unwrap()
    }

    pub(in crate::aws::ec2) fn cidr(
        protocol: &str,
        ports: Option<(i32, i32)>,
        cidr: &str,
    ) -> Permission {
        Permission {
            protocol: protocol.into(),
            from_port: ports.map(|p| p.0),
            to_port: ports.map(|p| p.1),
            peer: Peer::Cidr(cidr.into()),
        }
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
}
