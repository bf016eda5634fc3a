//! Blueprint parsing, expansion and validation against the real kinds' schemas.

use super::*;
use crate::address::Address;
use crate::aws::{registry, AwsContext};
use serde_json::json;

fn load_text(
    text: &str,
    env: Option<&str>,
    vars: &[(&str, &str)],
) -> Result<Blueprint, BlueprintErrors> {
    let options = LoadOptions {
        env: env.map(str::to_string),
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    parse("bp.yaml", text, &options, &registry(AwsContext::new(None)))
}

fn errors(text: &str) -> Vec<(usize, usize, String, Option<String>)> {
    let err = load_text(text, None, &[]).expect_err("the blueprint should be rejected");
    let mut out: Vec<_> = err
        .diagnostics
        .into_iter()
        .map(|d| (d.pos.line, d.pos.col, d.message, d.hint))
        .collect();
    out.sort_by_key(|(l, c, _, _)| (*l, *c));
    out
}

pub(super) const NETWORK: &str = r#"
blueprint: net
region: us-east-1
variables:
  nat_gateways: 1
  cidr: 10.0.0.0/16
environments:
  dev: {}
  prod: { nat_gateways: 3 }
resources:
  main:
    kind: ec2.vpc
    cidr_block: ${var.cidr}
    tags: { Name: "innovate-${env}" }
  private:
    kind: ec2.subnet
    count: ${nat_gateways}
    vpc_id: ${main.id}
    cidr_block: "10.0.${count.index}.0/24"
  app:
    kind: ec2.security_group
    for_each: { http: 80, https: 443 }
    vpc_id: ${main.id}
    description: "port ${each.value}"
    ingress:
      - { protocol: tcp, from_port: "${each.value}", to_port: "${each.value}", cidr_blocks: ["0.0.0.0/0"] }
    depends_on: [private]
outputs:
  vpc_id: ${main.id}
  subnet_ids: ${private[*].id}
"#;

#[test]
fn expands_environments_count_and_for_each() {
    let dev = load_text(NETWORK, Some("dev"), &[]).unwrap();
    let names: Vec<String> = dev
        .instances
        .iter()
        .map(|i| i.address.to_string())
        .collect();
    assert_eq!(
        names,
        ["app[\"http\"]", "app[\"https\"]", "main", "private[0]"]
    );
    let prod = load_text(NETWORK, Some("prod"), &[]).unwrap();
    assert_eq!(
        prod.instances
            .iter()
            .filter(|i| i.address.resource == "private")
            .count(),
        3
    );
    let overridden = load_text(NETWORK, Some("prod"), &[("nat_gateways", "2")]).unwrap();
    assert_eq!(
        overridden
            .instances
            .iter()
            .filter(|i| i.address.resource == "private")
            .count(),
        2
    );

    let vpc = prod.instance(&Address::single("main")).unwrap();
    assert_eq!(
        vpc.attr("tags"),
        Some(&Tmpl::Lit(json!({"Name": "innovate-prod"})))
    );
    assert_eq!(
        vpc.attr("cidr_block"),
        Some(&Tmpl::Lit(json!("10.0.0.0/16")))
    );
    let subnet = prod.instance(&Address::indexed("private", 2)).unwrap();
    assert_eq!(
        subnet.attr("cidr_block"),
        Some(&Tmpl::Lit(json!("10.0.2.0/24")))
    );
    assert_eq!(subnet.depends_on, vec![Address::single("main")]);

    let https = prod.instance(&Address::keyed("app", "https")).unwrap();
    assert_eq!(
        https.attr("description"),
        Some(&Tmpl::Lit(json!("port 443")))
    );
    let Some(Tmpl::Lit(rules)) = https.attr("ingress") else {
        panic!("a rule without references is fully known")
    };
    assert_eq!(
        rules[0]["from_port"],
        json!(443),
        "a number from each.value stays a number"
    );
    let deps: Vec<String> = https.depends_on.iter().map(ToString::to_string).collect();
    assert_eq!(
        deps,
        ["main", "private[0]", "private[1]", "private[2]"],
        "references plus depends_on"
    );
}

#[test]
fn reports_every_error_at_once_with_its_location_and_a_hint() {
    let text = r#"blueprint: broken
resources:
  main:
    kind: ec2.vpcc
  net:
    kind: ec2.subnet
    vpc_id: ${mian.id}
    cidr_blok: 10.0.0.0/24
  net2:
    kind: ec2.subnet
    vpc_id: ${net.id}
    cidr_block: 10.0.1.0/33
    map_public_ip_on_launch: "yes"
"#;
    let found = errors(text);
    let messages: Vec<&str> = found.iter().map(|(_, _, m, _)| m.as_str()).collect();
    assert_eq!(found.len(), 6, "{messages:#?}");
    assert_eq!((found[0].0, found[0].1), (4, 11));
    assert_eq!(found[0].2, "unknown kind `ec2.vpcc`");
    assert_eq!(found[0].3.as_deref(), Some("did you mean `ec2.vpc`?"));
    assert!(messages
        .contains(&"resource `net` (ec2.subnet) is missing the required attribute `cidr_block`"));
    assert!(messages.contains(&"unknown resource `mian` in reference `mian.id`"));
    assert!(found.iter().any(|(l, c, m, h)| (*l, *c) == (8, 5)
        && m.contains("unknown attribute `cidr_blok`")
        && h.as_deref() == Some("did you mean `cidr_block`?")));
    assert!(found
        .iter()
        .any(|(l, _, m, _)| *l == 12 && m.contains("prefix length is 0 to 32")));
    assert!(found
        .iter()
        .any(|(l, _, m, _)| *l == 13 && m == "expected true or false, found a string"));
}

#[test]
fn references_must_match_count_and_for_each() {
    let text = r#"blueprint: refs
resources:
  main: { kind: ec2.vpc, cidr_block: 10.0.0.0/16 }
  many: { kind: ec2.subnet, count: 2, vpc_id: "${main.id}", cidr_block: "10.0.${count.index}.0/24" }
  keyed: { kind: ec2.security_group, for_each: [a, b], vpc_id: "${main.id}" }
  a: { kind: ec2.internet_gateway, vpc_id: "${many.id}" }
  b: { kind: ec2.internet_gateway, vpc_id: "${many[5].id}" }
  c: { kind: ec2.internet_gateway, vpc_id: "${keyed[\"z\"].id}" }
  d: { kind: ec2.internet_gateway, vpc_id: "${main[0].id}" }
  e: { kind: ec2.internet_gateway, vpc_id: "${main.idd}" }
  f: { kind: ec2.internet_gateway, vpc_id: "${many[*].id}" }
  g: { kind: ec2.internet_gateway, vpc_id: "${count.index}" }
  h: { kind: ec2.internet_gateway, vpc_id: "${var.nope}" }
"#;
    let messages: Vec<String> = errors(text)
        .into_iter()
        .map(|(l, _, m, _)| format!("{l}: {m}"))
        .collect();
    let expected = [
        "6: `many` has count: pick an instance by number",
        "7: `many[5]` is out of range: `many` has count 2",
        "8: `keyed` has no instance with key \"z\"",
        "9: `main` has no count or for_each, so it takes no index",
        "10: ec2.vpc `main` has no attribute `idd`",
        "11: `[*]` gives a list, but this attribute takes a string",
        "12: `count.index` is only available in a resource with `count`",
        "13: unknown variable `nope`",
    ];
    assert_eq!(messages, expected);
}

#[test]
fn environments_and_variables_are_checked() {
    let err = load_text(NETWORK, None, &[]).unwrap_err();
    assert_eq!(
        err.diagnostics[0].message,
        "no --env given and no `default` environment"
    );
    assert_eq!(
        err.diagnostics[0].hint.as_deref(),
        Some("choose one with --env: dev, prod")
    );
    let err = load_text(NETWORK, Some("prd"), &[]).unwrap_err();
    assert_eq!(
        err.diagnostics[0].hint.as_deref(),
        Some("did you mean `prod`?")
    );
    let err = load_text(NETWORK, Some("dev"), &[("nat_gateway", "2")]).unwrap_err();
    assert!(
        err.diagnostics[0].message.contains("--var nat_gateway"),
        "{:?}",
        err.diagnostics
    );
    assert_eq!(
        err.diagnostics[0].hint.as_deref(),
        Some("did you mean `nat_gateways`?")
    );
}

const REQUIRED: &str = r#"
blueprint: req
variables:
  key_arn:
    required: the ARN of your KMS key (--var key_arn=arn:aws:kms:REGION:ACCOUNT:key/ID)
environments:
  dev: {}
  prod: { key_arn: "arn:aws:kms:us-east-1:210987654321:key/prod" }
resources:
  c:
    kind: eks.cluster
    name: c
    role_arn: arn:aws:iam::210987654321:role/c
    subnet_ids: [subnet-1]
    encryption_kms_key_arn: ${var.key_arn}
"#;

#[test]
fn a_required_variable_without_a_value_is_one_clear_error() {
    let err = load_text(REQUIRED, Some("dev"), &[]).unwrap_err();
    let found: Vec<_> = err
        .diagnostics
        .iter()
        .map(|d| (d.pos.line, d.message.as_str(), d.hint.as_deref()))
        .collect();
    assert_eq!(
        found,
        [(
            4,
            "variable `key_arn` is required and has no value: the ARN of your KMS key (--var key_arn=arn:aws:kms:REGION:ACCOUNT:key/ID)",
            Some("pass `--var key_arn=VALUE`, or set `key_arn` under `environments: dev:`")
        )]
    );
}

#[test]
fn a_required_variable_is_set_by_var_or_by_its_environment() {
    let arn = |bp: &Blueprint| bp.instances[0].attr("encryption_kms_key_arn").cloned();
    let dev = load_text(REQUIRED, Some("dev"), &[("key_arn", "arn:aws:kms:x")]).unwrap();
    assert_eq!(arn(&dev), Some(Tmpl::Lit(json!("arn:aws:kms:x"))));
    let prod = load_text(REQUIRED, Some("prod"), &[]).unwrap();
    assert_eq!(
        arn(&prod),
        Some(Tmpl::Lit(json!(
            "arn:aws:kms:us-east-1:210987654321:key/prod"
        )))
    );
    let var = prod.variables.iter().find(|v| v.name == "key_arn").unwrap();
    assert_eq!(var.pos.line, 8, "the value's own line: {var:?}");
}

#[test]
fn count_must_be_known_before_apply() {
    let text = "blueprint: x\nresources:\n  main: { kind: ec2.vpc, cidr_block: 10.0.0.0/16 }\n  s: { kind: ec2.subnet, count: \"${main.id}\", vpc_id: \"${main.id}\", cidr_block: 10.0.0.0/24 }\n";
    let found = errors(text);
    assert_eq!(found[0].2, "`count` must be known before apply");
}

#[test]
fn element_wraps_around_and_var_lists_index() {
    let text = r#"blueprint: wrap
variables: { azs: [a1, b1] }
resources:
  main: { kind: ec2.vpc, cidr_block: 10.0.0.0/16 }
  ip: { kind: ec2.elastic_ip, count: 1 }
  s: { kind: ec2.subnet, count: 3, vpc_id: "${main.id}", cidr_block: "10.0.${count.index}.0/24", availability_zone: "${element(var.azs, count.index)}" }
  r: { kind: ec2.route_table, count: 3, vpc_id: "${main.id}", routes: [{ destination_cidr_block: 0.0.0.0/0, nat_gateway_id: "${element(ip[*].id, count.index)}" }] }
"#;
    let bp = load_text(text, None, &[]).unwrap();
    let az = |i| {
        bp.instance(&Address::indexed("s", i))
            .unwrap()
            .attr("availability_zone")
            .cloned()
    };
    assert_eq!(az(2), Some(Tmpl::Lit(json!("a1"))));
    let r2 = bp.instance(&Address::indexed("r", 2)).unwrap();
    assert_eq!(
        r2.depends_on,
        vec![Address::indexed("ip", 0), Address::single("main")]
    );
}

#[test]
fn lifecycle_and_timeouts_are_checked() {
    let text = "blueprint: lc\nresources:\n  main:\n    kind: ec2.vpc\n    cidr_block: 10.0.0.0/16\n    lifecycle: { prevent_destroy: yes, create_before_destory: true, ignore_changes: [tag] }\n    timeouts: { create: soon, delet: 1m }\n";
    let messages: Vec<String> = errors(text)
        .into_iter()
        .map(|(l, _, m, h)| format!("{l}: {m} / {}", h.unwrap_or_default()))
        .collect();
    assert_eq!(
        messages,
        [
            "6: `prevent_destroy` must be true or false / ",
            "6: unknown lifecycle option `create_before_destory` / did you mean `create_before_destroy`?",
            "6: `ignore_changes`: unknown attribute `tag` of ec2.vpc / did you mean `tags`?",
            "7: a timeout is a duration such as 30m, 1h or 90s / ",
            "7: unknown timeout `delet` / did you mean `delete`?",
        ]
    );
    let ok = "blueprint: lc\nresources:\n  main:\n    kind: ec2.vpc\n    cidr_block: 10.0.0.0/16\n    lifecycle: { create_before_destroy: true, ignore_changes: [tags] }\n    timeouts: { create: 30m }\n";
    let bp = load_text(ok, None, &[]).unwrap();
    let main = &bp.instances[0];
    assert!(main.lifecycle.create_before_destroy);
    assert_eq!(main.lifecycle.ignore_changes, ["tags"]);
    assert_eq!(
        main.timeouts.create,
        Some(std::time::Duration::from_secs(1800))
    );
}

#[test]
fn keys_of_free_form_maps_may_hold_references() {
    let text = r#"blueprint: irsa
resources:
  oidc: { kind: iam.openid_connect_provider, url: "https://oidc.example/id/1", client_id_list: [sts.amazonaws.com] }
  role:
    kind: iam.role
    name: "cni-${env}"
    assume_role_policy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: { Federated: "${oidc.arn}" }
          Action: sts:AssumeRoleWithWebIdentity
          Condition:
            StringEquals:
              "${oidc.url}:sub": system:serviceaccount:kube-system:aws-node
              "${env}:aud": sts.amazonaws.com
"#;
    let bp = load_text(text, None, &[]).unwrap();
    let role = bp.instance(&Address::single("role")).unwrap();
    assert_eq!(role.depends_on, vec![Address::single("oidc")]);
    let policy = role.attr("assume_role_policy").unwrap();
    let lookup = |_: &Address, attr: &str| json!(format!("<{attr}>"));
    let resolved = policy.resolve(&lookup);
    assert_eq!(
        resolved["Statement"][0]["Condition"]["StringEquals"],
        json!({
            "<url>:sub": "system:serviceaccount:kube-system:aws-node",
            "default:aud": "sts.amazonaws.com"
        })
    );
    assert_eq!(
        resolved["Statement"][0]["Principal"]["Federated"],
        json!("<arn>")
    );
}

#[test]
fn keys_of_schema_objects_stay_literal() {
    let text = "blueprint: k\nresources:\n  main: { kind: ec2.vpc, \"${env}\": 1, cidr_block: 10.0.0.0/16 }\n";
    let found = errors(text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].2.contains("${env}"), "{found:?}");
}

#[test]
fn check_suppressions_need_a_rule_id_and_a_reason() {
    let text = "blueprint: s\nresources:\n  main:\n    kind: ec2.vpc\n    cidr_block: 10.0.0.0/16\n    check:\n      suppress: { INV002: \"\", XX1: why, INV003: ok }\n      ignore: true\n";
    let messages: Vec<String> = errors(text)
        .into_iter()
        .map(|(l, _, m, _)| format!("{l}: {m}"))
        .collect();
    assert_eq!(
        messages,
        [
            "7: the suppression of INV002 needs a reason",
            "7: `XX1` is not a check rule id",
            "8: unknown check option `ignore`",
        ]
    );
    let ok = "blueprint: s\nresources:\n  main:\n    kind: ec2.vpc\n    cidr_block: 10.0.0.0/16\n    check: { suppress: { INV002: \" public ALB needs it \" } }\n";
    let bp = load_text(ok, None, &[]).unwrap();
    assert_eq!(bp.instances[0].suppress["INV002"], "public ALB needs it");
}

#[test]
fn instance_lookup_stays_right_after_instances_are_edited() {
    let mut bp = load_text(NETWORK, Some("prod"), &[]).unwrap();
    let first = bp.instances[0].address.clone();
    let last = bp.instances.last().unwrap().address.clone();
    assert_eq!(bp.instance(&last).unwrap().address, last);
    assert!(bp.instance(&Address::single("nowhere")).is_none());
    // Edits after the index was built: a removal shifts positions, a push adds an address.
    let removed = bp.instances.remove(0);
    assert!(bp.instance(&first).is_none());
    assert_eq!(bp.instance(&last).unwrap().address, last);
    let mut added = removed.clone();
    added.address = Address::single("added");
    bp.instances.push(added);
    assert_eq!(
        bp.instance(&Address::single("added")).unwrap().kind,
        removed.kind
    );
}
