use super::*;
use crate::blueprint::{parse, LoadOptions};

fn registry() -> Registry {
    crate::aws::registry(crate::aws::AwsContext::new(None))
}

fn run(text: &str, env: &str) -> Report {
    let options = LoadOptions {
        env: Some(env.into()),
        vars: Vec::new(),
    };
    let blueprint = parse("bp.yaml", text, &options, &registry()).unwrap();
    check(&blueprint, &registry(), text)
}

/// (rule, address, line) of each finding.
fn found(report: &Report) -> Vec<(&str, &str, usize)> {
    report
        .findings
        .iter()
        .map(|f| (f.rule.id, f.address.as_str(), f.pos.line))
        .collect()
}

const RISKY: &str = r#"blueprint: risky
environments: { dev: {}, prod: {} }
resources:
  web:
    kind: ec2.security_group
    vpc_id: vpc-1
    ingress:
      - { protocol: tcp, from_port: 443, to_port: 443, cidr_blocks: ["0.0.0.0/0"] }
      - { protocol: tcp, from_port: 22, to_port: 22, cidr_blocks: ["0.0.0.0/0"] }
  db:
    kind: rds.db_instance
    identifier: db
    engine: postgres
    instance_class: db.t4g.small
    publicly_accessible: true
    storage_encrypted: false
    backup_retention_period: 1
  cluster:
    kind: eks.cluster
    name: c
    role_arn: arn:aws:iam::1:role/c
    subnet_ids: [subnet-1]
  nodes:
    kind: eks.nodegroup
    cluster_name: ${cluster.name}
    name: n
    node_role_arn: arn:aws:iam::1:role/n
    subnet_ids: [subnet-1]
    scaling: { min_size: 1, desired_size: 1, max_size: 1 }
  admin:
    kind: iam.role
    name: admin
    assume_role_policy: { Version: "2012-10-17", Statement: [] }
    inline_policies:
      all: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: "*", Resource: "*" }] }
"#;

#[test]
fn every_rule_fires_on_a_risky_prod_blueprint_at_the_offending_line() {
    let report = run(RISKY, "prod");
    assert_eq!(
        found(&report),
        [
            ("INV001", "db", 15),
            ("INV002", "web", 9),
            ("INV006", "db", 10),
            ("INV008", "db", 10),
            ("INV003", "db", 16),
            ("INV007", "db", 17),
            ("INV004", "cluster", 18),
            ("INV005", "cluster", 18),
            ("INV009", "admin", 34),
            ("INV010", "nodes", 25),
        ]
    );
    let open = &report.findings[1];
    assert_eq!(open.message, "ingress allows 0.0.0.0/0 to tcp port 22");
}

#[test]
fn prod_only_rules_stay_quiet_in_dev() {
    let ids: Vec<&str> = run(RISKY, "dev")
        .findings
        .iter()
        .map(|f| f.rule.id)
        .collect();
    assert!(!ids.contains(&"INV006") && !ids.contains(&"INV007") && !ids.contains(&"INV008"));
    assert!(ids.contains(&"INV001"));
}

#[test]
fn a_suppression_moves_the_finding_aside_with_its_reason() {
    let text = RISKY.replace(
        "    vpc_id: vpc-1\n",
        "    vpc_id: vpc-1\n    check: { suppress: { INV002: bastion until the VPN exists, INV001: stale } }\n",
    );
    let report = run(&text, "dev");
    assert!(!report.findings.iter().any(|f| f.rule.id == "INV002"));
    assert_eq!(
        report.suppressed,
        [Suppressed {
            rule: "INV002".into(),
            address: "web".into(),
            reason: "bastion until the VPN exists".into()
        }]
    );
    assert_eq!(
        report.unused.len(),
        1,
        "INV001 does not apply to a security group"
    );
}

#[test]
fn a_cluster_with_an_oidc_provider_and_a_private_endpoint_is_clean() {
    let text = "blueprint: ok\nresources:\n  cluster:\n    kind: eks.cluster\n    name: c\n    role_arn: r\n    subnet_ids: [s]\n    endpoint_public_access: false\n    encryption_kms_key_arn: arn:aws:kms:us-east-1:1:key/k\n  oidc: { kind: iam.openid_connect_provider, url: \"${cluster.oidc_issuer}\", client_id_list: [sts.amazonaws.com] }\n  nodes: { kind: eks.nodegroup, cluster_name: \"${cluster.name}\", name: n, node_role_arn: r, subnet_ids: [s], scaling: { min_size: 1, desired_size: 1, max_size: 1 } }\n";
    let report = run(text, "default");
    assert!(report.findings.is_empty(), "{:?}", found(&report));
}

#[test]
fn the_threshold_selects_what_counts() {
    let report = run(RISKY, "dev");
    assert!(report.at_or_above(Severity::Critical).len() == 1);
    assert!(report.at_or_above(Severity::Low).len() > report.at_or_above(Severity::High).len());
    assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
    assert!("urgent".parse::<Severity>().is_err());
}

#[test]
fn human_output_reuses_the_located_error_rendering() {
    let report = run(RISKY, "prod");
    let source = Source {
        file: "bp.yaml",
        text: RISKY,
        env: "prod",
    };
    let text = render_human(&report, Severity::Critical, &source);
    let expected = "critical[INV001]: db (database publicly accessible): the database has a public endpoint\n  --> bp.yaml:15:5\n   |\n15 |     publicly_accessible: true\n   |     ^\n  = hint: set `publicly_accessible: false`";
    assert!(text.starts_with(expected), "{text}");
    assert!(
        text.ends_with("1 finding at or above critical (1 critical) in bp.yaml, env prod; 9 below the threshold.\n"),
        "{text}"
    );
    let json = to_json(&report, Severity::High, &source);
    assert_eq!(json["passed"], false);
    assert_eq!(
        json["findings"][1]["source_line"],
        "      - { protocol: tcp, from_port: 22, to_port: 22, cidr_blocks: [\"0.0.0.0/0\"] }"
    );
}

const PLACEHOLDERS: &str = r#"blueprint: placeholders
region: us-west-1
variables:
  admin_account: "111111111111"
  unused_key: arn:aws:kms:us-west-1:000000000000:key/k
  zones: [us-west-1b, us-east-1a]
resources:
  net:
    kind: ec2.subnet
    count: 2
    vpc_id: vpc-1
    cidr_block: "10.0.${count.index}.0/24"
    availability_zone: ${var.zones[count.index]}
  deployer:
    kind: iam.role
    name: deployer
    assume_role_policy:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Principal: { AWS: "arn:aws:iam::${var.admin_account}:root" }, Action: "sts:AssumeRole" }]
    inline_policies:
      kms: '{"Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-west-1:123456789012:key/k"}]}'
  prod:
    kind: organizations.account
    account_name: prod
    email: aws-prod@innovate.example
    parent_id: r-abcd
  ip: { kind: ec2.elastic_ip, domain: vpc }
"#;

#[test]
fn values_that_cannot_work_on_aws_are_found_where_they_are_written() {
    let report = run(PLACEHOLDERS, "default");
    let mut got: Vec<(&str, &str, usize, &str)> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.rule.id,
                f.address.as_str(),
                f.pos.line,
                f.message.as_str(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("INV011", "deployer", 17, "`assume_role_policy` names the placeholder account 111111111111"),
            ("INV011", "deployer", 20, "`inline_policies` names the placeholder account 123456789012"),
            ("INV011", "var.admin_account", 4, "variable `admin_account` holds the placeholder account 111111111111"),
            ("INV011", "var.unused_key", 5, "variable `unused_key` holds the placeholder account 000000000000"),
            ("INV012", "prod", 25, "`email` uses `innovate.example`, under the reserved domain `.example`: no mail is ever delivered there"),
            ("INV013", "net[0]", 13, "us-west-1 has no zone `us-west-1b` (it offers us-west-1a, us-west-1c)"),
            ("INV013", "net[1]", 13, "`us-east-1a` is a zone of us-east-1, not of the blueprint's region us-west-1"),
        ]
    );
}

#[test]
fn real_looking_values_and_unknown_regions_pass() {
    let text = PLACEHOLDERS
        .replace("111111111111", "210987654321")
        .replace("000000000000", "210987654321")
        .replace("123456789012", "210987654321")
        .replace("innovate.example", "innovate-inc.com")
        .replace("region: us-west-1", "region: mx-central-1")
        .replace("[us-west-1b, us-east-1a]", "[mx-central-1a, mx-central-1q]");
    let report = run(&text, "default");
    assert!(report.findings.is_empty(), "{:?}", found(&report));
}

#[test]
fn a_symmetric_key_without_rotation_is_found_where_it_says_so() {
    let keys = r#"blueprint: keys
resources:
  said_off:
    kind: kms.key
    description: logs
    enable_key_rotation: false
  left_out:
    kind: kms.key
  rotated:
    kind: kms.key
    enable_key_rotation: true
  signing:
    kind: kms.key
    key_usage: SIGN_VERIFY
    key_spec: ECC_NIST_P256
"#;
    let report = run(keys, "default");
    let rotation: Vec<_> = found(&report)
        .into_iter()
        .filter(|(rule, _, _)| *rule == "INV014")
        .collect();
    // At the attribute when it is written, at the resource when the default says it.
    assert_eq!(
        rotation,
        [("INV014", "said_off", 6), ("INV014", "left_out", 7)]
    );
}

#[test]
fn a_nacl_open_to_the_internet_on_a_database_port_is_found_at_its_entry() {
    let nacls = r#"blueprint: nacls
resources:
  data:
    kind: ec2.network_acl
    vpc_id: vpc-1
    ingress:
      - { rule_number: 100, protocol: tcp, action: allow, cidr_block: 10.0.0.0/16, from_port: 5432, to_port: 5432 }
      - { rule_number: 110, protocol: tcp, action: allow, cidr_block: 0.0.0.0/0, from_port: 1024, to_port: 65535 }
      - { rule_number: 120, protocol: tcp, action: deny, cidr_block: 0.0.0.0/0, from_port: 5432, to_port: 5432 }
      - { rule_number: 130, protocol: tcp, action: allow, cidr_block: 0.0.0.0/0, from_port: 443, to_port: 443 }
      - { rule_number: 140, protocol: tcp, action: allow, cidr_block: 0.0.0.0/0, from_port: 3000, to_port: 6000 }
  everything:
    kind: ec2.network_acl
    vpc_id: vpc-1
    ingress:
      - { rule_number: 100, protocol: "-1", action: allow, cidr_block: 0.0.0.0/0 }
"#;
    let report = run(nacls, "default");
    let open: Vec<_> = found(&report)
        .into_iter()
        .filter(|(rule, _, _)| *rule == "INV015")
        .collect();
    // A range taking in 5432 is found; the ephemeral range (return traffic through a
    // stateless NACL), a deny and a web port are not.
    assert_eq!(open, [("INV015", "data", 11), ("INV015", "everything", 16)]);
}

#[test]
fn a_prod_read_replica_in_one_zone_is_not_a_single_az_database() {
    let text = r#"blueprint: replicas
environments: { prod: {} }
resources:
  primary:
    kind: rds.db_instance
    identifier: primary
    engine: postgres
    instance_class: db.t4g.small
    multi_az: false
    deletion_protection: true
  reporting:
    kind: rds.db_instance
    identifier: reporting
    engine: postgres
    instance_class: db.t4g.small
    replicate_source_db: ${primary.id}
    deletion_protection: true
"#;
    let report = run(text, "prod");
    let single_az: Vec<_> = found(&report)
        .into_iter()
        .filter(|(rule, _, _)| *rule == "INV006")
        .collect();
    assert_eq!(single_az, [("INV006", "primary", 9)]);
}

#[test]
fn buckets_and_repositories_are_judged_on_exposure_encryption_tags_scans_and_names() {
    let storage = r#"blueprint: storage
resources:
  open:
    kind: s3.bucket
    name: innovate-open
    block_public_access:
      block_public_acls: true
      ignore_public_acls: true
      block_public_policy: false
      restrict_public_buckets: false
  implicit:
    kind: s3.bucket
    name: innovate-implicit
  closed:
    kind: s3.bucket
    name: innovate-closed
    encryption: aws:kms
  badly_named:
    kind: s3.bucket
    name: Innovate_Backups
    encryption: AES256
  mutable:
    kind: ecr.repository
    name: backend
    image_tag_mutability: MUTABLE
    scan_on_push: false
  strict:
    kind: ecr.repository
    name: frontend
  badly_named_repo:
    kind: ecr.repository
    name: team//frontend
"#;
    let report = run(storage, "default");
    let ours = ["INV017", "INV018", "INV019", "INV020", "INV021"];
    let found: Vec<_> = found(&report)
        .into_iter()
        .filter(|(rule, _, _)| ours.contains(rule))
        .collect();
    assert_eq!(
        found,
        [
            ("INV021", "badly_named", 20),
            ("INV021", "badly_named_repo", 32),
            ("INV019", "open", 6),
            ("INV017", "mutable", 25),
            ("INV018", "mutable", 26),
            ("INV020", "open", 3),
            ("INV020", "implicit", 11),
        ]
    );
    let open = report
        .findings
        .iter()
        .find(|f| f.rule.id == "INV019")
        .unwrap();
    assert!(
        open.message
            .contains("block_public_policy, restrict_public_buckets"),
        "{}",
        open.message
    );
}

#[test]
fn a_vpc_is_found_unless_a_flow_log_refers_to_it() {
    let vpcs = r#"blueprint: vpcs
resources:
  logged:
    kind: ec2.vpc
    cidr_block: 10.0.0.0/16
  unlogged:
    kind: ec2.vpc
    cidr_block: 10.1.0.0/16
  flow:
    kind: ec2.flow_log
    resource_id: ${logged.id}
    log_group_name: /vpc/logged
    deliver_logs_permission_arn: arn:aws:iam::210987654321:role/flow-logs
  elsewhere:
    kind: ec2.flow_log
    resource_id: vpc-0abc
    log_destination_type: s3
    log_destination: arn:aws:s3:::flow-logs
"#;
    let report = run(vpcs, "default");
    let unlogged: Vec<_> = found(&report)
        .into_iter()
        .filter(|(rule, _, _)| *rule == "INV016")
        .collect();
    assert_eq!(unlogged, [("INV016", "unlogged", 6)]);
}
