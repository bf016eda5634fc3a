//! The security and reliability rules of `innovate check`. Each rule is one function over a
//! resource instance's offline attributes (schema defaults filled in, references unknown);
//! a value that is unknown offline never triggers a rule.

use super::{realism, Severity, Spot};
use crate::blueprint::template::contains_unknown;
use crate::blueprint::Instance;
use crate::kinds::Attrs;
use serde_json::Value;
use std::collections::BTreeSet;

/// One rule: what it is called, how bad a finding is, how to fix it, and the test.
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    pub hint: &'static str,
    pub test: fn(&Subject, &Context) -> Vec<Hit>,
}

/// The instance under test.
pub struct Subject<'a> {
    pub instance: &'a Instance,
    pub attrs: &'a Attrs,
}

/// What rules need to know about the rest of the blueprint.
pub struct Context {
    /// The environment is production (`--env prod`).
    pub prod: bool,
    /// Addresses of EKS clusters an `iam.openid_connect_provider` in the blueprint points at.
    pub clusters_with_oidc: BTreeSet<String>,
    /// Whether the blueprint has any OIDC provider (for clusters referenced by name only).
    pub any_oidc: bool,
    /// The blueprint's region, for the availability zones it has.
    pub region: Option<String>,
    /// Addresses an `ec2.flow_log`'s `resource_id` refers to.
    pub vpcs_with_flow_logs: BTreeSet<String>,
}

/// One thing a rule found: a sentence, and where in the resource to point.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub message: String,
    pub at: Spot,
}

fn hit(message: impl Into<String>, at: Spot) -> Vec<Hit> {
    vec![Hit {
        message: message.into(),
        at,
    }]
}

pub const RULES: &[Rule] = &[
    Rule {
        id: "INV001",
        severity: Severity::Critical,
        title: "database publicly accessible",
        hint: "set `publicly_accessible: false`; reach the database from the VPC (app tier, VPN)",
        test: database_public,
    },
    Rule {
        id: "INV002",
        severity: Severity::High,
        title: "ingress from 0.0.0.0/0 to a port other than 80/443",
        hint: "narrow cidr_blocks to known ranges or allow a security group instead; only HTTP(S) belongs open to the internet",
        test: open_ingress,
    },
    Rule {
        id: "INV003",
        severity: Severity::High,
        title: "database storage not encrypted",
        hint: "set `storage_encrypted: true` (it replaces the instance: restore from a snapshot)",
        test: database_unencrypted,
    },
    Rule {
        id: "INV004",
        severity: Severity::High,
        title: "EKS secrets not encrypted with a KMS key",
        hint: "set `encryption_kms_key_arn` to a customer-managed KMS key for envelope encryption of Secrets",
        test: cluster_secrets_unencrypted,
    },
    Rule {
        id: "INV005",
        severity: Severity::High,
        title: "EKS API endpoint open to the whole internet",
        hint: "set `endpoint_public_access: false` (reach it over the VPC or VPN) or narrow `public_access_cidrs` to known ranges",
        test: cluster_endpoint_open,
    },
    Rule {
        id: "INV006",
        severity: Severity::High,
        title: "prod database in a single availability zone",
        hint: "set `multi_az: true` in prod: a synchronous standby fails over in 60-120 s",
        test: prod_database_single_az,
    },
    Rule {
        id: "INV007",
        severity: Severity::High,
        title: "prod database keeps backups for less than 7 days",
        hint: "set `backup_retention_period` to 7 or more (up to 35) in prod",
        test: prod_database_short_backups,
    },
    Rule {
        id: "INV008",
        severity: Severity::High,
        title: "prod database without deletion protection",
        hint: "set `deletion_protection: true` in prod so that no delete can take the data",
        test: prod_database_unprotected,
    },
    Rule {
        id: "INV009",
        severity: Severity::High,
        title: "IAM policy allows every action",
        hint: "list the actions the role needs instead of \"*\" or \"service:*\"",
        test: iam_wildcard_actions,
    },
    Rule {
        id: "INV010",
        severity: Severity::Medium,
        title: "node group of a cluster without IRSA",
        hint: "add an `iam.openid_connect_provider` with `url: ${CLUSTER.oidc_issuer}` so pods get their own IAM roles, not the node role",
        test: nodegroup_without_irsa,
    },
    Rule {
        id: "INV011",
        severity: Severity::High,
        title: "placeholder AWS account id",
        hint: "use the real 12-digit account id (pass it with --var); 123456789012, 000000000000 and 111111111111 are documentation placeholders no account has",
        test: realism::placeholder_account,
    },
    Rule {
        id: "INV012",
        severity: Severity::High,
        title: "e-mail or domain under a reserved domain",
        hint: "use a domain you own: .example, .invalid, .test, .localhost and example.com/.net/.org never receive mail (an account's root user would be unreachable)",
        test: realism::reserved_email_domain,
    },
    Rule {
        id: "INV013",
        severity: Severity::High,
        title: "availability zone the region does not have",
        hint: "use one of the region's zones (`aws ec2 describe-availability-zones --region REGION` lists the account's); a zone of another region never works",
        test: realism::unknown_zone,
    },
    Rule {
        id: "INV014",
        severity: Severity::Medium,
        title: "KMS key rotation is off",
        hint: "set `enable_key_rotation: true`: KMS then makes new key material every `rotation_period_in_days` (365 by default) and keeps the old for decryption",
        test: key_rotation_off,
    },
    Rule {
        id: "INV015",
        severity: Severity::Medium,
        title: "VPC without a flow log",
        hint: "add an `ec2.flow_log` with `resource_id: ${VPC.id}` delivering to a `logs.log_group`: without one, rejected and accepted traffic leaves no record to investigate",
        test: vpc_without_flow_log,
    },
];

pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// The attribute's value when the blueprint knows it offline.
fn known<'a>(attrs: &'a Attrs, name: &str) -> Option<&'a Value> {
    attrs
        .get(name)
        .filter(|v| !v.is_null() && !contains_unknown(v))
}

fn is_kind(subject: &Subject, kind: &str) -> bool {
    subject.instance.kind == kind
}

/// Where to point for an attribute: its line when the blueprint sets it, else the resource.
fn spot_of(subject: &Subject, name: &'static str) -> Spot {
    if subject.instance.attr(name).is_some() {
        Spot::Attr(name)
    } else {
        Spot::Resource
    }
}

fn database_public(s: &Subject, _: &Context) -> Vec<Hit> {
    if !is_kind(s, "rds.db_instance")
        || known(s.attrs, "publicly_accessible") != Some(&Value::Bool(true))
    {
        return Vec::new();
    }
    hit(
        "the database has a public endpoint",
        Spot::Attr("publicly_accessible"),
    )
}

fn open_ingress(s: &Subject, _: &Context) -> Vec<Hit> {
    if !is_kind(s, "ec2.security_group") {
        return Vec::new();
    }
    let Some(Value::Array(rules)) = known(s.attrs, "ingress") else {
        return Vec::new();
    };
    rules
        .iter()
        .enumerate()
        .filter(|(_, rule)| opens_to_world(rule) && !web_ports_only(rule))
        .map(|(i, rule)| Hit {
            message: format!("ingress allows 0.0.0.0/0 to {}", describe_ports(rule)),
            at: Spot::Item("ingress", i),
        })
        .collect()
}

fn opens_to_world(rule: &Value) -> bool {
    rule.get("cidr_blocks")
        .and_then(Value::as_array)
        .is_some_and(|cidrs| cidrs.iter().any(|c| c.as_str() == Some("0.0.0.0/0")))
}

/// tcp/udp to 80 and/or 443 only (a range 80-443 opens everything in between).
fn web_ports_only(rule: &Value) -> bool {
    let protocol = rule.get("protocol").and_then(Value::as_str).unwrap_or("-1");
    if !matches!(protocol, "tcp" | "udp" | "6" | "17") {
        return false;
    }
    let port = |name| rule.get(name).and_then(Value::as_i64);
    match (port("from_port"), port("to_port")) {
        (Some(from), Some(to)) => from == to && (from == 80 || from == 443),
        _ => false,
    }
}

fn describe_ports(rule: &Value) -> String {
    let protocol = rule.get("protocol").and_then(Value::as_str).unwrap_or("-1");
    if matches!(protocol, "-1" | "all") {
        return "every protocol and port".into();
    }
    let port = |name| rule.get(name).and_then(Value::as_i64).unwrap_or(-1);
    match (port("from_port"), port("to_port")) {
        (from, to) if from == to => format!("{protocol} port {from}"),
        (from, to) => format!("{protocol} ports {from}-{to}"),
    }
}

fn database_unencrypted(s: &Subject, _: &Context) -> Vec<Hit> {
    if !is_kind(s, "rds.db_instance")
        || known(s.attrs, "storage_encrypted") != Some(&Value::Bool(false))
    {
        return Vec::new();
    }
    hit(
        "the database storage is not encrypted at rest",
        spot_of(s, "storage_encrypted"),
    )
}

fn cluster_secrets_unencrypted(s: &Subject, _: &Context) -> Vec<Hit> {
    // An unknown key ARN (a reference to a key) still encrypts.
    if !is_kind(s, "eks.cluster")
        || s.attrs
            .get("encryption_kms_key_arn")
            .is_some_and(|v| !v.is_null())
    {
        return Vec::new();
    }
    hit(
        "Kubernetes Secrets are stored without envelope encryption",
        Spot::Resource,
    )
}

/// Only symmetric keys made by KMS rotate: an asymmetric or HMAC key is not judged.
fn key_rotation_off(s: &Subject, _: &Context) -> Vec<Hit> {
    let symmetric = known(s.attrs, "key_spec").is_none_or(|v| v == "SYMMETRIC_DEFAULT");
    if !is_kind(s, "kms.key")
        || !symmetric
        || known(s.attrs, "enable_key_rotation") != Some(&Value::Bool(false))
    {
        return Vec::new();
    }
    hit(
        "the key's material is never rotated",
        spot_of(s, "enable_key_rotation"),
    )
}

fn cluster_endpoint_open(s: &Subject, _: &Context) -> Vec<Hit> {
    if !is_kind(s, "eks.cluster")
        || known(s.attrs, "endpoint_public_access") != Some(&Value::Bool(true))
    {
        return Vec::new();
    }
    let open = match known(s.attrs, "public_access_cidrs") {
        Some(Value::Array(cidrs)) => {
            cidrs.is_empty() || cidrs.iter().any(|c| c.as_str() == Some("0.0.0.0/0"))
        }
        _ => false,
    };
    if !open {
        return Vec::new();
    }
    let at = match spot_of(s, "public_access_cidrs") {
        Spot::Resource => spot_of(s, "endpoint_public_access"),
        cidrs => cidrs,
    };
    hit(
        "the Kubernetes API answers on a public endpoint open to 0.0.0.0/0",
        at,
    )
}

fn prod_database<'a>(s: &Subject<'a>, cx: &Context) -> bool {
    cx.prod && is_kind(s, "rds.db_instance")
}

fn prod_database_single_az(s: &Subject, cx: &Context) -> Vec<Hit> {
    if !prod_database(s, cx) || known(s.attrs, "multi_az") != Some(&Value::Bool(false)) {
        return Vec::new();
    }
    hit(
        "the prod database runs in one availability zone",
        spot_of(s, "multi_az"),
    )
}

fn prod_database_short_backups(s: &Subject, cx: &Context) -> Vec<Hit> {
    if !prod_database(s, cx) {
        return Vec::new();
    }
    match known(s.attrs, "backup_retention_period").and_then(Value::as_i64) {
        Some(days) if days < 7 => hit(
            format!("the prod database keeps backups for {days} day(s)"),
            spot_of(s, "backup_retention_period"),
        ),
        _ => Vec::new(),
    }
}

fn prod_database_unprotected(s: &Subject, cx: &Context) -> Vec<Hit> {
    if !prod_database(s, cx) || known(s.attrs, "deletion_protection") != Some(&Value::Bool(false)) {
        return Vec::new();
    }
    hit(
        "the prod database can be deleted",
        spot_of(s, "deletion_protection"),
    )
}

const ADMINISTRATOR_ACCESS: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

fn iam_wildcard_actions(s: &Subject, _: &Context) -> Vec<Hit> {
    if !is_kind(s, "iam.role") {
        return Vec::new();
    }
    let mut hits = Vec::new();
    if let Some(Value::Object(policies)) = known(s.attrs, "inline_policies") {
        for (name, document) in policies {
            for action in wildcard_actions(document) {
                hits.push(Hit {
                    message: format!("inline policy `{name}` allows the action \"{action}\""),
                    at: Spot::Attr("inline_policies"),
                });
            }
        }
    }
    let managed = known(s.attrs, "managed_policy_arns").and_then(Value::as_array);
    if managed.is_some_and(|arns| {
        arns.iter()
            .any(|a| a.as_str() == Some(ADMINISTRATOR_ACCESS))
    }) {
        hits.push(Hit {
            message: "the role has AdministratorAccess (\"Action\": \"*\")".into(),
            at: Spot::Attr("managed_policy_arns"),
        });
    }
    hits
}

/// "*" and "service:*" actions of the document's Allow statements.
fn wildcard_actions(document: &Value) -> Vec<String> {
    let document = match document {
        Value::String(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        other => other.clone(),
    };
    let statements = match document.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    };
    statements
        .iter()
        .filter(|st| st.get("Effect").and_then(Value::as_str) == Some("Allow"))
        .flat_map(|st| match st.get("Action") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        })
        .filter(|a| a == "*" || a.ends_with(":*"))
        .collect()
}

fn nodegroup_without_irsa(s: &Subject, cx: &Context) -> Vec<Hit> {
    if !is_kind(s, "eks.nodegroup") {
        return Vec::new();
    }
    let cluster = s
        .instance
        .attr("cluster_name")
        .and_then(|t| t.references().first().map(|a| a.to_string()));
    let covered = match cluster {
        Some(address) => cx.clusters_with_oidc.contains(&address),
        // A cluster outside the blueprint: only an OIDC provider somewhere can stand for it.
        None => cx.any_oidc,
    };
    if covered {
        return Vec::new();
    }
    hit(
        "its cluster has no IAM OIDC provider in the blueprint: pods can only use the node role",
        spot_of(s, "cluster_name"),
    )
}

/// A VPC no flow log in the blueprint refers to (one made elsewhere, by id, is not seen).
fn vpc_without_flow_log(s: &Subject, cx: &Context) -> Vec<Hit> {
    let address = s.instance.address.to_string();
    if !is_kind(s, "ec2.vpc") || cx.vpcs_with_flow_logs.contains(&address) {
        return Vec::new();
    }
    hit(
        "no ec2.flow_log in the blueprint records this VPC's traffic",
        Spot::Resource,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rule_ids_are_unique_and_well_formed() {
        let ids: BTreeSet<&str> = RULES.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), RULES.len());
        assert!(RULES
            .iter()
            .all(|r| r.id.len() == 6 && r.id.starts_with("INV")));
    }

    #[test]
    fn only_single_web_ports_may_be_open_to_the_world() {
        let rule = |protocol: &str, from: i64, to: i64| json!({ "protocol": protocol, "from_port": from, "to_port": to, "cidr_blocks": ["0.0.0.0/0"] });
        assert!(web_ports_only(&rule("tcp", 443, 443)));
        assert!(web_ports_only(&rule("tcp", 80, 80)));
        assert!(!web_ports_only(&rule("tcp", 80, 443)));
        assert!(!web_ports_only(&rule("tcp", 22, 22)));
        assert!(!web_ports_only(&rule("-1", 0, 0)));
        assert_eq!(describe_ports(&rule("-1", 0, 0)), "every protocol and port");
        assert_eq!(describe_ports(&rule("tcp", 80, 443)), "tcp ports 80-443");
    }

    #[test]
    fn finds_wildcard_actions_in_allow_statements_only() {
        let doc = json!({ "Version": "2012-10-17", "Statement": [
            { "Effect": "Allow", "Action": ["s3:GetObject", "ec2:*"], "Resource": "*" },
            { "Effect": "Deny", "Action": "*", "Resource": "*" },
            { "Effect": "Allow", "Action": "*", "Resource": "*" }
        ]});
        assert_eq!(wildcard_actions(&doc), ["ec2:*", "*"]);
        assert_eq!(wildcard_actions(&json!(doc.to_string())), ["ec2:*", "*"]);
    }
}
