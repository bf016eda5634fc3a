//! Drift detection for scheduled CI: out-of-band changes made with the SDK directly are
//! reported by `innovate drift` (exit 2, right address and field), repaired by `apply`, after
//! which drift exits 0. Drift never writes the state file.

mod common;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, Tag};
use common::cli::{Run, Workspace};
use common::emulator::sdk_config;
use serde_json::Value;

/// A small estate with one of every kind the drift checks touch; `n` keeps names apart.
fn estate(n: &str) -> String {
    format!(
        r#"
blueprint: drift{n}
region: us-east-1
variables:
  azs: [us-east-1a, us-east-1b]
resources:
  main: {{ kind: ec2.vpc, cidr_block: 10.90.0.0/16, tags: {{ Name: drift{n} }} }}
  net:
    kind: ec2.subnet
    count: 2
    vpc_id: ${{main.id}}
    cidr_block: "10.90.${{count.index}}.0/24"
    availability_zone: ${{var.azs[count.index]}}
  web:
    kind: ec2.security_group
    vpc_id: ${{main.id}}
    description: web
    ingress:
      - {{ protocol: tcp, from_port: 443, to_port: 443, cidr_blocks: ["0.0.0.0/0"] }}
  cluster_role:
    kind: iam.role
    name: drift{n}-cluster
    assume_role_policy:
      Version: "2012-10-17"
      Statement: [{{ Effect: Allow, Principal: {{ Service: eks.amazonaws.com }}, Action: sts:AssumeRole }}]
  node_role:
    kind: iam.role
    name: drift{n}-node
    assume_role_policy:
      Version: "2012-10-17"
      Statement: [{{ Effect: Allow, Principal: {{ Service: ec2.amazonaws.com }}, Action: sts:AssumeRole }}]
  cluster:
    kind: eks.cluster
    name: drift{n}
    role_arn: ${{cluster_role.arn}}
    subnet_ids: ${{net[*].id}}
  nodes:
    kind: eks.nodegroup
    cluster_name: ${{cluster.name}}
    name: nodes
    node_role_arn: ${{node_role.arn}}
    subnet_ids: ${{net[*].id}}
    scaling: {{ min_size: 1, max_size: 3, desired_size: 2 }}
  db_subnets: {{ kind: rds.db_subnet_group, name: "drift{n}", subnet_ids: "${{net[*].id}}" }}
  db:
    kind: rds.db_instance
    identifier: drift{n}
    engine: postgres
    instance_class: db.t4g.micro
    allocated_storage: 20
    db_subnet_group_name: ${{db_subnets.name}}
    backup_retention_period: 7
    skip_final_snapshot: true
"#
    )
}

struct Estate {
    ws: Workspace,
    name: String,
    state: std::path::PathBuf,
}

impl Estate {
    fn applied(n: &str) -> Estate {
        let ws = Workspace::new();
        ws.write_blueprint(&estate(n));
        let estate = Estate {
            name: format!("drift{n}"),
            state: ws.state_file(&format!("drift{n}-default.json")),
            ws,
        };
        estate.innovate(&["apply", "--auto-approve"]).expect(0);
        estate.innovate(&["drift"]).expect(0);
        estate
    }

    fn innovate(&self, args: &[&str]) -> Run {
        let bp = self.ws.path().join("blueprint.yaml");
        let mut full: Vec<&str> = vec![args[0], bp.to_str().unwrap()];
        full.extend(&args[1..]);
        self.ws.run(&full)
    }

    fn id(&self, address: &str) -> String {
        let state: Value =
            serde_json::from_str(&std::fs::read_to_string(&self.state).unwrap()).unwrap();
        state["resources"][address]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Drift must report exactly this resource (and field), exit 2, and leave the state file
    /// byte for byte as it was; apply repairs it and drift is clean again.
    fn expect_drift(&self, address: &str, field: Option<&str>) {
        let before = std::fs::read(&self.state).unwrap();
        let report = self.innovate(&["drift", "--json"]).expect(2);
        assert_eq!(
            std::fs::read(&self.state).unwrap(),
            before,
            "drift never writes the state"
        );
        let json: Value = serde_json::from_str(&report.stdout()).unwrap();
        assert_eq!(json["has_drift"], true);
        let resources = json["resources"].as_array().unwrap();
        assert_eq!(resources.len(), 1, "{json:#}");
        assert_eq!(resources[0]["address"], address, "{json:#}");
        match field {
            None => assert_eq!(resources[0]["drift"], "deleted", "{json:#}"),
            Some(field) => {
                assert_eq!(resources[0]["drift"], "changed", "{json:#}");
                assert!(
                    resources[0]["attributes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|a| a["attr"] == field),
                    "{json:#}"
                );
            }
        }
        let human = self.innovate(&["drift"]).expect(2);
        assert!(
            human.stdout().contains(&format!("! {address} (")),
            "{}",
            human.stdout()
        );
        self.innovate(&["apply", "--auto-approve"]).expect(0);
        self.innovate(&["drift"]).expect(0);
        self.innovate(&["plan", "--detailed-exitcode"]).expect(0);
    }
}

#[tokio::test]
async fn a_subnet_deleted_outside_innovate_is_reported_and_recreated() {
    let estate = Estate::applied("a");
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    ec2.delete_subnet()
        .subnet_id(estate.id("net[1]"))
        .send()
        .await
        .unwrap();
    estate.expect_drift("net[1]", None);
    let subnets = ec2
        .describe_subnets()
        .filters(
            Filter::builder()
                .name("tag:innovate:blueprint")
                .values(&estate.name)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(subnets.subnets().len(), 2, "apply created it again");
}

#[tokio::test]
async fn an_ingress_rule_added_outside_innovate_is_removed() {
    let estate = Estate::applied("b");
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let group = estate.id("web");
    let ssh = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build();
    ec2.authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(ssh)
        .send()
        .await
        .unwrap();
    estate.expect_drift("web", Some("ingress"));
    let found = ec2
        .describe_security_groups()
        .group_ids(&group)
        .send()
        .await
        .unwrap();
    let ports: Vec<Option<i32>> = found.security_groups()[0]
        .ip_permissions()
        .iter()
        .map(|p| p.from_port())
        .collect();
    assert_eq!(ports, [Some(443)], "apply removed the port 22 rule");
}

#[tokio::test]
async fn a_tag_changed_outside_innovate_is_set_back() {
    let estate = Estate::applied("c");
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let vpc = estate.id("main");
    ec2.create_tags()
        .resources(&vpc)
        .tags(Tag::builder().key("Name").value("hijacked").build())
        .send()
        .await
        .unwrap();
    estate.expect_drift("main", Some("tags"));
    let found = ec2.describe_vpcs().vpc_ids(&vpc).send().await.unwrap();
    assert!(found.vpcs()[0]
        .tags()
        .iter()
        .any(|t| t.key() == Some("Name") && t.value() == Some(estate.name.as_str())));
}

#[tokio::test]
async fn node_group_scaling_changed_outside_innovate_is_set_back() {
    let estate = Estate::applied("d");
    let eks = aws_sdk_eks::Client::new(&sdk_config().await);
    let scaling = aws_sdk_eks::types::NodegroupScalingConfig::builder()
        .min_size(1)
        .max_size(5)
        .desired_size(4)
        .build();
    eks.update_nodegroup_config()
        .cluster_name(&estate.name)
        .nodegroup_name("nodes")
        .scaling_config(scaling)
        .send()
        .await
        .unwrap();
    estate.expect_drift("nodes", Some("scaling"));
    let found = eks
        .describe_nodegroup()
        .cluster_name(&estate.name)
        .nodegroup_name("nodes")
        .send()
        .await
        .unwrap();
    assert_eq!(
        found
            .nodegroup()
            .unwrap()
            .scaling_config()
            .unwrap()
            .desired_size(),
        Some(2)
    );
}

#[tokio::test]
async fn db_backup_retention_changed_outside_innovate_is_set_back() {
    let estate = Estate::applied("e");
    let rds = aws_sdk_rds::Client::new(&sdk_config().await);
    rds.modify_db_instance()
        .db_instance_identifier(&estate.name)
        .backup_retention_period(1)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    estate.expect_drift("db", Some("backup_retention_period"));
    let found = rds
        .describe_db_instances()
        .db_instance_identifier(&estate.name)
        .send()
        .await
        .unwrap();
    assert_eq!(found.db_instances()[0].backup_retention_period(), Some(7));
}

#[tokio::test]
async fn a_tagged_resource_the_state_does_not_know_is_reported() {
    let estate = Estate::applied("f");
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let tags = aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(aws_sdk_ec2::types::ResourceType::Vpc)
        .tags(
            Tag::builder()
                .key("innovate:blueprint")
                .value(&estate.name)
                .build(),
        )
        .tags(Tag::builder().key("innovate:env").value("default").build())
        .build();
    let stray = ec2
        .create_vpc()
        .cidr_block("10.91.0.0/16")
        .tag_specifications(tags)
        .send()
        .await
        .unwrap();
    let stray_id = stray.vpc().unwrap().vpc_id().unwrap().to_string();
    let before = std::fs::read(&estate.state).unwrap();
    let report = estate.innovate(&["drift", "--json"]).expect(2);
    assert_eq!(std::fs::read(&estate.state).unwrap(), before);
    let json: Value = serde_json::from_str(&report.stdout()).unwrap();
    assert_eq!(json["resources"].as_array().unwrap().len(), 0, "{json:#}");
    assert_eq!(
        json["unmanaged"],
        serde_json::json!([{ "kind": "ec2.vpc", "id": stray_id }]),
        "{json:#}"
    );
    ec2.delete_vpc().vpc_id(&stray_id).send().await.unwrap();
    estate.innovate(&["drift"]).expect(0);
}
