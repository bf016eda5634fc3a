//! Commands that never call AWS: validate's located errors, graph output, exit codes.
//! Every command runs fenced off from AWS (`common::offline`).

mod common;

/// Runs innovate in `dir`, fenced off from AWS (`common::offline`): these commands must not
/// need credentials or an endpoint, and one that calls AWS anyway can never reach an account.
fn innovate(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = common::offline::command(dir, args)
        .output()
        .expect("run innovate");
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    (
        out.status.code().unwrap_or(-1),
        text(out.stdout),
        text(out.stderr),
    )
}

fn write(dir: &tempfile::TempDir, text: &str) -> String {
    std::fs::write(dir.path().join("bp.yaml"), text).unwrap();
    "bp.yaml".into()
}

#[test]
fn validate_reports_every_error_located_with_the_line_and_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(
        &dir,
        "blueprint: broken\nresources:\n  main:\n    kind: ec2.vpc\n    cidr: 10.0.0.0/16\n  net:\n    kind: ec2.subnet\n    vpc_id: ${main.idd}\n    cidr_block: 10.0.0.0/24\n",
    );
    let (code, stdout, stderr) = innovate(dir.path(), &["validate", &bp]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let expected_first = "error: resource `main` (ec2.vpc) is missing the required attribute `cidr_block`\n  --> bp.yaml:3:3\n  |\n3 |   main:\n  |   ^\n  = hint: add `cidr_block:` (an IPv4 CIDR block (like 10.0.0.0/16))\n";
    assert!(stderr.starts_with(expected_first), "{stderr}");
    assert!(
        stderr.contains("error: unknown attribute `cidr` for kind ec2.vpc\n  --> bp.yaml:5:5\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("  = hint: did you mean `cidr_block`?"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: ec2.vpc `main` has no attribute `idd`\n  --> bp.yaml:8:13"),
        "{stderr}"
    );
    assert!(
        stderr.trim_end().ends_with("3 errors in bp.yaml"),
        "{stderr}"
    );
}

#[test]
fn validate_names_every_resource_on_a_dependency_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(
        &dir,
        "blueprint: loop\nresources:\n  a: { kind: ec2.vpc, cidr_block: 10.0.0.0/16, depends_on: [c] }\n  b: { kind: ec2.vpc, cidr_block: 10.1.0.0/16, depends_on: [a] }\n  c: { kind: ec2.vpc, cidr_block: 10.2.0.0/16, depends_on: [b] }\n",
    );
    let (code, _, stderr) = innovate(dir.path(), &["validate", &bp]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("error: dependency cycle: a -> b -> c -> a"),
        "{stderr}"
    );
    assert!(stderr.contains("--> bp.yaml:3:3"), "{stderr}");
}

#[test]
fn a_valid_blueprint_validates_and_graphs_without_aws() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(
        &dir,
        "blueprint: ok\nresources:\n  main: { kind: ec2.vpc, cidr_block: 10.0.0.0/16 }\n  net: { kind: ec2.subnet, count: 2, vpc_id: \"${main.id}\", cidr_block: \"10.0.${count.index}.0/24\" }\n",
    );
    let (code, stdout, stderr) = innovate(dir.path(), &["validate", &bp]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("3 resource instances"), "{stdout}");
    let (code, dot, _) = innovate(dir.path(), &["graph", &bp]);
    assert_eq!(code, 0);
    assert!(dot.starts_with("digraph \"ok\" {"), "{dot}");
    assert!(
        dot.contains("\"main\" -> \"net[0]\";") && dot.contains("\"main\" -> \"net[1]\";"),
        "{dot}"
    );
    let (code, mermaid, _) = innovate(dir.path(), &["graph", &bp, "--format", "mermaid"]);
    assert_eq!(code, 0);
    assert!(mermaid.starts_with("flowchart LR"), "{mermaid}");
}

#[test]
fn a_corrupted_state_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(
        &dir,
        "blueprint: st\nresources:\n  main: { kind: ec2.vpc, cidr_block: 10.0.0.0/16 }\n",
    );
    std::fs::create_dir(dir.path().join("state")).unwrap();
    let state = dir.path().join("state/st-default.json");
    std::fs::write(
        &state,
        "{\"format\": \"innovate-state\", \"version\": 1, \"ser",
    )
    .unwrap();
    let (code, _, stderr) = innovate(dir.path(), &["plan", &bp]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("is corrupted") && stderr.contains("will not use or overwrite it"),
        "{stderr}"
    );
    let (code, _, _) = innovate(dir.path(), &["apply", &bp, "--auto-approve"]);
    assert_eq!(code, 1);
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "{\"format\": \"innovate-state\", \"version\": 1, \"ser"
    );
}

#[test]
fn state_show_rm_and_mv_edit_the_state_under_its_lock() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(&dir, "blueprint: st\nresources:\n  net: { kind: ec2.vpc, cidr_block: 10.0.0.0/16 }\n  sub: { kind: ec2.subnet, vpc_id: \"${net.id}\", cidr_block: 10.0.0.0/24 }\n");
    std::fs::create_dir(dir.path().join("state")).unwrap();
    let state_file = dir.path().join("state/st-default.json");
    let state = serde_json::json!({
        "format": "innovate-state", "version": 1, "serial": 4, "lineage": "l-1", "blueprint": "st", "env": "default",
        "resources": {
            "main": { "kind": "ec2.vpc", "id": "vpc-1", "attrs": { "cidr_block": "10.0.0.0/16" } },
            "sub": { "kind": "ec2.subnet", "id": "subnet-1", "attrs": {}, "depends_on": ["main"] },
            "old": { "kind": "ec2.vpc", "id": "vpc-2", "attrs": {} }
        }
    });
    std::fs::write(&state_file, state.to_string()).unwrap();
    let read = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap()
    };

    let (code, shown, _) = innovate(dir.path(), &["state", "show", &bp, "sub"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&shown).unwrap()["id"],
        "subnet-1"
    );

    let (code, _, _) = innovate(dir.path(), &["state", "mv", &bp, "main", "net"]);
    assert_eq!(code, 0);
    let after = read();
    assert_eq!(after["resources"]["net"]["id"], "vpc-1");
    assert!(after["resources"].get("main").is_none());
    assert_eq!(
        after["resources"]["sub"]["depends_on"],
        serde_json::json!(["net"]),
        "dependencies follow the rename"
    );
    assert_eq!(after["serial"], 5);

    let (code, _, stderr) = innovate(dir.path(), &["state", "mv", &bp, "old", "net"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("net already exists"), "{stderr}");
    let (code, _, _) = innovate(dir.path(), &["state", "rm", &bp, "old"]);
    assert_eq!(code, 0);
    let (code, listed, _) = innovate(dir.path(), &["state", "list", &bp]);
    assert_eq!(code, 0);
    assert_eq!(listed, "net\nsub\n");
    let (code, _, stderr) = innovate(dir.path(), &["state", "rm", &bp, "ghost"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("ghost is not in the state"), "{stderr}");
    assert_eq!(read()["serial"], 6, "a refused edit writes nothing");
}

/// A small estate with something of every priced kind, for `cost` and `plan`'s cost line.
const PRICED: &str = r#"blueprint: priced
variables: { nodes: 2 }
environments: { dev: {}, prod: { nodes: 4 } }
resources:
  main: { kind: ec2.vpc, cidr_block: 10.0.0.0/16 }
  ip: { kind: ec2.elastic_ip }
  nat: { kind: ec2.nat_gateway, subnet_id: subnet-1, allocation_id: "${ip.id}" }
  cluster: { kind: eks.cluster, name: c, role_arn: "arn:aws:iam::1:role/c", subnet_ids: [subnet-1] }
  nodes:
    kind: eks.nodegroup
    cluster_name: ${cluster.name}
    name: n
    node_role_arn: arn:aws:iam::1:role/n
    subnet_ids: [subnet-1]
    instance_types: [t3.medium]
    scaling: { min_size: 1, desired_size: "${var.nodes}", max_size: 5 }
  odd:
    kind: eks.nodegroup
    cluster_name: ${cluster.name}
    name: odd
    node_role_arn: arn:aws:iam::1:role/n
    subnet_ids: [subnet-1]
    instance_types: [z1d.large]
    scaling: { min_size: 1, desired_size: 1, max_size: 1 }
  db:
    kind: rds.db_instance
    identifier: db
    engine: postgres
    instance_class: db.t4g.medium
    allocated_storage: 100
    multi_az: true
"#;

#[test]
fn cost_prints_each_instance_the_unpriced_and_the_total_per_environment() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(&dir, PRICED);
    let (code, dev, stderr) = innovate(dir.path(), &["cost", &bp, "--env", "dev"]);
    assert_eq!(code, 0, "{stderr}");
    // 73 (EKS) + 32.85 (NAT) + 3.65 (IP) + 2 × (30.368 + 1.60) (nodes) + 117.90 (DB)
    assert!(dev.contains("\nTotal: $291.34/month\n"), "{dev}");
    assert!(
        dev.contains("   $63.94  nodes (eks.nodegroup): 2 × t3.medium on-demand"),
        "{dev}"
    );
    assert!(dev.contains("    $0.00  main (ec2.vpc): free\n"), "{dev}");
    assert!(
        dev.contains("not priced: odd: instance type z1d.large is not in the price table\n"),
        "{dev}"
    );
    assert!(dev.contains("spot nodes at 60% below on-demand"), "{dev}");
    let (code, prod, _) = innovate(dir.path(), &["cost", &bp, "--env", "prod"]);
    assert_eq!(code, 0);
    assert!(prod.contains("\nTotal: $355.27/month\n"), "{prod}");

    let (code, json, _) = innovate(dir.path(), &["cost", &bp, "--env", "dev", "--json"]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["total_monthly"], serde_json::json!(291.34));
    assert_eq!(json["not_priced"][0]["address"], "odd");
    assert_eq!(json["assumptions"]["price_table_date"], "2026-06-01");
}

#[test]
fn cost_of_an_invalid_blueprint_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(
        &dir,
        "blueprint: x\nresources:\n  main: { kind: ec2.vpc }\n",
    );
    let (code, _, stderr) = innovate(dir.path(), &["cost", &bp]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("missing the required attribute `cidr_block`"),
        "{stderr}"
    );
}

#[test]
fn plan_shows_the_monthly_cost_change_from_the_state_to_the_blueprint() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(
        &dir,
        "blueprint: st\nresources:\n  ip: { kind: ec2.elastic_ip, count: 3 }\n  nat: { kind: ec2.nat_gateway, subnet_id: subnet-1, allocation_id: \"${ip[0].id}\" }\n",
    );
    std::fs::create_dir(dir.path().join("state")).unwrap();
    let state = serde_json::json!({
        "format": "innovate-state", "version": 1, "serial": 1, "lineage": "l-1", "blueprint": "st", "env": "default",
        "resources": { "ip[0]": { "kind": "ec2.elastic_ip", "id": "eipalloc-1", "attrs": { "domain": "vpc" } } }
    });
    std::fs::write(dir.path().join("state/st-default.json"), state.to_string()).unwrap();
    let (code, text, stderr) = innovate(dir.path(), &["plan", &bp, "--refresh=false"]);
    assert_eq!(code, 0, "{stderr}");
    // two more addresses (2 × 3.65) and a NAT gateway (32.85)
    assert!(
        text.contains("\nMonthly cost: +$40.15 (from $3.65 to $43.80)\n"),
        "{text}"
    );
    let (code, json, _) = innovate(dir.path(), &["plan", &bp, "--refresh=false", "--json"]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["cost"]["monthly_delta"], serde_json::json!(40.15));
    assert_eq!(json["cost"]["monthly_before"], serde_json::json!(3.65));
}

/// An internet-facing group with SSH open, and a database that is fine.
const CHECKED: &str = r#"blueprint: checked
resources:
  bastion:
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
"#;

#[test]
fn check_exits_2_on_a_finding_and_shows_the_located_line_and_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(&dir, CHECKED);
    let (code, out, stderr) = innovate(dir.path(), &["check", &bp]);
    assert_eq!(code, 2, "{out}{stderr}");
    let expected = "high[INV002]: bastion (ingress from 0.0.0.0/0 to a port other than 80/443): ingress allows 0.0.0.0/0 to tcp port 22\n  --> bp.yaml:8:9\n  |\n8 |       - { protocol: tcp, from_port: 22, to_port: 22, cidr_blocks: [\"0.0.0.0/0\"] }\n  |         ^\n  = hint: narrow cidr_blocks";
    assert!(out.starts_with(expected), "{out}");
    assert!(
        out.ends_with("1 finding at or above low (1 high) in bp.yaml, env default.\n"),
        "{out}"
    );
    let (code, json, _) = innovate(dir.path(), &["check", &bp, "--json"]);
    assert_eq!(code, 2);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["findings"][0]["rule"], "INV002");
    assert_eq!(json["findings"][0]["severity"], "high");
    assert_eq!(json["findings"][0]["line"], 8);
}

#[test]
fn check_exits_0_below_the_severity_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(&dir, CHECKED);
    let (code, out, _) = innovate(dir.path(), &["check", &bp, "--severity", "critical"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        "No findings at or above critical in bp.yaml, env default; 1 below the threshold.\n"
    );
    let (code, _, stderr) = innovate(dir.path(), &["check", &bp, "--severity", "urgent"]);
    assert_eq!(
        code, 1,
        "a usage error is an error, never 'findings present'"
    );
    assert!(stderr.contains("not a severity"), "{stderr}");
}

#[test]
fn a_reasoned_suppression_passes_the_check_and_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let text = CHECKED.replace(
        "    vpc_id: vpc-1\n",
        "    vpc_id: vpc-1\n    check: { suppress: { INV002: \"break-glass SSH until the VPN exists\" } }\n",
    );
    let bp = write(&dir, &text);
    let (code, out, stderr) = innovate(dir.path(), &["check", &bp]);
    assert_eq!(code, 0, "{out}{stderr}");
    assert!(
        out.contains("suppressed: INV002 on bastion: break-glass SSH until the VPN exists\n"),
        "{out}"
    );
    assert!(out.ends_with("; 1 suppressed.\n"), "{out}");
}

#[test]
fn a_suppression_without_a_reason_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = CHECKED.replace(
        "    vpc_id: vpc-1\n",
        "    vpc_id: vpc-1\n    check: { suppress: { INV002: \"\" } }\n",
    );
    let bp = write(&dir, &text);
    let (code, out, stderr) = innovate(dir.path(), &["check", &bp]);
    assert_eq!(code, 1, "{out}");
    assert!(
        stderr.contains("error: the suppression of INV002 needs a reason\n  --> bp.yaml:6:"),
        "{stderr}"
    );
}

#[test]
fn the_innovate_estate_passes_check_in_prod() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, out, stderr) = innovate(
        root,
        &[
            "check",
            "plans/innovate.yaml",
            "--env",
            "prod",
            "--severity",
            "high",
        ],
    );
    assert_eq!(code, 0, "{out}{stderr}");
    assert!(out.starts_with("No findings at or above high"), "{out}");
}

/// The shipped blueprints default nothing that only the user can know: each such variable
/// is required, and leaving it out says what it is and how to pass it. The workload estate
/// makes its own keys and needs nothing; the organization needs the user's mail domain.
#[test]
fn the_shipped_blueprints_require_the_values_only_the_user_knows() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, out, stderr) = innovate(root, &["validate", "plans/innovate-org.yaml"]);
    assert_eq!(code, 1, "{out}{stderr}");
    assert!(
        stderr.starts_with(
            "error: variable `email_domain` is required and has no value: a domain you own"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("= hint: pass `--var email_domain=VALUE`\n"),
        "{stderr}"
    );
    for args in [
        &["plans/innovate.yaml", "--env", "dev"][..],
        &["plans/innovate.yaml", "--env", "prod"][..],
        &[
            "plans/innovate-org.yaml",
            "--env",
            "default",
            "--var",
            "email_domain=innovate-inc.com",
        ][..],
    ] {
        let (code, out, stderr) = innovate(root, &[&["validate"][..], args].concat());
        assert_eq!(code, 0, "{args:?}: {out}{stderr}");
    }
}

#[test]
fn graph_groups_instances_by_tier() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(&dir, CHECKED);
    let (code, dot, _) = innovate(dir.path(), &["graph", &bp]);
    assert_eq!(code, 0);
    assert!(
        dot.contains("  subgraph \"cluster_rds\" {\n    label=\"database (rds)\";"),
        "{dot}"
    );
    let (code, mermaid, _) = innovate(dir.path(), &["graph", &bp, "--format", "mermaid"]);
    assert_eq!(code, 0);
    assert!(
        mermaid.contains("  subgraph tier_ec2[\"network (ec2)\"]\n    n0[\"bastion<br/>ec2.security_group\"]\n  end\n"),
        "{mermaid}"
    );
}

#[test]
fn plan_warns_with_check_findings_at_or_above_high_without_changing_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(&dir, CHECKED);
    let (code, text, stderr) = innovate(
        dir.path(),
        &["plan", &bp, "--refresh=false", "--detailed-exitcode"],
    );
    assert_eq!(code, 2, "changes present, findings or not: {stderr}");
    let warning = "warning: high[INV002] bastion at bp.yaml:8: ingress allows 0.0.0.0/0 to tcp port 22 (hint: narrow cidr_blocks";
    assert!(text.contains(warning), "{text}");
    assert_eq!(text.matches("warning: ").count(), 1, "{text}");
    let (code, json, _) = innovate(dir.path(), &["plan", &bp, "--refresh=false", "--json"]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let warnings = json["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{json}");
    assert_eq!(warnings[0]["rule"], "INV002");
    assert_eq!(warnings[0]["address"], "bastion");
    assert_eq!(warnings[0]["line"], 8);
}

#[test]
fn plan_honours_check_suppressions_and_shows_no_warning_below_high() {
    let dir = tempfile::tempdir().unwrap();
    let text = CHECKED.replace(
        "    vpc_id: vpc-1\n",
        "    vpc_id: vpc-1\n    check: { suppress: { INV002: \"break-glass SSH until the VPN exists\" } }\n",
    );
    let bp = write(&dir, &text);
    let (code, text, stderr) = innovate(dir.path(), &["plan", &bp, "--refresh=false"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(text.contains("Plan: 2 to add"), "{text}");
    assert!(!text.contains("warning:"), "{text}");
    let (_, json, _) = innovate(dir.path(), &["plan", &bp, "--refresh=false", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["warnings"], serde_json::json!([]));
}

#[test]
fn completions_cover_every_subcommand_and_help_shows_examples() {
    let dir = tempfile::tempdir().unwrap();
    let (code, bash, stderr) = innovate(dir.path(), &["completions", "bash"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(bash.contains("complete -F _innovate"), "{bash}");
    for command in [
        "plan",
        "apply",
        "destroy",
        "graph",
        "check",
        "completions",
        "force-unlock",
    ] {
        assert!(
            bash.contains(command),
            "no `{command}` in the bash completions"
        );
    }
    for shell in ["zsh", "fish", "powershell"] {
        let (code, script, _) = innovate(dir.path(), &["completions", shell]);
        assert_eq!(code, 0);
        assert!(script.contains("destroy"), "{shell}: {script}");
    }
    let (code, help, _) = innovate(dir.path(), &["plan", "--help"]);
    assert_eq!(code, 0);
    assert!(
        help.contains("Examples:\n  innovate plan plans/innovate.yaml --env prod\n"),
        "{help}"
    );
}

#[test]
fn graph_plan_colours_nodes_by_action_from_the_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(
        &dir,
        "blueprint: st\nresources:\n  main: { kind: ec2.vpc, cidr_block: 10.0.0.0/16 }\n  net: { kind: ec2.subnet, vpc_id: \"${main.id}\", cidr_block: 10.0.1.0/24 }\n  ip: { kind: ec2.elastic_ip }\n",
    );
    std::fs::create_dir(dir.path().join("state")).unwrap();
    let state = serde_json::json!({
        "format": "innovate-state", "version": 1, "serial": 1, "lineage": "l-1", "blueprint": "st", "env": "default",
        "resources": {
            "main": { "kind": "ec2.vpc", "id": "vpc-1", "attrs": { "cidr_block": "10.9.0.0/16" } },
            "ip": { "kind": "ec2.elastic_ip", "id": "eipalloc-1", "attrs": { "domain": "vpc", "tags": {} },
                    "owner": { "innovate:lineage": "l-1" } },
            "old": { "kind": "ec2.elastic_ip", "id": "eipalloc-2", "attrs": { "domain": "vpc" } }
        }
    });
    std::fs::write(dir.path().join("state/st-default.json"), state.to_string()).unwrap();
    let (code, dot, stderr) = innovate(dir.path(), &["graph", &bp, "--plan"]);
    assert_eq!(code, 0, "{stderr}");
    let fill = |address: &str| {
        let line = dot
            .lines()
            .find(|l| {
                l.trim_start()
                    .starts_with(&format!("\"{address}\" [label="))
            })
            .unwrap_or_else(|| panic!("no node {address}: {dot}"));
        line.split("fillcolor=\"").nth(1).unwrap()[..7].to_string()
    };
    assert_eq!(fill("main"), "#f4a3a3", "cidr_block forces a replace: red");
    assert_eq!(fill("net"), "#b7e4c7", "a create: green");
    assert_eq!(fill("old"), "#f4a3a3", "a delete: red");
    assert_eq!(fill("ip"), "#e0e0e0", "no change: grey");
    assert!(
        dot.contains("label=\"removed from the blueprint\""),
        "{dot}"
    );
    let (code, mermaid, _) = innovate(
        dir.path(),
        &[
            "graph",
            &bp,
            "--plan",
            "--format",
            "mermaid",
            "--refresh=false",
        ],
    );
    assert_eq!(code, 1, "graph has no --refresh: it never reads AWS");
    assert!(mermaid.is_empty());
    let (code, mermaid, _) = innovate(dir.path(), &["graph", &bp, "--plan", "--format", "mermaid"]);
    assert_eq!(code, 0);
    assert!(
        mermaid.contains("  classDef create fill:#b7e4c7\n"),
        "{mermaid}"
    );
}

#[test]
fn graph_groups_by_account_or_subnet_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(
        &dir,
        "blueprint: g\nresources:\n  main: { kind: ec2.vpc, cidr_block: 10.0.0.0/16 }\n  net: { kind: ec2.subnet, vpc_id: \"${main.id}\", cidr_block: 10.0.1.0/24 }\n  ip: { kind: ec2.elastic_ip }\n  nat: { kind: ec2.nat_gateway, subnet_id: \"${net.id}\", allocation_id: \"${ip.id}\" }\n  far: { kind: ec2.vpc, cidr_block: 10.1.0.0/16, account: \"123456789012\" }\n",
    );
    let (code, dot, stderr) = innovate(dir.path(), &["graph", &bp, "--group", "subnet"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        dot.contains("    label=\"subnet net\";\n    style=rounded;\n    color=gray60;\n    \"nat\" [label=\"nat\\nec2.nat_gateway\"];\n    \"net\" [label=\"net\\nec2.subnet\"];\n  }\n"),
        "{dot}"
    );
    let (code, dot, _) = innovate(dir.path(), &["graph", &bp, "--group", "account"]);
    assert_eq!(code, 0);
    assert!(
        dot.contains("    label=\"account 123456789012\";\n    style=rounded;\n    color=gray60;\n    \"far\" [label=\"far\\nec2.vpc\"];\n  }\n"),
        "{dot}"
    );
    assert!(dot.contains("label=\"caller's account\""), "{dot}");
}

#[test]
fn every_unknown_target_is_named_in_one_error() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(
        &dir,
        "blueprint: targets\nresources:\n  ip: { kind: ec2.elastic_ip, count: 2 }\n",
    );
    let (code, _, stderr) = innovate(
        dir.path(),
        &[
            "plan",
            &bp,
            "--refresh=false",
            "--target",
            "ip[1]",
            "--target",
            "nope",
            "--target",
            "ip[7]",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    for unknown in ["nope", "ip[7]"] {
        assert!(
            stderr.contains(&format!(
                "--target {unknown}: no such resource instance in the blueprint or the state"
            )),
            "{stderr}"
        );
    }
    assert!(!stderr.contains("--target ip[1]:"), "{stderr}");
}

/// What AWS enforces on values, checked by the real kinds' declarations before any call: an
/// out-of-range port (in a nested rule), `allocated_storage: 0`, an unknown enum value with
/// did-you-mean, a `count` over the bound, all in one run, each located.
#[test]
fn validate_rejects_values_aws_would_refuse_each_located() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(
        &dir,
        r#"blueprint: rules
resources:
  main: { kind: ec2.vpc, cidr_block: 10.0.0.0/16 }
  web:
    kind: ec2.security_group
    vpc_id: ${main.id}
    description: web
    ingress:
      - { protocol: tcp, from_port: 70000, to_port: 70000, cidr_blocks: [10.0.0.0/8] }
  db:
    kind: rds.db_instance
    identifier: app
    engine: postgres
    instance_class: db.t4g.micro
    allocated_storage: 0
  workers:
    kind: eks.nodegroup
    cluster_name: c
    name: workers
    node_role_arn: ${main.id}
    subnet_ids: [a, b]
    instance_types: [t3.medium]
    capacity_type: SPOTT
    scaling: { min_size: 1, desired_size: 1, max_size: 2 }
  many:
    kind: ec2.vpc
    count: 1001
    cidr_block: 10.1.0.0/16
"#,
    );
    let (code, stdout, stderr) = innovate(dir.path(), &["validate", &bp]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    for (message, at, hint) in [
        (
            "70000 is out of range",
            "bp.yaml:9:",
            "must be from -1 to 65535",
        ),
        (
            "0 is out of range",
            "bp.yaml:15:24",
            "must be from 20 to 65536",
        ),
        (
            "`SPOTT` is not one of the allowed values",
            "bp.yaml:23:20",
            "did you mean `SPOT`?",
        ),
        ("", "bp.yaml:27:12", "1000"),
    ] {
        let found = stderr
            .split("\nerror")
            .any(|error| error.contains(message) && error.contains(at) && error.contains(hint));
        assert!(
            found,
            "no error `{message}` at {at} with `{hint}`:\n{stderr}"
        );
    }
    assert!(
        stderr.trim_end().ends_with("5 errors in bp.yaml"),
        "{stderr}"
    );
}

/// EC2-Classic is retired: a `standard` Elastic IP, which AWS no longer offers, is refused
/// before any call.
#[test]
fn validate_rejects_an_ec2_classic_elastic_ip() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(
        &dir,
        "blueprint: classic\nresources:\n  ip: { kind: ec2.elastic_ip, domain: standard }\n",
    );
    let (code, stdout, stderr) = innovate(dir.path(), &["validate", &bp]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("`standard` is not one of the allowed values")
            && stderr.contains("bp.yaml:3:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("vpc"),
        "the allowed value is named: {stderr}"
    );
}

#[test]
fn validate_rejects_an_empty_blueprint_file_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(&dir, "# nothing here yet\n");
    let (code, stdout, stderr) = innovate(dir.path(), &["validate", &bp]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stderr.contains("the blueprint is empty"), "{stderr}");
    assert!(stderr.contains("bp.yaml:1:1"), "{stderr}");
}

/// Placeholders that pass `validate` but fail on AWS: `check` names each at its line, with
/// a hint, and exits 2.
#[test]
fn check_flags_placeholder_accounts_reserved_domains_and_foreign_zones() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(
        &dir,
        "blueprint: placeholders\nregion: ap-northeast-1\nvariables:\n  trusted: \"123456789012\"\nresources:\n  net:\n    kind: ec2.subnet\n    vpc_id: vpc-1\n    cidr_block: 10.0.0.0/24\n    availability_zone: ap-northeast-1b\n  prod:\n    kind: organizations.account\n    account_name: prod\n    email: aws-prod@innovate.example\n    parent_id: r-abcd\n",
    );
    let (code, out, stderr) = innovate(dir.path(), &["check", &bp]);
    assert_eq!(code, 2, "{out}{stderr}");
    for expected in [
        "high[INV011]: var.trusted (placeholder AWS account id): variable `trusted` holds the placeholder account 123456789012\n  --> bp.yaml:4:12\n",
        "high[INV013]: net (availability zone the region does not have): ap-northeast-1 has no zone `ap-northeast-1b` (it offers ap-northeast-1a, ap-northeast-1c, ap-northeast-1d)\n  --> bp.yaml:10:5\n",
        "high[INV012]: prod (e-mail or domain under a reserved domain): `email` uses `innovate.example`, under the reserved domain `.example`: no mail is ever delivered there\n  --> bp.yaml:14:5\n",
        "= hint: use a domain you own",
        "3 findings at or above low (3 high) in bp.yaml, env default.",
    ] {
        assert!(out.contains(expected), "{expected}\n--- in\n{out}");
    }
}

/// The fence itself: a command that does call AWS (drift lists what carries the estate's
/// tags) fails at the closed loopback endpoint with the made-up credentials, at once,
/// instead of reaching whatever account the machine's own credentials name.
#[test]
fn a_call_that_slips_through_fails_at_the_closed_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(
        &dir,
        "blueprint: fenced\nresources:\n  main: { kind: ec2.vpc, cidr_block: 10.0.0.0/16 }\n",
    );
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = innovate(dir.path(), &["drift", &bp]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "one attempt, no retries: took {:?}",
        started.elapsed()
    );
    assert!(
        stderr.contains("ec2:DescribeVpcs failed") && stderr.contains("Connection refused"),
        "the call went to the closed endpoint and was refused: {stderr}"
    );
}
