//! `account:` placement and `account_role:`: parsing, defaults, dependency edges and the
//! located errors of wrong values.

use super::*;
use crate::address::Address;
use crate::aws::{registry, AwsContext};
use serde_json::json;

const ORG: &str = r#"
blueprint: org
variables:
  workload_account: ""
environments:
  mgmt: {}
  prod: { workload_account: "222222222222" }
account: ${var.workload_account}
resources:
  org: { kind: organizations.organization, feature_set: ALL }
  accounts:
    kind: organizations.account
    for_each: { dev: dev@x.example, prod: prod@x.example }
    account_name: ${each.key}
    email: ${each.value}
    parent_id: ${org.root_id}
  dev_vpc:
    kind: ec2.vpc
    account: ${accounts["dev"].id}
    cidr_block: 10.1.0.0/16
  literal_vpc:
    kind: ec2.vpc
    account: "111111111111"
    cidr_block: 10.2.0.0/16
  default_vpc:
    kind: ec2.vpc
    cidr_block: 10.3.0.0/16
  home_vpc:
    kind: ec2.vpc
    account: null
    cidr_block: 10.4.0.0/16
"#;

fn load(text: &str, env: &str) -> Result<Blueprint, BlueprintErrors> {
    let options = LoadOptions {
        env: Some(env.into()),
        vars: Vec::new(),
    };
    parse("bp.yaml", text, &options, &registry(AwsContext::new(None)))
}

fn account_of(blueprint: &Blueprint, address: &str) -> Option<Tmpl> {
    let address: Address = address.parse().unwrap();
    blueprint.instance(&address).unwrap().account.clone()
}

#[test]
fn a_reference_places_the_resource_and_makes_the_account_a_dependency() {
    let bp = load(ORG, "prod").unwrap();
    let Some(Tmpl::Concat(parts)) = account_of(&bp, "dev_vpc") else {
        panic!("dev_vpc is placed by reference");
    };
    let [Part::Ref(r)] = parts.as_slice() else {
        panic!("one reference: {parts:?}");
    };
    assert_eq!(r.targets, vec![Address::keyed("accounts", "dev")]);
    let dev_vpc = bp.instance(&"dev_vpc".parse().unwrap()).unwrap();
    assert_eq!(dev_vpc.depends_on, vec![Address::keyed("accounts", "dev")]);
}

#[test]
fn literals_defaults_and_opting_out() {
    let bp = load(ORG, "prod").unwrap();
    assert_eq!(
        account_of(&bp, "literal_vpc"),
        Some(Tmpl::Lit(json!("111111111111")))
    );
    // The environment's variable picks the default account ...
    assert_eq!(
        account_of(&bp, "default_vpc"),
        Some(Tmpl::Lit(json!("222222222222")))
    );
    // ... but never for Organizations kinds, and `account: null` stays home.
    assert_eq!(account_of(&bp, "org"), None);
    assert_eq!(account_of(&bp, r#"accounts["prod"]"#), None);
    assert_eq!(account_of(&bp, "home_vpc"), None);
    // An empty default: the caller's account.
    let mgmt = load(ORG, "mgmt").unwrap();
    assert_eq!(account_of(&mgmt, "default_vpc"), None);
    assert_eq!(bp.account_role, DEFAULT_ACCOUNT_ROLE);
}

#[test]
fn an_unquoted_id_keeps_its_leading_zero() {
    let text = "blueprint: b\nresources:\n  v: { kind: ec2.vpc, cidr_block: 10.0.0.0/16, account: 012345678901 }\n";
    let bp = load_default(text).unwrap();
    assert_eq!(account_of(&bp, "v"), Some(Tmpl::Lit(json!("012345678901"))));
}

fn load_default(text: &str) -> Result<Blueprint, BlueprintErrors> {
    parse(
        "bp.yaml",
        text,
        &LoadOptions::default(),
        &registry(AwsContext::new(None)),
    )
}

fn first_error(text: &str) -> (usize, usize, String, Option<String>) {
    let err = load_default(text).expect_err("rejected");
    let d = err.diagnostics.into_iter().next().unwrap();
    (d.pos.line, d.pos.col, d.message, d.hint)
}

#[test]
fn wrong_accounts_are_located_with_a_hint() {
    let base = "blueprint: b\nresources:\n  main: { kind: ec2.vpc, cidr_block: 10.0.0.0/16 }\n  v:\n    kind: ec2.vpc\n    cidr_block: 10.1.0.0/16\n";
    let (line, col, message, hint) = first_error(&format!("{base}    account: \"12345\"\n"));
    assert_eq!((line, col), (7, 14), "{message}");
    assert!(message.contains("12-digit"), "{message}");
    assert!(hint.unwrap().contains("${prod.id}"));

    let (_, _, message, _) = first_error(&format!("{base}    account: ${{main.id}}\n"));
    assert!(
        message.contains("`main.id` of ec2.vpc") && message.contains("organizations.account"),
        "{message}"
    );
    let (_, _, message, _) = first_error(&format!("{base}    account: \"id-${{main.id}}\"\n"));
    assert!(message.contains("not text around it"), "{message}");
    let (_, _, message, _) = first_error(&format!("{base}    account: ${{nope.id}}\n"));
    assert!(message.contains("unknown resource `nope`"), "{message}");
}

#[test]
fn the_account_role_must_be_a_role_name() {
    let text = "blueprint: b\naccount_role: Ops Admin\nresources: {}\n";
    let (line, _, message, hint) = first_error(text);
    assert_eq!(line, 2);
    assert!(message.contains("IAM role name"), "{message}");
    assert!(hint.unwrap().contains(DEFAULT_ACCOUNT_ROLE));
    let named = load_default("blueprint: b\naccount_role: InnovateDeployer\nresources: {}\n");
    assert_eq!(named.unwrap().account_role, "InnovateDeployer");
}

#[test]
fn the_org_blueprint_places_every_workload_in_its_own_account() {
    let text = include_str!("../../plans/innovate-org.yaml");
    let bp = parse(
        "plans/innovate-org.yaml",
        text,
        &LoadOptions {
            env: None,
            vars: vec![("email_domain".into(), "innovate-inc.com".into())],
        },
        &registry(AwsContext::new(None)),
    )
    .unwrap_or_else(|e| panic!("{}", e.render()));
    for instance in &bp.instances {
        let placed = instance.account.as_ref().map(|t| t.references());
        if instance.kind.starts_with("organizations.") {
            assert!(placed.is_none(), "{} stays in management", instance.address);
            continue;
        }
        let env = instance.address.to_string();
        let env = if env.contains("dev") { "dev" } else { "prod" };
        let placed = placed.unwrap_or_else(|| panic!("{} is placed", instance.address));
        assert_eq!(
            placed,
            vec![&Address::keyed("workload", env)],
            "{}",
            instance.address
        );
    }
}
