//! Drift detection for scheduled CI: out-of-band changes made with the SDK directly are
//! reported by `innovate drift` (exit 2, right address and field), repaired by `apply`, after
//! which drift exits 0. Drift never writes the state file. Every registered kind is changed
//! (or deleted) outside innovate by some test here, in an attribute its read observes.

mod common;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, Tag};
use common::cli::{Run, Workspace};
use common::emulator::sdk_config;
use common::faultproxy::FaultProxy;
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
    vpc_security_group_ids: ["${{web.id}}"]
    preferred_maintenance_window: "Sun:05:00-Sun:06:00"
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
        Estate::applied_from(&format!("drift{n}"), &estate(n))
    }

    /// Applies `blueprint` (whose name is `name`) in a fresh workspace; no drift yet.
    fn applied_from(name: &str, blueprint: &str) -> Estate {
        let ws = Workspace::new();
        ws.write_blueprint(blueprint);
        let estate = Estate {
            name: name.to_string(),
            state: ws.state_file(&format!("{name}-default.json")),
            ws,
        };
        estate.innovate(&["apply", "--auto-approve"]).expect(0);
        estate.innovate(&["drift"]).expect(0);
        estate
    }

    /// Replaces the blueprint and applies it; no drift after.
    fn apply_blueprint(&self, blueprint: &str) {
        self.ws.write_blueprint(blueprint);
        self.innovate(&["apply", "--auto-approve"]).expect(0);
        self.innovate(&["drift"]).expect(0);
    }

    fn output(&self, address: &str, name: &str) -> String {
        let state: Value =
            serde_json::from_str(&std::fs::read_to_string(&self.state).unwrap()).unwrap();
        let value = &state["resources"][address]["outputs"][name];
        value
            .as_str()
            .unwrap_or_else(|| panic!("{address}.{name}: {value}"))
            .to_string()
    }

    fn innovate(&self, args: &[&str]) -> Run {
        self.innovate_with(args, &[])
    }

    fn innovate_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let bp = self.ws.path().join("blueprint.yaml");
        let mut full: Vec<&str> = vec![args[0], bp.to_str().unwrap()];
        full.extend(&args[1..]);
        self.ws.run_with_env(&full, env)
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
        self.expect_drift_repaired_with(address, field, &[]);
    }

    /// [`Estate::expect_drift`], the repairing apply run with `apply_env` (an endpoint
    /// through a proxy that answers what the emulator lacks).
    fn expect_drift_repaired_with(
        &self,
        address: &str,
        field: Option<&str>,
        apply_env: &[(&str, &str)],
    ) {
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
        self.innovate_with(&["apply", "--auto-approve"], apply_env)
            .expect(0);
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

/// RDS reports the security groups in its own order and the maintenance window in lower
/// case: neither is drift, but another group or window set outside innovate is, and apply
/// puts both back.
#[tokio::test]
async fn db_security_groups_and_maintenance_window_changed_outside_innovate_are_set_back() {
    let estate = Estate::applied("r");
    let config = sdk_config().await;
    let (rds, ec2) = (
        aws_sdk_rds::Client::new(&config),
        aws_sdk_ec2::Client::new(&config),
    );
    let db = |found: aws_sdk_rds::operation::describe_db_instances::DescribeDbInstancesOutput| {
        found.db_instances()[0].clone()
    };
    let describe = || {
        rds.describe_db_instances()
            .db_instance_identifier(&estate.name)
            .send()
    };
    let before = db(describe().await.unwrap());
    let vpc = before.db_subnet_group().and_then(|g| g.vpc_id()).unwrap();
    let defaults = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(vpc)
                .build(),
        )
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let default_group = defaults.security_groups()[0].group_id().unwrap();
    rds.modify_db_instance()
        .db_instance_identifier(&estate.name)
        .vpc_security_group_ids(default_group)
        .preferred_maintenance_window("mon:03:00-mon:04:00")
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    estate.expect_drift("db", Some("vpc_security_group_ids"));
    let after = db(describe().await.unwrap());
    let groups: Vec<_> = after
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id())
        .collect();
    let wanted: Vec<_> = before
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id())
        .collect();
    assert_eq!(groups, wanted, "the blueprint's group is back");
    assert_ne!(groups, [default_group]);
    let window = after.preferred_maintenance_window().unwrap();
    assert!(
        window.eq_ignore_ascii_case("sun:05:00-sun:06:00"),
        "{window}"
    );
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

/// The network kinds the estate above lacks, each changed outside innovate in turn: the
/// route table's route, the elastic IP's and the NAT gateway's tags, the internet gateway's
/// attachment. One apply, four drifts, each repaired before the next.
#[tokio::test]
async fn network_kinds_changed_outside_innovate_are_reported_and_set_back() {
    let estate = Estate::applied_from(
        "driftnet",
        r#"
blueprint: driftnet
region: us-east-1
resources:
  main: { kind: ec2.vpc, cidr_block: 10.92.0.0/16 }
  public:
    kind: ec2.subnet
    vpc_id: ${main.id}
    cidr_block: 10.92.0.0/24
    availability_zone: us-east-1a
  gw: { kind: ec2.internet_gateway, vpc_id: "${main.id}" }
  ip: { kind: ec2.elastic_ip, tags: { Name: driftnet-ip } }
  nat:
    kind: ec2.nat_gateway
    subnet_id: ${public.id}
    allocation_id: ${ip.id}
    tags: { Name: driftnet-nat }
  routes:
    kind: ec2.route_table
    vpc_id: ${main.id}
    routes:
      - { destination_cidr_block: 0.0.0.0/0, gateway_id: "${gw.id}" }
    subnet_ids: ["${public.id}"]
"#,
    );
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);

    let table = estate.id("routes");
    ec2.delete_route()
        .route_table_id(&table)
        .destination_cidr_block("0.0.0.0/0")
        .send()
        .await
        .unwrap();
    estate.expect_drift("routes", Some("routes"));
    let found = ec2
        .describe_route_tables()
        .route_table_ids(&table)
        .send()
        .await
        .unwrap();
    let default_route = found.route_tables()[0]
        .routes()
        .iter()
        .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
        .and_then(|r| r.gateway_id().map(str::to_string));
    assert_eq!(default_route, Some(estate.id("gw")), "the route is back");

    for (address, name) in [("ip", "driftnet-ip"), ("nat", "driftnet-nat")] {
        let id = estate.id(address);
        ec2.create_tags()
            .resources(&id)
            .tags(Tag::builder().key("Name").value("hijacked").build())
            .send()
            .await
            .unwrap();
        estate.expect_drift(address, Some("tags"));
        let tags = ec2
            .describe_tags()
            .filters(Filter::builder().name("resource-id").values(&id).build())
            .filters(Filter::builder().name("key").values("Name").build())
            .send()
            .await
            .unwrap();
        let values: Vec<Option<&str>> = tags.tags().iter().map(|t| t.value()).collect();
        assert_eq!(values, [Some(name)], "{address}'s Name tag is set back");
    }

    let (gateway, vpc) = (estate.id("gw"), estate.id("main"));
    ec2.detach_internet_gateway()
        .internet_gateway_id(&gateway)
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    estate.expect_drift("gw", Some("vpc_id"));
    let found = ec2
        .describe_internet_gateways()
        .internet_gateway_ids(&gateway)
        .send()
        .await
        .unwrap();
    let attached: Vec<Option<&str>> = found.internet_gateways()[0]
        .attachments()
        .iter()
        .map(|a| a.vpc_id())
        .collect();
    assert_eq!(attached, [Some(vpc.as_str())], "attached again");
}

/// IAM and the RDS groups: a role's session length, an OIDC provider's audiences and a
/// subnet group's description changed outside innovate are set back; a parameter group
/// deleted outside innovate is created again.
#[tokio::test]
async fn iam_and_rds_group_kinds_changed_outside_innovate_are_reported_and_set_back() {
    let estate = Estate::applied_from(
        "driftiam",
        r#"
blueprint: driftiam
region: us-east-1
variables:
  azs: [us-east-1a, us-east-1b]
resources:
  role:
    kind: iam.role
    name: driftiam-role
    description: drift role
    assume_role_policy:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Principal: { Service: ec2.amazonaws.com }, Action: sts:AssumeRole }]
  oidc:
    kind: iam.openid_connect_provider
    url: https://oidc.eks.us-east-1.amazonaws.com/id/DRIFTIAM00000000000000000000000
  main: { kind: ec2.vpc, cidr_block: 10.93.0.0/16 }
  net:
    kind: ec2.subnet
    count: 2
    vpc_id: ${main.id}
    cidr_block: "10.93.${count.index}.0/24"
    availability_zone: ${var.azs[count.index]}
  db_subnets:
    kind: rds.db_subnet_group
    name: driftiam
    description: drift subnets
    subnet_ids: ${net[*].id}
  params:
    kind: rds.db_parameter_group
    name: driftiam-params
    family: postgres16
    parameters: { log_min_duration_statement: "250" }
"#,
    );
    let config = sdk_config().await;
    let iam = aws_sdk_iam::Client::new(&config);
    let rds = aws_sdk_rds::Client::new(&config);

    iam.update_role()
        .role_name("driftiam-role")
        .max_session_duration(7200)
        .send()
        .await
        .unwrap();
    estate.expect_drift("role", Some("max_session_duration"));
    let role = iam
        .get_role()
        .role_name("driftiam-role")
        .send()
        .await
        .unwrap();
    assert_eq!(role.role().unwrap().max_session_duration(), Some(3600));

    let provider = estate.id("oidc");
    iam.add_client_id_to_open_id_connect_provider()
        .open_id_connect_provider_arn(&provider)
        .client_id("intruder.example.com")
        .send()
        .await
        .unwrap();
    estate.expect_drift("oidc", Some("client_id_list"));
    let found = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&provider)
        .send()
        .await
        .unwrap();
    assert_eq!(found.client_id_list(), ["sts.amazonaws.com"]);

    let subnets = [estate.id("net[0]"), estate.id("net[1]")];
    rds.modify_db_subnet_group()
        .db_subnet_group_name("driftiam")
        .db_subnet_group_description("hijacked")
        .set_subnet_ids(Some(subnets.to_vec()))
        .send()
        .await
        .unwrap();
    estate.expect_drift("db_subnets", Some("description"));
    let groups = rds
        .describe_db_subnet_groups()
        .db_subnet_group_name("driftiam")
        .send()
        .await
        .unwrap();
    assert_eq!(
        groups.db_subnet_groups()[0].db_subnet_group_description(),
        Some("drift subnets")
    );

    rds.delete_db_parameter_group()
        .db_parameter_group_name("driftiam-params")
        .send()
        .await
        .unwrap();
    estate.expect_drift("params", None);
    let parameters = rds
        .describe_db_parameters()
        .db_parameter_group_name("driftiam-params")
        .source("user")
        .send()
        .await
        .unwrap();
    let set: Vec<(Option<&str>, Option<&str>)> = parameters
        .parameters()
        .iter()
        .map(|p| (p.parameter_name(), p.parameter_value()))
        .collect();
    assert_eq!(
        set,
        [(Some("log_min_duration_statement"), Some("250"))],
        "created again with its parameters"
    );
}

/// EKS: a cluster's control plane logging and an add-on's version changed outside innovate
/// are set back.
#[tokio::test]
async fn eks_cluster_and_addon_changed_outside_innovate_are_reported_and_set_back() {
    let estate = Estate::applied_from(
        "drifteks",
        r#"
blueprint: drifteks
region: us-east-1
variables:
  azs: [us-east-1a, us-east-1b]
resources:
  main: { kind: ec2.vpc, cidr_block: 10.94.0.0/16 }
  net:
    kind: ec2.subnet
    count: 2
    vpc_id: ${main.id}
    cidr_block: "10.94.${count.index}.0/24"
    availability_zone: ${var.azs[count.index]}
  cluster_role:
    kind: iam.role
    name: drifteks-cluster
    assume_role_policy:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Principal: { Service: eks.amazonaws.com }, Action: sts:AssumeRole }]
  cluster:
    kind: eks.cluster
    name: drifteks
    role_arn: ${cluster_role.arn}
    subnet_ids: ${net[*].id}
    enabled_log_types: [api, audit]
  cni:
    kind: eks.addon
    cluster_name: ${cluster.name}
    name: vpc-cni
    version: v1.19.2-eksbuild.1
"#,
    );
    let eks = aws_sdk_eks::Client::new(&sdk_config().await);
    use aws_sdk_eks::types::{LogSetup, LogType, Logging};
    let audit_off = Logging::builder()
        .cluster_logging(
            LogSetup::builder()
                .types(LogType::Audit)
                .enabled(false)
                .build(),
        )
        .cluster_logging(
            LogSetup::builder()
                .types(LogType::Api)
                .enabled(true)
                .build(),
        )
        .build();
    eks.update_cluster_config()
        .name("drifteks")
        .logging(audit_off)
        .send()
        .await
        .unwrap();
    estate.expect_drift("cluster", Some("enabled_log_types"));
    let found = eks
        .describe_cluster()
        .name("drifteks")
        .send()
        .await
        .unwrap();
    let mut enabled: Vec<&str> = found
        .cluster()
        .unwrap()
        .logging()
        .unwrap()
        .cluster_logging()
        .iter()
        .filter(|setup| setup.enabled() == Some(true))
        .flat_map(|setup| setup.types().iter().map(LogType::as_str))
        .collect();
    enabled.sort();
    assert_eq!(enabled, ["api", "audit"], "audit logging is on again");

    eks.update_addon()
        .cluster_name("drifteks")
        .addon_name("vpc-cni")
        .addon_version("v1.18.6-eksbuild.1")
        .send()
        .await
        .unwrap();
    // moto knows no DescribeUpdate: a proxy answers it for the repairing update as AWS
    // would, InProgress then Successful.
    let update = |status: &str| serde_json::json!({"update": {"id": "drift-cni", "status": status, "type": "AddonUpdate", "errors": []}});
    let proxy = FaultProxy::answering(&[
        ("GET /clusters/*/updates/*", 200, &update("InProgress")),
        ("GET /clusters/*/updates/*", 200, &update("Successful")),
    ]);
    estate.expect_drift_repaired_with(
        "cni",
        Some("version"),
        &[("AWS_ENDPOINT_URL", proxy.endpoint.as_str())],
    );
    assert_eq!(
        proxy.requests("GET /clusters/*/updates/*"),
        2,
        "the update was followed to Successful"
    );
    let addon = eks
        .describe_addon()
        .cluster_name("drifteks")
        .addon_name("vpc-cni")
        .send()
        .await
        .unwrap();
    assert_eq!(
        addon.addon().unwrap().addon_version(),
        Some("v1.19.2-eksbuild.1")
    );
}

/// Organizations (one organization per emulator: this is the only test here that makes
/// one). The organization deleted outside innovate is created again; then the OU renamed,
/// the account moved and the policy rewritten outside innovate are set back.
#[tokio::test]
async fn organization_kinds_changed_outside_innovate_are_reported_and_set_back() {
    let org_only = r#"
blueprint: driftorg
region: us-east-1
resources:
  org: { kind: organizations.organization, feature_set: ALL }
"#;
    let estate = Estate::applied_from("driftorg", org_only);
    let orgs = aws_sdk_organizations::Client::new(&sdk_config().await);
    let first = estate.id("org");
    orgs.delete_organization().send().await.unwrap();
    estate.expect_drift("org", None);
    let now = orgs.describe_organization().send().await.unwrap();
    let now = now.organization().unwrap().id().unwrap().to_string();
    assert_eq!(now, estate.id("org"));
    assert_ne!(now, first, "a new organization");

    estate.apply_blueprint(&format!(
        r#"{org_only}
  workloads:
    kind: organizations.organizational_unit
    name: driftorg-workloads
    parent_id: ${{org.root_id}}
  prod:
    kind: organizations.account
    account_name: driftorg-prod
    email: driftorg-prod@innovate-inc.com
    parent_id: ${{workloads.id}}
  guard:
    kind: organizations.policy
    name: driftorg-guard
    content:
      Version: "2012-10-17"
      Statement: [{{ Effect: Deny, Action: "organizations:LeaveOrganization", Resource: "*" }}]
    target_ids: ["${{workloads.id}}"]
"#
    ));
    let (ou, account, policy) = (
        estate.id("workloads"),
        estate.id("prod"),
        estate.id("guard"),
    );
    let root = estate.output("org", "root_id");

    orgs.update_organizational_unit()
        .organizational_unit_id(&ou)
        .name("renamed")
        .send()
        .await
        .unwrap();
    estate.expect_drift("workloads", Some("name"));
    let found = orgs
        .describe_organizational_unit()
        .organizational_unit_id(&ou)
        .send()
        .await
        .unwrap();
    assert_eq!(
        found.organizational_unit().unwrap().name(),
        Some("driftorg-workloads")
    );

    orgs.move_account()
        .account_id(&account)
        .source_parent_id(&ou)
        .destination_parent_id(&root)
        .send()
        .await
        .unwrap();
    estate.expect_drift("prod", Some("parent_id"));
    let parents = orgs.list_parents().child_id(&account).send().await.unwrap();
    assert_eq!(parents.parents()[0].id(), Some(ou.as_str()), "moved back");

    let open = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": "*", "Resource": "*" }]
    });
    orgs.update_policy()
        .policy_id(&policy)
        .content(open.to_string())
        .send()
        .await
        .unwrap();
    estate.expect_drift("guard", Some("content"));
    let found = orgs
        .describe_policy()
        .policy_id(&policy)
        .send()
        .await
        .unwrap();
    let content: Value = serde_json::from_str(found.policy().unwrap().content().unwrap()).unwrap();
    assert_eq!(content["Statement"][0]["Effect"], "Deny", "{content}");
}

/// KMS: a key's description, rotation and policy changed outside innovate, an alias moved
/// to another key and a key scheduled for deletion (which reads as gone) are reported and
/// set back.
#[tokio::test]
async fn kms_key_and_alias_changed_outside_innovate_are_reported_and_set_back() {
    let estate = Estate::applied_from(
        "driftkms",
        r#"
blueprint: driftkms
region: us-east-1
resources:
  key:
    kind: kms.key
    description: driftkms key
    enable_key_rotation: true
    policy:
      Version: "2012-10-17"
      Statement: [{ Sid: all, Effect: Allow, Principal: { AWS: "*" }, Action: "kms:*", Resource: "*" }]
  spare: { kind: kms.key, description: driftkms spare }
  alias: { kind: kms.alias, name: alias/driftkms, target_key_id: "${key.id}" }
"#,
    );
    let kms = aws_sdk_kms::Client::new(&sdk_config().await);
    let key = estate.id("key");

    let request = kms
        .update_key_description()
        .key_id(&key)
        .description("hijacked");
    request.send().await.unwrap();
    kms.disable_key_rotation()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    estate.expect_drift("key", Some("description"));
    let described = kms.describe_key().key_id(&key).send().await.unwrap();
    let description = described.key_metadata().unwrap().description();
    assert_eq!(description, Some("driftkms key"));
    let rotation = kms.get_key_rotation_status().key_id(&key).send().await;
    assert!(
        rotation.unwrap().key_rotation_enabled(),
        "rotation put back"
    );

    let narrowed = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "all",
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}]});
    let request = kms.put_key_policy().key_id(&key).policy_name("default");
    request.policy(narrowed.to_string()).send().await.unwrap();
    estate.expect_drift("key", Some("policy"));
    let held = kms
        .get_key_policy()
        .key_id(&key)
        .policy_name("default")
        .send();
    let held: Value = serde_json::from_str(held.await.unwrap().policy().unwrap()).unwrap();
    assert_eq!(held["Statement"][0]["Action"], "kms:*", "{held}");

    let spare = estate.id("spare");
    let request = kms
        .update_alias()
        .alias_name("alias/driftkms")
        .target_key_id(&spare);
    request.send().await.unwrap();
    estate.expect_drift("alias", Some("target_key_id"));
    let aliases = kms.list_aliases().key_id(&key).send().await.unwrap();
    let names: Vec<_> = aliases
        .aliases()
        .iter()
        .filter_map(|a| a.alias_name())
        .collect();
    assert_eq!(names, ["alias/driftkms"], "back on its key");

    let request = kms
        .schedule_key_deletion()
        .key_id(&spare)
        .pending_window_in_days(7);
    request.send().await.unwrap();
    estate.expect_drift("spare", None);
    assert_ne!(
        estate.id("spare"),
        spare,
        "a new key in place of the pending one"
    );
}
