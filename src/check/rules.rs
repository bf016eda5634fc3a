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
        severity: Severity::High,
        title: "network ACL lets the internet reach database ports",
        hint: "allow the database ports (5432, 3306, 1433, 1521, 6379, 27017) only from the application subnets' CIDR blocks; NACLs are the subnet-level second line behind security groups",
        test: nacl_open_database_ports,
    },
    Rule {
        id: "INV016",
        severity: Severity::Medium,
        title: "VPC without a flow log",
        hint: "add an `ec2.flow_log` with `resource_id: ${VPC.id}` delivering to a `logs.log_group`: without one, rejected and accepted traffic leaves no record to investigate",
        test: vpc_without_flow_log,
    },
    Rule {
        id: "INV017",
        severity: Severity::Medium,
        title: "ECR repository with mutable image tags",
        hint: "set `image_tag_mutability: IMMUTABLE`: a pushed tag then always names the same image, so a deploy of `v1.2` cannot be swapped under you",
        test: repository_tags_mutable,
    },
    Rule {
        id: "INV018",
        severity: Severity::Medium,
        title: "ECR repository does not scan images on push",
        hint: "set `scan_on_push: true` so that every pushed image is scanned for known vulnerabilities",
        test: repository_not_scanned,
    },
    Rule {
        id: "INV019",
        severity: Severity::High,
        title: "S3 bucket does not block all public access",
        hint: "keep all four `block_public_access` flags true (the default); share through a bucket policy naming accounts or roles, or CloudFront, instead",
        test: bucket_public_access_open,
    },
    Rule {
        id: "INV020",
        severity: Severity::Low,
        title: "S3 bucket encryption not chosen explicitly",
        hint: "set `encryption: aws:kms` with `kms_key_arn` (a customer-managed key: its use is logged and can be revoked) or `encryption: AES256` to say SSE-S3 is enough",
        test: bucket_encryption_implicit,
    },
    Rule {
        id: "INV021",
        severity: Severity::Critical,
        title: "bucket or repository name AWS refuses",
        hint: "S3 bucket names: 3-63 lowercase letters, digits, dots and hyphens; ECR repository names: lowercase letters and digits joined by single `.`, `_` or `-`, in `/`-separated parts",
        test: name_refused,
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

/// A read replica is judged by its source: it serves reads, a failover is the primary's.
fn prod_database_single_az(s: &Subject, cx: &Context) -> Vec<Hit> {
    let replica = s
        .attrs
        .get("replicate_source_db")
        .is_some_and(|v| !v.is_null());
    if !prod_database(s, cx) || replica || known(s.attrs, "multi_az") != Some(&Value::Bool(false)) {
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

/// The ports of the database engines the estate may run (PostgreSQL, MySQL, SQL Server,
/// Oracle, Redis, MongoDB).
const DATABASE_PORTS: &[i64] = &[5432, 3306, 1433, 1521, 6379, 27017];

/// An allowing ingress entry of an `ec2.network_acl` from 0.0.0.0/0 whose protocol and
/// port range take in a database port. The ephemeral range up to 65535 is left alone: a
/// NACL is stateless, and a private subnet needs it open for its NAT's return traffic.
fn nacl_open_database_ports(s: &Subject, _: &Context) -> Vec<Hit> {
    if !is_kind(s, "ec2.network_acl") {
        return Vec::new();
    }
    let Some(Value::Array(entries)) = known(s.attrs, "ingress") else {
        return Vec::new();
    };
    let field =
        |entry: &Value, name: &str| entry.get(name).and_then(Value::as_str).map(str::to_string);
    let opens_database = |entry: &Value| {
        let port = |name| entry.get(name).and_then(Value::as_i64);
        let covered = match field(entry, "protocol").as_deref() {
            Some("-1") => true,
            Some("tcp") => match (port("from_port"), port("to_port")) {
                (Some(from), Some(65535)) if from >= 1024 => false,
                (Some(from), Some(to)) => DATABASE_PORTS.iter().any(|p| (from..=to).contains(p)),
                _ => false,
            },
            _ => false,
        };
        covered
            && field(entry, "action").as_deref() == Some("allow")
            && field(entry, "cidr_block").as_deref() == Some("0.0.0.0/0")
    };
    let open = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| opens_database(e));
    open.map(|(i, entry)| Hit {
        message: format!(
            "ingress entry {} allows 0.0.0.0/0 to a database port",
            entry.get("rule_number").unwrap_or(&Value::Null)
        ),
        at: Spot::Item("ingress", i),
    })
    .collect()
}

fn repository_tags_mutable(s: &Subject, _: &Context) -> Vec<Hit> {
    if !is_kind(s, "ecr.repository")
        || known(s.attrs, "image_tag_mutability") != Some(&Value::from("MUTABLE"))
    {
        return Vec::new();
    }
    hit(
        "a pushed tag can be moved to another image",
        spot_of(s, "image_tag_mutability"),
    )
}

fn repository_not_scanned(s: &Subject, _: &Context) -> Vec<Hit> {
    if !is_kind(s, "ecr.repository") || known(s.attrs, "scan_on_push") != Some(&Value::Bool(false))
    {
        return Vec::new();
    }
    hit(
        "pushed images are not scanned for vulnerabilities",
        spot_of(s, "scan_on_push"),
    )
}

fn bucket_public_access_open(s: &Subject, _: &Context) -> Vec<Hit> {
    let Some(Value::Object(flags)) =
        known(s.attrs, "block_public_access").filter(|_| is_kind(s, "s3.bucket"))
    else {
        return Vec::new();
    };
    let off: Vec<&str> = flags
        .iter()
        .filter(|(_, on)| **on == Value::Bool(false))
        .map(|(name, _)| name.as_str())
        .collect();
    if off.is_empty() {
        return Vec::new();
    }
    hit(
        format!("public access is not blocked: {} off", off.join(", ")),
        spot_of(s, "block_public_access"),
    )
}

/// The blueprint leaves `encryption` out: S3's default (SSE-S3) applies, chosen by no one.
fn bucket_encryption_implicit(s: &Subject, _: &Context) -> Vec<Hit> {
    if !is_kind(s, "s3.bucket") || s.instance.attr("encryption").is_some() {
        return Vec::new();
    }
    hit(
        "the bucket's default encryption is left to S3 (SSE-S3)",
        Spot::Resource,
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

/// The naming rules the kinds check before their create call, here offline.
fn name_refused(s: &Subject, _: &Context) -> Vec<Hit> {
    let rules: fn(&str) -> Option<&'static str> = match s.instance.kind.as_str() {
        "s3.bucket" => crate::aws::s3::bucket_name_problem,
        "ecr.repository" => crate::aws::ecr::repository_name_problem,
        _ => return Vec::new(),
    };
    let name = known(s.attrs, "name").and_then(Value::as_str);
    match name.and_then(|name| Some((name, rules(name)?))) {
        Some((name, problem)) => hit(format!("`{name}` {problem}"), spot_of(s, "name")),
        None => Vec::new(),
    }
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
