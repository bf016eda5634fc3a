//! The network tier end to end: the real `innovate` binary against a real emulator process,
//! checked through the real AWS SDK.

mod common;

use aws_sdk_ec2::types::Filter;
use common::cli::Workspace;
use common::emulator::sdk_config;

async fn ec2() -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&sdk_config().await)
}

fn tag_filter(blueprint: &str) -> Filter {
    Filter::builder()
        .name("tag:innovate:blueprint")
        .values(blueprint)
        .build()
}

/// A small network: VPC, two private subnets, IGW, public route table, two security groups.
fn network(name: &str, vpc_tag: &str, subnet_cidrs: [&str; 2], with_app: bool) -> String {
    let app = if with_app {
        r#"
  app:
    kind: ec2.security_group
    vpc_id: ${main.id}
    description: app
    ingress:
      - { protocol: tcp, from_port: 8080, to_port: 8080, security_groups: ["${alb.id}"] }
"#
    } else {
        ""
    };
    format!(
        r#"
blueprint: {name}
region: us-east-1
variables:
  cidrs: ["{c0}", "{c1}"]
resources:
  main:
    kind: ec2.vpc
    cidr_block: 10.20.0.0/16
    enable_dns_hostnames: true
    tags: {{ Name: "{vpc_tag}", team: platform }}
  private:
    kind: ec2.subnet
    count: 2
    vpc_id: ${{main.id}}
    cidr_block: ${{var.cidrs[count.index]}}
    availability_zone: us-east-1a
  gw:
    kind: ec2.internet_gateway
    vpc_id: ${{main.id}}
  routes:
    kind: ec2.route_table
    vpc_id: ${{main.id}}
    routes:
      - {{ destination_cidr_block: 0.0.0.0/0, gateway_id: "${{gw.id}}" }}
    subnet_ids: ${{private[*].id}}
  alb:
    kind: ec2.security_group
    vpc_id: ${{main.id}}
    description: alb
    ingress:
      - {{ protocol: tcp, from_port: 443, to_port: 443, cidr_blocks: ["0.0.0.0/0"] }}
{app}
outputs:
  vpc_id: ${{main.id}}
  subnet_ids: ${{private[*].id}}
"#,
        c0 = subnet_cidrs[0],
        c1 = subnet_cidrs[1],
    )
}

#[tokio::test]
async fn apply_replan_change_and_destroy_a_network() {
    let ws = Workspace::new();
    let name = "lifecycle";
    let blueprint = ws.write_blueprint(&network(
        name,
        "first",
        ["10.20.1.0/24", "10.20.2.0/24"],
        true,
    ));
    let bp = blueprint.to_str().unwrap();

    let applied = ws.run(&["apply", bp, "--auto-approve"]).expect(0);
    assert!(
        applied
            .stdout()
            .contains("Apply complete! Resources: 7 added, 0 changed, 0 destroyed."),
        "{}",
        applied.stdout()
    );

    // Everything exists in AWS with the blueprint's attributes and innovate's tags.
    let client = ec2().await;
    let vpcs = client
        .describe_vpcs()
        .filters(tag_filter(name))
        .send()
        .await
        .unwrap()
        .vpcs
        .unwrap_or_default();
    assert_eq!(
        vpcs.len(),
        1,
        "exactly one VPC carries this blueprint's tag"
    );
    let vpc = &vpcs[0];
    let vpc_id = vpc.vpc_id().unwrap().to_string();
    assert_eq!(vpc.cidr_block(), Some("10.20.0.0/16"));
    let tags: std::collections::BTreeMap<_, _> = vpc
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
        .collect();
    assert_eq!(tags.get("Name").map(String::as_str), Some("first"));
    assert_eq!(
        tags.get("innovate:env").map(String::as_str),
        Some("default")
    );
    assert_eq!(
        tags.get("innovate:address").map(String::as_str),
        Some("main")
    );
    let hostnames = client
        .describe_vpc_attribute()
        .vpc_id(&vpc_id)
        .attribute("enableDnsHostnames".into())
        .send()
        .await
        .unwrap();
    assert_eq!(
        hostnames.enable_dns_hostnames().and_then(|a| a.value()),
        Some(true)
    );

    let vpc_filter = Filter::builder().name("vpc-id").values(&vpc_id).build();
    let subnets = client
        .describe_subnets()
        .filters(vpc_filter.clone())
        .send()
        .await
        .unwrap()
        .subnets
        .unwrap_or_default();
    let mut cidrs: Vec<_> = subnets
        .iter()
        .map(|s| s.cidr_block().unwrap().to_string())
        .collect();
    cidrs.sort();
    assert_eq!(cidrs, ["10.20.1.0/24", "10.20.2.0/24"]);
    let old_second_subnet = subnets
        .iter()
        .find(|s| s.cidr_block() == Some("10.20.2.0/24"))
        .unwrap()
        .subnet_id()
        .unwrap()
        .to_string();

    let igws = client
        .describe_internet_gateways()
        .filters(tag_filter(name))
        .send()
        .await
        .unwrap()
        .internet_gateways
        .unwrap_or_default();
    assert_eq!(
        igws[0].attachments()[0].vpc_id(),
        Some(vpc_id.as_str()),
        "the internet gateway is attached"
    );

    let tables = client
        .describe_route_tables()
        .filters(tag_filter(name))
        .send()
        .await
        .unwrap()
        .route_tables
        .unwrap_or_default();
    assert_eq!(tables.len(), 1);
    let igw_id = igws[0].internet_gateway_id().unwrap();
    assert!(
        tables[0]
            .routes()
            .iter()
            .any(|r| r.destination_cidr_block() == Some("0.0.0.0/0")
                && r.gateway_id() == Some(igw_id))
    );
    assert_eq!(
        tables[0]
            .associations()
            .iter()
            .filter(|a| a.subnet_id().is_some())
            .count(),
        2
    );

    let groups = client
        .describe_security_groups()
        .filters(tag_filter(name))
        .send()
        .await
        .unwrap()
        .security_groups
        .unwrap_or_default();
    let alb = groups
        .iter()
        .find(|g| g.description() == Some("alb"))
        .expect("alb group");
    let app = groups
        .iter()
        .find(|g| g.description() == Some("app"))
        .expect("app group");
    let from_alb = &app.ip_permissions()[0];
    assert_eq!(
        (from_alb.from_port(), from_alb.to_port()),
        (Some(8080), Some(8080))
    );
    assert_eq!(from_alb.user_id_group_pairs()[0].group_id(), alb.group_id());

    // Outputs are readable.
    let output = ws.run(&["output", bp, "vpc_id"]).expect(0);
    assert_eq!(output.stdout().trim(), vpc_id);

    // Nothing changed: plan is empty and says so with exit 0.
    let replan = ws.run(&["plan", bp, "--detailed-exitcode"]).expect(0);
    assert!(
        replan.stdout().contains("No changes."),
        "{}",
        replan.stdout()
    );

    // A tag (update in place), a subnet CIDR (replace) and a removed group (delete).
    ws.write_blueprint(&network(
        name,
        "second",
        ["10.20.1.0/24", "10.20.3.0/24"],
        false,
    ));
    let planned = ws.run(&["plan", bp, "--detailed-exitcode"]).expect(2);
    let text = planned.stdout();
    assert!(
        text.contains("  ~ main (ec2.vpc) will be updated in place"),
        "{text}"
    );
    assert!(
        text.contains(
            "-/+ private[1] (ec2.subnet) must be replaced (cidr_block forces replacement)"
        ),
        "{text}"
    );
    assert!(
        text.contains("  - app (ec2.security_group) will be destroyed"),
        "{text}"
    );
    assert!(
        text.contains("Plan: 1 to add, 2 to change, 2 to destroy."),
        "{text}"
    );

    ws.run(&["apply", bp, "--auto-approve"]).expect(0);
    let vpc_after = client
        .describe_vpcs()
        .vpc_ids(&vpc_id)
        .send()
        .await
        .unwrap()
        .vpcs
        .unwrap_or_default();
    assert!(
        vpc_after[0]
            .tags()
            .iter()
            .any(|t| t.key() == Some("Name") && t.value() == Some("second")),
        "tag updated in place"
    );
    let subnets = client
        .describe_subnets()
        .filters(vpc_filter.clone())
        .send()
        .await
        .unwrap()
        .subnets
        .unwrap_or_default();
    let mut cidrs: Vec<_> = subnets
        .iter()
        .map(|s| s.cidr_block().unwrap().to_string())
        .collect();
    cidrs.sort();
    assert_eq!(cidrs, ["10.20.1.0/24", "10.20.3.0/24"]);
    assert!(
        subnets
            .iter()
            .all(|s| s.subnet_id() != Some(old_second_subnet.as_str())),
        "the old subnet is gone"
    );
    let groups = client
        .describe_security_groups()
        .filters(tag_filter(name))
        .send()
        .await
        .unwrap()
        .security_groups
        .unwrap_or_default();
    assert_eq!(groups.len(), 1, "only alb is left");
    ws.run(&["plan", bp, "--detailed-exitcode"]).expect(0);

    // Destroy leaves nothing behind.
    let destroyed = ws.run(&["destroy", bp, "--auto-approve"]).expect(0);
    assert!(
        destroyed.stdout().contains("6 destroyed"),
        "{}",
        destroyed.stdout()
    );
    let left = client
        .describe_vpcs()
        .filters(tag_filter(name))
        .send()
        .await
        .unwrap()
        .vpcs
        .unwrap_or_default();
    assert!(left.is_empty());
    let left = client
        .describe_subnets()
        .filters(vpc_filter)
        .send()
        .await
        .unwrap()
        .subnets
        .unwrap_or_default();
    assert!(left.is_empty());
    let left = client
        .describe_internet_gateways()
        .filters(tag_filter(name))
        .send()
        .await
        .unwrap()
        .internet_gateways
        .unwrap_or_default();
    assert!(left.is_empty());
    let left = client
        .describe_security_groups()
        .filters(tag_filter(name))
        .send()
        .await
        .unwrap()
        .security_groups
        .unwrap_or_default();
    assert!(left.is_empty());
    ws.run(&["state", "list", bp]).expect(0);
}
