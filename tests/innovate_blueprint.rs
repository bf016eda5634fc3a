//! `plans/innovate.yaml`, the Innovate Inc. estate, end to end for each environment: the real
//! `innovate` binary against this test binary's emulator, every result checked through the
//! real AWS SDK (EC2, EKS, IAM, RDS), not through innovate's own reads.
//!
//! dev and prod share the emulator. Every name carries `${env}`, so the two estates can live
//! side by side in one account as the seeds' phase 1 has them (each EKS cluster has its own
//! OIDC issuer, on AWS and in the emulator through localstack/extensions/eks_oidc.py); the
//! tests still run one at a time, since each environment's names are fixed.

mod common;

use aws_sdk_ec2::types::{Filter, SecurityGroup};
use aws_sdk_eks::types::{CapacityTypes, ClusterStatus, NodegroupStatus};
use common::cli::{Run, Workspace};
use common::emulator::sdk_config;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

static ONE_ESTATE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const BLUEPRINT: &str = include_str!("../plans/innovate.yaml");

/// One environment of the blueprint in its own workspace (state: state/innovate-ENV.json).
struct Estate {
    ws: Workspace,
    bp: String,
    env: &'static str,
    /// `--var`s a test adds (the blueprint itself requires none).
    vars: Vec<String>,
}

impl Estate {
    fn new(expected: &Expected) -> Estate {
        let ws = Workspace::new();
        let bp = ws.path().join("innovate.yaml");
        std::fs::write(&bp, BLUEPRINT).expect("copy the blueprint");
        Estate {
            bp: bp.to_str().unwrap().to_string(),
            ws,
            env: expected.env,
            vars: Vec::new(),
        }
    }

    /// `innovate COMMAND BLUEPRINT --env ENV [--var ...] ARGS...`
    fn run(&self, command: &str, args: &[&str]) -> Run {
        let mut all = vec![command, self.bp.as_str(), "--env", self.env];
        all.extend(self.vars.iter().map(String::as_str));
        all.extend_from_slice(args);
        self.ws.run(&all)
    }

    /// `innovate state list BLUEPRINT --env ENV`: one address per line.
    fn state_list(&self) -> String {
        let mut args = vec!["state", "list", self.bp.as_str(), "--env", self.env];
        args.extend(self.vars.iter().map(String::as_str));
        self.ws.run(&args).expect(0).stdout()
    }

    fn state_text(&self) -> String {
        let file = self.ws.state_file(&format!("innovate-{}.json", self.env));
        std::fs::read_to_string(file).expect("state file")
    }

    fn state(&self) -> Value {
        serde_json::from_str(&self.state_text()).expect("state JSON")
    }
}

impl Drop for Estate {
    /// A failed test still removes what it can (everything but a protected database), so
    /// that the other environment's test is not failed by this one's leftovers.
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.run("destroy", &["--auto-approve"]);
        }
    }
}

/// What one environment must look like in AWS.
struct Expected {
    env: &'static str,
    resources: usize,
    nat_gateways: usize,
    log_types: &'static [&'static str],
    /// The interface endpoints' services (the S3 gateway endpoint is in both).
    interface_endpoints: &'static [&'static str],
    /// Instance class of the reporting replica, when there is one.
    replica: Option<&'static str>,
    system_nodes: i32,
    /// Node group name suffix -> capacity type, (min, desired, max).
    app_groups: &'static [(&'static str, CapacityTypes, (i32, i32, i32))],
    db_class: &'static str,
    db_storage: i32,
    multi_az: bool,
    backup_days: i32,
    deletion_protection: bool,
}

const DEV: Expected = Expected {
    env: "dev",
    resources: 56,
    nat_gateways: 1,
    log_types: &["api", "audit", "authenticator"],
    interface_endpoints: &[],
    replica: None,
    system_nodes: 2,
    app_groups: &[("app-spot", CapacityTypes::Spot, (1, 1, 3))],
    db_class: "db.t4g.small",
    db_storage: 20,
    multi_az: false,
    backup_days: 7,
    deletion_protection: false,
};

const PROD: Expected = Expected {
    env: "prod",
    resources: 70,
    nat_gateways: 3,
    log_types: &[
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    ],
    interface_endpoints: &["ecr.api", "ecr.dkr", "sts", "logs", "secretsmanager"],
    replica: Some("db.t4g.small"),
    system_nodes: 3,
    app_groups: &[
        ("app-spot", CapacityTypes::Spot, (0, 2, 16)),
        ("app-on-demand", CapacityTypes::OnDemand, (2, 2, 4)),
    ],
    db_class: "db.t4g.medium",
    db_storage: 100,
    multi_az: true,
    backup_days: 30,
    deletion_protection: true,
};

struct Aws {
    ec2: aws_sdk_ec2::Client,
    eks: aws_sdk_eks::Client,
    iam: aws_sdk_iam::Client,
    rds: aws_sdk_rds::Client,
}

impl Aws {
    async fn new() -> Aws {
        let config = sdk_config().await;
        Aws {
            ec2: aws_sdk_ec2::Client::new(&config),
            eks: aws_sdk_eks::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            rds: aws_sdk_rds::Client::new(&config),
        }
    }

    /// The VPCs carrying this blueprint's and environment's identity tags.
    async fn vpcs(&self, env: &str) -> Vec<aws_sdk_ec2::types::Vpc> {
        let described = self
            .ec2
            .describe_vpcs()
            .set_filters(Some(estate_filters(env)));
        described.send().await.unwrap().vpcs.unwrap_or_default()
    }

    async fn cluster(&self, env: &str) -> aws_sdk_eks::types::Cluster {
        let described = self.eks.describe_cluster().name(format!("innovate-{env}"));
        described.send().await.unwrap().cluster.expect("cluster")
    }

    async fn nodegroup(&self, env: &str, suffix: &str) -> aws_sdk_eks::types::Nodegroup {
        let described = self
            .eks
            .describe_nodegroup()
            .cluster_name(format!("innovate-{env}"))
            .nodegroup_name(format!("innovate-{env}-{suffix}"))
            .send()
            .await;
        described.unwrap().nodegroup.expect("node group")
    }

    async fn db(&self, env: &str) -> aws_sdk_rds::types::DbInstance {
        let described = self
            .rds
            .describe_db_instances()
            .db_instance_identifier(format!("innovate-{env}-postgres"))
            .send()
            .await;
        let mut instances = described.unwrap().db_instances.unwrap_or_default();
        assert_eq!(instances.len(), 1);
        instances.remove(0)
    }

    async fn attached_policies(&self, role: &str) -> BTreeSet<String> {
        let listed = self.iam.list_attached_role_policies().role_name(role);
        let listed = listed.send().await.unwrap();
        let names = listed.attached_policies().iter();
        names
            .map(|p| p.policy_name().unwrap().to_string())
            .collect()
    }
}

fn estate_filters(env: &str) -> Vec<Filter> {
    vec![
        Filter::builder()
            .name("tag:innovate:blueprint")
            .values("innovate")
            .build(),
        Filter::builder()
            .name("tag:innovate:env")
            .values(env)
            .build(),
    ]
}

fn vpc_filter(vpc_id: &str) -> Filter {
    Filter::builder().name("vpc-id").values(vpc_id).build()
}

fn ec2_tag<'a>(tags: &'a [aws_sdk_ec2::types::Tag], key: &str) -> Option<&'a str> {
    let tag = tags.iter().find(|t| t.key() == Some(key));
    tag.and_then(|t| t.value())
}

fn set<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> BTreeSet<String> {
    items.into_iter().map(Into::into).collect()
}

fn strings(value: &Value) -> BTreeSet<String> {
    let items = value.as_array().expect("a list").iter();
    items.map(|v| v.as_str().unwrap().to_string()).collect()
}

/// Every attribute name anywhere in the state's resources (nested ones included).
fn attribute_names(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                out.insert(key.clone());
                attribute_names(inner, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| attribute_names(v, out)),
        _ => {}
    }
}

/// No password value anywhere: the state names no password attribute except the flag that
/// hands the password to Secrets Manager, and no text carries a master password.
fn assert_no_password(estate: &Estate, texts: &[(&str, String)]) {
    let state = estate.state();
    let mut names = BTreeSet::new();
    for resource in state["resources"].as_object().unwrap().values() {
        attribute_names(&resource["attrs"], &mut names);
        attribute_names(&resource["outputs"], &mut names);
    }
    let password_names: Vec<_> = names
        .iter()
        .filter(|n| n.to_lowercase().contains("password"))
        .collect();
    assert_eq!(
        password_names,
        ["manage_master_user_password"],
        "the only password-related attribute in the state is the Secrets Manager flag"
    );
    let db = &state["resources"]["db"];
    assert_eq!(db["attrs"]["manage_master_user_password"], true);
    let state_text = estate.state_text();
    let mut all = vec![("state", state_text)];
    all.extend(texts.iter().map(|(what, text)| (*what, text.clone())));
    for (what, text) in all {
        let lower = text.to_lowercase();
        assert!(
            !lower.contains("masteruserpassword"),
            "{what} mentions a master password: {text}"
        );
        for line in lower.lines().filter(|l| l.contains("password")) {
            assert!(
                line.contains("manage_master_user_password"),
                "{what} shows a password: {line}"
            );
        }
    }
}

/// Everything the blueprint promises, checked in AWS (`state`: what to look for by id).
async fn verify(aws: &Aws, expected: &Expected, state: &Value) {
    let env = expected.env;

    // --- network: one VPC, 3 x 3 subnets over three AZs ---
    let vpcs = aws.vpcs(env).await;
    assert_eq!(vpcs.len(), 1, "one VPC for innovate {env}");
    let vpc_id = vpcs[0].vpc_id().unwrap().to_string();
    assert_eq!(vpcs[0].cidr_block(), Some("10.0.0.0/16"));
    let subnets = aws
        .ec2
        .describe_subnets()
        .filters(vpc_filter(&vpc_id))
        .send()
        .await
        .unwrap()
        .subnets
        .unwrap_or_default();
    assert_eq!(subnets.len(), 9);
    let tier = |name: &str| -> Vec<&aws_sdk_ec2::types::Subnet> {
        let of_tier = subnets
            .iter()
            .filter(|s| ec2_tag(s.tags(), "tier") == Some(name));
        of_tier.collect()
    };
    let ids = |subnets: &[&aws_sdk_ec2::types::Subnet]| -> BTreeSet<String> {
        set(subnets.iter().map(|s| s.subnet_id().unwrap()))
    };
    let (public, private, database) = (tier("public"), tier("private"), tier("database"));
    for (name, subnets) in [
        ("public", &public),
        ("private", &private),
        ("database", &database),
    ] {
        let zones = set(subnets.iter().map(|s| s.availability_zone().unwrap()));
        assert_eq!(zones.len(), 3, "{name} subnets span three AZs");
        assert!(subnets
            .iter()
            .all(|s| s.map_public_ip_on_launch() != Some(true)));
    }
    let (public_ids, private_ids, database_ids) = (ids(&public), ids(&private), ids(&database));

    // --- NAT: one in dev, one per AZ in prod, all in public subnets ---
    let nats = aws
        .ec2
        .describe_nat_gateways()
        .filter(vpc_filter(&vpc_id))
        .send()
        .await
        .unwrap()
        .nat_gateways
        .unwrap_or_default();
    let nats: Vec<_> = nats
        .iter()
        .filter(|n| n.state() == Some(&aws_sdk_ec2::types::NatGatewayState::Available))
        .collect();
    assert_eq!(nats.len(), expected.nat_gateways, "NAT gateways of {env}");
    assert!(nats
        .iter()
        .all(|n| public_ids.contains(n.subnet_id().unwrap())));

    // --- routes: public via the IGW, private via NAT (own NAT per AZ when there are three),
    //     database subnets without any way out ---
    let tables = aws
        .ec2
        .describe_route_tables()
        .filters(vpc_filter(&vpc_id))
        .send()
        .await
        .unwrap()
        .route_tables
        .unwrap_or_default();
    let table_of = |subnet: &str| {
        let found = tables.iter().find(|t| {
            t.associations()
                .iter()
                .any(|a| a.subnet_id() == Some(subnet))
        });
        found.unwrap_or_else(|| panic!("no route table for {subnet}"))
    };
    let default_route = |table: &aws_sdk_ec2::types::RouteTable| {
        let routes = table.routes().iter();
        routes
            .filter(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
            .cloned()
            .collect::<Vec<_>>()
    };
    for subnet in &public_ids {
        let route = default_route(table_of(subnet));
        assert!(route[0].gateway_id().unwrap().starts_with("igw-"));
    }
    let mut nat_targets = BTreeSet::new();
    for subnet in &private_ids {
        let route = default_route(table_of(subnet));
        nat_targets.insert(route[0].nat_gateway_id().unwrap().to_string());
    }
    assert_eq!(nat_targets.len(), expected.nat_gateways);
    for subnet in &database_ids {
        assert!(
            default_route(table_of(subnet)).is_empty(),
            "database subnets have no default route"
        );
    }

    // --- security groups: ALB 443 <- internet, app 8080 <- ALB, database 5432 <- app ---
    let groups = aws
        .ec2
        .describe_security_groups()
        .filters(vpc_filter(&vpc_id))
        .send()
        .await
        .unwrap()
        .security_groups
        .unwrap_or_default();
    let group = |name: &str| -> &SecurityGroup {
        let name = format!("innovate-{env}-{name}");
        let found = groups
            .iter()
            .find(|g| g.group_name() == Some(name.as_str()));
        found.unwrap_or_else(|| panic!("security group {name}"))
    };
    let (alb, app, db_group) = (group("alb"), group("app"), group("database"));
    let only_rule = |g: &SecurityGroup| {
        assert_eq!(g.ip_permissions().len(), 1, "{:?}", g.group_name());
        let rule = g.ip_permissions()[0].clone();
        assert_eq!(rule.ip_protocol(), Some("tcp"));
        rule
    };
    let rule = only_rule(alb);
    assert_eq!((rule.from_port(), rule.to_port()), (Some(443), Some(443)));
    assert_eq!(rule.ip_ranges()[0].cidr_ip(), Some("0.0.0.0/0"));
    let rule = only_rule(app);
    assert_eq!((rule.from_port(), rule.to_port()), (Some(8080), Some(8080)));
    assert!(rule.ip_ranges().is_empty(), "no CIDR may reach the app");
    assert_eq!(rule.user_id_group_pairs()[0].group_id(), alb.group_id());
    let rule = only_rule(db_group);
    assert_eq!((rule.from_port(), rule.to_port()), (Some(5432), Some(5432)));
    assert!(
        rule.ip_ranges().is_empty(),
        "no CIDR may reach the database"
    );
    assert_eq!(rule.user_id_group_pairs()[0].group_id(), app.group_id());
    assert!(
        db_group.ip_permissions_egress().is_empty(),
        "the database opens no connections"
    );

    // --- IAM: least-privilege managed policies ---
    let cluster_role = format!("innovate-{env}-eks-cluster");
    let node_role = format!("innovate-{env}-eks-node");
    assert_eq!(
        aws.attached_policies(&cluster_role).await,
        set(["AmazonEKSClusterPolicy", "AmazonEKSVPCResourceController"])
    );
    assert_eq!(
        aws.attached_policies(&node_role).await,
        set([
            "AmazonEKSWorkerNodePolicy",
            "AmazonEC2ContainerRegistryReadOnly"
        ])
    );
    let cni_role = format!("innovate-{env}-vpc-cni");
    assert_eq!(
        aws.attached_policies(&cni_role).await,
        set(["AmazonEKS_CNI_Policy"]),
        "the CNI's permissions are its own (IRSA), not every pod's on the node"
    );
    let role_arn = |name: String| async move {
        let role = aws.iam.get_role().role_name(name).send().await.unwrap();
        role.role().unwrap().arn().to_string()
    };
    let cluster_role_arn = role_arn(cluster_role).await;
    let node_role_arn = role_arn(node_role).await;

    // --- EKS cluster: private subnets, its role, secrets encryption, control-plane logs ---
    let cluster = aws.cluster(env).await;
    assert_eq!(cluster.status(), Some(&ClusterStatus::Active));
    assert_eq!(cluster.role_arn(), Some(cluster_role_arn.as_str()));
    assert_eq!(cluster.version(), Some("1.33"));
    let vpc_config = cluster.resources_vpc_config().unwrap();
    assert_eq!(
        set(vpc_config.subnet_ids()),
        private_ids,
        "cluster in the private subnets"
    );
    assert!(vpc_config.endpoint_private_access());
    let encryption = &cluster.encryption_config()[0];
    let key = encryption.provider().unwrap().key_arn().unwrap();
    assert_eq!(
        key, state["resources"]["eks_key"]["outputs"]["arn"],
        "the estate's own key"
    );
    let logging = cluster.logging().unwrap().cluster_logging();
    let enabled: BTreeSet<String> = logging
        .iter()
        .filter(|setup| setup.enabled() == Some(true))
        .flat_map(|setup| setup.types().iter().map(|t| t.as_str().to_string()))
        .collect();
    assert_eq!(enabled, set(expected.log_types.iter().copied()));

    // --- node groups: a fixed on-demand system group, Graviton application groups ---
    let listed = aws
        .eks
        .list_nodegroups()
        .cluster_name(format!("innovate-{env}"))
        .send()
        .await
        .unwrap();
    let mut wanted = vec![format!("innovate-{env}-system")];
    wanted.extend(
        expected
            .app_groups
            .iter()
            .map(|(suffix, ..)| format!("innovate-{env}-{suffix}")),
    );
    assert_eq!(set(listed.nodegroups().iter().cloned()), set(wanted));
    let system = aws.nodegroup(env, "system").await;
    let n = expected.system_nodes;
    assert_eq!(system.capacity_type(), Some(&CapacityTypes::OnDemand));
    assert_scaling(&system, (n, n, n));
    assert_eq!(system.taints()[0].key(), Some("CriticalAddonsOnly"));
    for (suffix, capacity, scaling) in expected.app_groups {
        let group = aws.nodegroup(env, suffix).await;
        assert_eq!(group.status(), Some(&NodegroupStatus::Active));
        assert_eq!(group.capacity_type(), Some(capacity), "{suffix}");
        assert_eq!(group.ami_type().unwrap().as_str(), "AL2023_ARM_64_STANDARD");
        assert!(group.instance_types().iter().all(|t| t.contains("g.")));
        assert_scaling(&group, *scaling);
    }
    for group in listed.nodegroups() {
        let suffix = group.trim_start_matches(&format!("innovate-{env}-"));
        let group = aws.nodegroup(env, suffix).await;
        assert_eq!(set(group.subnets().iter().cloned()), private_ids);
        assert_eq!(group.node_role(), Some(node_role_arn.as_str()));
    }

    // --- add-ons and the OIDC provider for IRSA ---
    let addons = aws
        .eks
        .list_addons()
        .cluster_name(format!("innovate-{env}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        set(addons.addons().iter().cloned()),
        set(["vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent"])
    );
    let cni = aws
        .eks
        .describe_addon()
        .cluster_name(format!("innovate-{env}"))
        .addon_name("vpc-cni")
        .send()
        .await
        .unwrap();
    let values = cni.addon().unwrap().configuration_values().unwrap();
    assert!(values.contains("ENABLE_POD_ENI"), "{values}");
    let issuer = cluster
        .identity()
        .unwrap()
        .oidc()
        .unwrap()
        .issuer()
        .unwrap();
    assert_irsa_trust(aws, &cni_role, issuer, cni.addon().unwrap()).await;
    let providers = aws
        .iam
        .list_open_id_connect_providers()
        .send()
        .await
        .unwrap();
    let host_path = issuer.trim_start_matches("https://");
    assert!(
        providers
            .open_id_connect_provider_list()
            .iter()
            .any(|p| p.arn().unwrap().ends_with(host_path)),
        "an OIDC provider for {issuer}"
    );

    // --- the database ---
    let db = aws.db(env).await;
    assert_eq!(db.engine(), Some("postgres"));
    assert_eq!(db.db_instance_class(), Some(expected.db_class));
    assert_eq!(db.allocated_storage(), Some(expected.db_storage));
    assert_eq!(db.multi_az(), Some(expected.multi_az));
    assert_eq!(db.storage_encrypted(), Some(true));
    assert_eq!(db.backup_retention_period(), Some(expected.backup_days));
    assert_eq!(db.deletion_protection(), Some(expected.deletion_protection));
    assert_eq!(db.publicly_accessible(), Some(false));
    let subnet_group = db.db_subnet_group().unwrap();
    let db_subnets = subnet_group.subnets().iter();
    assert_eq!(
        set(db_subnets.map(|s| s.subnet_identifier().unwrap())),
        database_ids,
        "the database lives in the database subnets"
    );
    let db_groups = db.vpc_security_groups().iter();
    assert_eq!(
        set(db_groups.map(|g| g.vpc_security_group_id().unwrap())),
        set([db_group.group_id().unwrap()])
    );
    assert!(
        db.master_user_secret()
            .and_then(|s| s.secret_arn())
            .is_some(),
        "RDS keeps the master password in Secrets Manager"
    );
    let parameter_group = db.db_parameter_groups()[0]
        .db_parameter_group_name()
        .unwrap();
    assert_eq!(parameter_group, format!("innovate-{env}-postgres16"));
    let parameters = aws
        .rds
        .describe_db_parameters()
        .db_parameter_group_name(parameter_group)
        .source("user")
        .send()
        .await
        .unwrap();
    let user_set: BTreeMap<_, _> = parameters
        .parameters()
        .iter()
        .map(|p| {
            (
                p.parameter_name().unwrap(),
                p.parameter_value().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(user_set.get("rds.force_ssl"), Some(&"1"), "TLS is forced");
    let rds_key = &state["resources"]["rds_key"]["outputs"]["arn"];
    assert_eq!(
        db.kms_key_id(),
        rds_key.as_str(),
        "storage under the estate's own key"
    );
    verify_replica(aws, expected, &db).await;
    verify_network_controls(
        aws,
        expected,
        &vpc_id,
        [&public_ids, &private_ids, &database_ids],
    )
    .await;
    verify_keys_and_roles(aws, expected, state).await;
}

/// prod's reporting replica reads from the primary, in its own zone and class.
async fn verify_replica(aws: &Aws, expected: &Expected, primary: &aws_sdk_rds::types::DbInstance) {
    let described = aws.rds.describe_db_instances().send().await.unwrap();
    let replicas: Vec<_> = described
        .db_instances()
        .iter()
        .filter(|i| {
            i.db_instance_identifier() == Some(&format!("innovate-{}-reporting", expected.env))
        })
        .collect();
    let Some(class) = expected.replica else {
        assert!(replicas.is_empty(), "no replica in {}", expected.env);
        return;
    };
    assert_eq!(replicas.len(), 1);
    let replica = replicas[0];
    assert_eq!(
        replica.read_replica_source_db_instance_identifier(),
        primary.db_instance_identifier()
    );
    assert_eq!(replica.db_instance_class(), Some(class));
    assert_eq!(replica.availability_zone(), Some("us-east-1c"));
    assert_eq!(replica.publicly_accessible(), Some(false));
}

/// One NACL per tier guarding exactly that tier's subnets; the database NACL lets in
/// PostgreSQL from the private subnets only; the S3 gateway endpoint routes the private and
/// database tables; prod's interface endpoints sit in the private subnets with private DNS.
async fn verify_network_controls(
    aws: &Aws,
    expected: &Expected,
    vpc_id: &str,
    tiers: [&BTreeSet<String>; 3],
) {
    let acls = aws
        .ec2
        .describe_network_acls()
        .filters(vpc_filter(vpc_id))
        .send()
        .await
        .unwrap();
    let guarded = |subnets: &BTreeSet<String>| {
        let acl = acls.network_acls().iter().find(|a| {
            let held = set(a.associations().iter().filter_map(|x| x.subnet_id()));
            &held == subnets
        });
        acl.unwrap_or_else(|| panic!("no NACL guards exactly {subnets:?}"))
            .clone()
    };
    let [public, private, database] = tiers.map(guarded);
    for acl in [&public, &private, &database] {
        assert_eq!(acl.is_default(), Some(false));
    }
    let from: BTreeSet<String> = database
        .entries()
        .iter()
        .filter(|e| e.egress() == Some(false) && e.rule_number() != Some(32767))
        .map(|e| {
            assert_eq!(e.port_range().and_then(|p| p.from()), Some(5432));
            e.cidr_block().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        from,
        set(["10.0.16.0/20", "10.0.32.0/20", "10.0.48.0/20"]),
        "PostgreSQL from the private subnets only"
    );

    let endpoints = aws
        .ec2
        .describe_vpc_endpoints()
        .filters(vpc_filter(vpc_id))
        .send()
        .await
        .unwrap();
    let endpoints = endpoints.vpc_endpoints();
    let s3 = endpoints
        .iter()
        .find(|e| e.service_name() == Some("com.amazonaws.us-east-1.s3"))
        .expect("the S3 gateway endpoint");
    assert_eq!(
        s3.route_table_ids().len(),
        4,
        "three private tables and the database table"
    );
    let interface: BTreeSet<String> = endpoints
        .iter()
        .filter(|e| e.vpc_endpoint_type().map(|t| t.as_str()) == Some("Interface"))
        .map(|e| {
            assert_eq!(
                set(e.subnet_ids().iter().cloned()),
                *tiers[1],
                "in the private subnets"
            );
            assert_eq!(e.private_dns_enabled(), Some(true));
            e.service_name()
                .unwrap()
                .trim_start_matches("com.amazonaws.us-east-1.")
                .to_string()
        })
        .collect();
    assert_eq!(interface, set(expected.interface_endpoints.iter().copied()));
}

/// Four rotated keys of the estate's own, each with its alias; the controllers' IRSA roles
/// trust only their own service accounts.
async fn verify_keys_and_roles(aws: &Aws, expected: &Expected, state: &Value) {
    let kms = aws_sdk_kms::Client::new(&sdk_config().await);
    for purpose in ["eks", "rds", "logs", "s3"] {
        let key = state["resources"][format!("{purpose}_key")]["id"]
            .as_str()
            .unwrap();
        let rotation = kms
            .get_key_rotation_status()
            .key_id(key)
            .send()
            .await
            .unwrap();
        assert!(rotation.key_rotation_enabled(), "{purpose} key rotates");
        let aliases = kms.list_aliases().key_id(key).send().await.unwrap();
        let names: Vec<_> = aliases
            .aliases()
            .iter()
            .filter_map(|a| a.alias_name())
            .collect();
        assert_eq!(
            names,
            [format!("alias/innovate-{}-{purpose}", expected.env)]
        );
    }
    let s3 = aws_sdk_s3::Client::new(&sdk_config().await);
    let bucket = state["resources"]["backups"]["id"].as_str().unwrap();
    let versioning = s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));
    let encryption = s3
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let rule = &encryption
        .server_side_encryption_configuration()
        .unwrap()
        .rules()[0];
    let default = rule.apply_server_side_encryption_by_default().unwrap();
    assert_eq!(default.sse_algorithm().as_str(), "aws:kms");
    let s3_key = state["resources"]["s3_key"]["outputs"]["arn"].as_str();
    assert_eq!(default.kms_master_key_id(), s3_key);
    let blocked = s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let blocked = blocked.public_access_block_configuration().unwrap();
    assert_eq!(blocked.block_public_policy(), Some(true), "never public");
    verify_logs_and_vault(aws, expected, state).await;
    for (role, account) in [
        ("lb-controller", "kube-system:aws-load-balancer-controller"),
        ("cluster-autoscaler", "kube-system:cluster-autoscaler"),
        ("velero", "velero:velero"),
    ] {
        let got = aws
            .iam
            .get_role()
            .role_name(format!("innovate-{}-{role}", expected.env))
            .send()
            .await
            .unwrap();
        let document = got.role().unwrap().assume_role_policy_document().unwrap();
        let policy = innovate::aws::iam::policy::from_aws(document).unwrap();
        let conditions = &policy["Statement"][0]["Condition"]["StringEquals"];
        let subject = conditions
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| k.ends_with(":sub"));
        assert_eq!(
            subject.unwrap().1,
            &format!("system:serviceaccount:{account}")
        );
    }
}

fn assert_scaling(group: &aws_sdk_eks::types::Nodegroup, (min, desired, max): (i32, i32, i32)) {
    let scaling = group.scaling_config().unwrap();
    assert_eq!(
        (
            scaling.min_size(),
            scaling.desired_size(),
            scaling.max_size()
        ),
        (Some(min), Some(desired), Some(max)),
        "{:?}",
        group.nodegroup_name()
    );
}

/// `innovate cost`'s total, checked against the cost of a plan that creates everything.
fn assert_first_plan_costs_the_estimate(estate: &Estate, planned_json: &Run) -> f64 {
    let estimate: Value =
        serde_json::from_str(&estate.run("cost", &["--json"]).expect(0).stdout()).unwrap();
    let plan: Value = serde_json::from_str(&planned_json.stdout()).unwrap();
    assert_eq!(plan["cost"]["monthly_before"], 0.0);
    assert_eq!(plan["cost"]["monthly_after"], estimate["total_monthly"]);
    assert_eq!(plan["cost"]["not_priced"], serde_json::json!([]));
    estimate["total_monthly"].as_f64().unwrap()
}

/// validate, plan, apply, verify, no password anywhere, re-plan with no changes, an in-place
/// change planned and applied, a replacement planned (not applied).
async fn apply_and_change(estate: &Estate, aws: &Aws, expected: &Expected, replace: (&str, &str)) {
    let validated = estate.run("validate", &[]).expect(0);
    assert!(
        validated
            .stdout()
            .contains(&format!("{} resource instances", expected.resources)),
        "{}",
        validated.stdout()
    );
    let planned = estate.run("plan", &["--detailed-exitcode"]).expect(2);
    assert!(
        planned.stdout().contains(&format!(
            "Plan: {} to add, 0 to change, 0 to destroy.",
            expected.resources
        )),
        "{}",
        planned.stdout()
    );
    let planned_json = estate.run("plan", &["--json"]).expect(0);
    // The first plan adds the whole estate: its cost line is `innovate cost`'s total.
    let total = assert_first_plan_costs_the_estimate(estate, &planned_json);
    let applied = estate.run("apply", &["--auto-approve"]).expect(0);
    assert!(
        applied.stdout().contains(&format!(
            "Apply complete! Resources: {} added, 0 changed, 0 destroyed.",
            expected.resources
        )),
        "{}",
        applied.stdout()
    );

    verify(aws, expected, &estate.state()).await;
    let outputs = estate.run("output", &["--json"]).expect(0);
    let outputs: Value = serde_json::from_str(&outputs.stdout()).expect("outputs JSON");
    let cluster = aws.cluster(expected.env).await;
    assert_eq!(outputs["cluster_endpoint"], cluster.endpoint().unwrap());
    let db = aws.db(expected.env).await;
    assert_eq!(
        outputs["database_endpoint"],
        db.endpoint().unwrap().address().unwrap()
    );
    let state = estate.state();
    let ids_of = |name: &str| -> BTreeSet<String> {
        (0..3)
            .map(|i| {
                state["resources"][format!("{name}[{i}]")]["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(strings(&outputs["private_subnet_ids"]), ids_of("private"));
    assert_eq!(strings(&outputs["public_subnet_ids"]), ids_of("public"));
    assert_eq!(strings(&outputs["database_subnet_ids"]), ids_of("database"));
    assert_no_password(
        estate,
        &[
            ("plan", planned.stdout() + &planned.stderr()),
            ("plan --json", planned_json.stdout()),
            ("apply", applied.stdout() + &applied.stderr()),
            ("output", outputs.to_string()),
        ],
    );

    // Nothing changed since the apply.
    let replan = estate.run("plan", &["--detailed-exitcode"]).expect(0);
    assert!(
        replan.stdout().contains("No changes."),
        "{}",
        replan.stdout()
    );

    // In place: the spot group's ceiling and the backup window, no replacement.
    let (_, _, (min, desired, max)) = expected.app_groups[0];
    let new_max = format!("app_spot_max={}", max + 4);
    let in_place = ["--var", &new_max, "--var", "backup_retention_days=14"];
    let mut args = vec!["--detailed-exitcode"];
    args.extend_from_slice(&in_place);
    let planned = estate.run("plan", &args).expect(2);
    let text = planned.stdout();
    assert!(
        text.contains("  ~ app_spot (eks.nodegroup) will be updated in place"),
        "{text}"
    );
    assert!(
        text.contains("  ~ db (rds.db_instance) will be updated in place"),
        "{text}"
    );
    assert!(text.contains("~ backup_retention_period = "), "{text}");
    assert!(
        text.contains("Plan: 0 to add, 2 to change, 0 to destroy."),
        "{text}"
    );
    // Neither a node group's max_size nor backup retention is priced: the applied state
    // prices exactly like the blueprint did.
    assert!(
        text.contains(&format!(
            "\nMonthly cost: +$0.00 (from ${total:.2} to ${total:.2})\n"
        )),
        "{text}"
    );
    assert!(!text.contains("-/+"), "{text}");
    let mut args = vec!["--auto-approve"];
    args.extend_from_slice(&in_place);
    let applied = estate.run("apply", &args).expect(0);
    assert!(
        applied
            .stdout()
            .contains("Apply complete! Resources: 0 added, 2 changed, 0 destroyed."),
        "{}",
        applied.stdout()
    );
    assert_scaling(
        &aws.nodegroup(expected.env, "app-spot").await,
        (min, desired, max + 4),
    );
    assert_eq!(
        aws.db(expected.env).await.backup_retention_period(),
        Some(14)
    );
    let mut args = vec!["--detailed-exitcode"];
    args.extend_from_slice(&in_place);
    estate.run("plan", &args).expect(0);

    // A replacement: planned with its reason, never applied. A protected database cannot be
    // replaced, and the plan says so instead of promising what AWS would refuse.
    let (var, attr) = replace;
    let mut args = vec!["--detailed-exitcode", "--var", var];
    args.extend_from_slice(&in_place);
    if expected.deletion_protection {
        let refused = estate.run("plan", &args).expect(1);
        assert!(
            refused.stderr().contains(&format!(
                "db (rds.db_instance) would be replaced ({attr} forces replacement), but it is protected by deletion_protection: true"
            )),
            "{}",
            refused.stderr()
        );
        return;
    }
    let planned = estate.run("plan", &args).expect(2);
    let text = planned.stdout();
    assert!(
        text.contains(&format!(
            "-/+ db (rds.db_instance) must be replaced ({attr} forces replacement)"
        )),
        "{text}"
    );
    assert!(
        text.contains("Plan: 1 to add, 0 to change, 1 to destroy."),
        "{text}"
    );
    let mut args = vec!["--json", "--var", var];
    args.extend_from_slice(&in_place);
    let json: Value = serde_json::from_str(&estate.run("plan", &args).expect(0).stdout()).unwrap();
    let db = json["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "db")
        .unwrap();
    assert_eq!(db["action"], "replace");
    assert_eq!(db["replace_reasons"], serde_json::json!([attr]));
}

/// The add-on runs as `role`, which trusts only kube-system/aws-node through the cluster's
/// OIDC provider: the condition keys name the issuer without its scheme.
async fn assert_irsa_trust(aws: &Aws, role: &str, issuer: &str, addon: &aws_sdk_eks::types::Addon) {
    let got = aws.iam.get_role().role_name(role).send().await.unwrap();
    let role = got.role().unwrap();
    assert_eq!(addon.service_account_role_arn(), Some(role.arn()));
    let document = role.assume_role_policy_document().unwrap();
    let policy = innovate::aws::iam::policy::from_aws(document).unwrap();
    let provider = issuer.trim_start_matches("https://");
    let statement = &policy["Statement"][0];
    assert_eq!(statement["Action"], "sts:AssumeRoleWithWebIdentity");
    assert!(
        statement["Principal"]["Federated"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":oidc-provider/{provider}")),
        "{policy}"
    );
    assert_eq!(
        statement["Condition"]["StringEquals"][format!("{provider}:sub")],
        "system:serviceaccount:kube-system:aws-node",
        "{policy}"
    );
}

/// Nothing of the environment is left in AWS.
async fn assert_gone(aws: &Aws, estate: &Estate) {
    let env = estate.env;
    let cluster = aws
        .eks
        .describe_cluster()
        .name(format!("innovate-{env}"))
        .send()
        .await;
    let code =
        aws_sdk_eks::error::ProvideErrorMetadata::code(&cluster.unwrap_err()).map(str::to_string);
    assert_eq!(code.as_deref(), Some("ResourceNotFoundException"));
    let db = aws
        .rds
        .describe_db_instances()
        .db_instance_identifier(format!("innovate-{env}-postgres"))
        .send()
        .await;
    let code = aws_sdk_rds::error::ProvideErrorMetadata::code(&db.unwrap_err()).map(str::to_string);
    assert_eq!(code.as_deref(), Some("DBInstanceNotFound"));
    assert!(aws.vpcs(env).await.is_empty(), "no VPC of innovate {env}");
    for role in [
        "eks-cluster",
        "eks-node",
        "vpc-cni",
        "lb-controller",
        "cluster-autoscaler",
        "velero",
        "vpc-flow-logs",
        "vault",
    ] {
        let got = aws
            .iam
            .get_role()
            .role_name(format!("innovate-{env}-{role}"))
            .send()
            .await;
        assert!(got.is_err(), "role {role} is gone");
    }
    let providers = aws
        .iam
        .list_open_id_connect_providers()
        .send()
        .await
        .unwrap();
    assert!(providers.open_id_connect_provider_list().is_empty());
    let s3 = aws_sdk_s3::Client::new(&sdk_config().await);
    let bucket = format!("innovate-{env}-backups-{}", common::emulator::account_id());
    assert!(
        s3.head_bucket().bucket(&bucket).send().await.is_err(),
        "{bucket} is gone"
    );
    assert_eq!(estate.state_list().trim(), "");
}

/// The VPC's flow log to its own log group (retention and key the estate's), the control
/// plane's log group made before the cluster; prod's Vault table under the Vault key.
async fn verify_logs_and_vault(aws: &Aws, expected: &Expected, state: &Value) {
    let env = expected.env;
    let config = sdk_config().await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let days = if env == "prod" { 90 } else { 30 };
    let logs_key = state["resources"]["logs_key"]["outputs"]["arn"].as_str();
    for name in [
        format!("/vpc-flow-logs/innovate-{env}"),
        format!("/aws/eks/innovate-{env}/cluster"),
    ] {
        let found = logs
            .describe_log_groups()
            .log_group_name_prefix(&name)
            .send()
            .await
            .unwrap();
        let group = found
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(&name));
        let group = group.unwrap_or_else(|| panic!("log group {name}"));
        assert_eq!(group.retention_in_days(), Some(days), "{name}");
        assert_eq!(group.kms_key_id(), logs_key, "{name}");
    }
    let vpc = state["resources"]["main"]["id"].as_str().unwrap();
    let filter = Filter::builder().name("resource-id").values(vpc).build();
    let flow_logs = aws
        .ec2
        .describe_flow_logs()
        .filter(filter)
        .send()
        .await
        .unwrap();
    let flow_logs = flow_logs.flow_logs();
    assert_eq!(flow_logs.len(), 1, "one flow log of the VPC");
    assert_eq!(flow_logs[0].traffic_type().map(|t| t.as_str()), Some("ALL"));
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let table = dynamodb
        .describe_table()
        .table_name(format!("innovate-{env}-vault"))
        .send()
        .await;
    if env != "prod" {
        assert!(table.is_err(), "no Vault table in {env}");
        return;
    }
    let table = table.unwrap();
    let table = table.table().unwrap();
    let keys: Vec<_> = table
        .key_schema()
        .iter()
        .map(|k| k.attribute_name())
        .collect();
    assert_eq!(keys, ["Path", "Key"], "Vault's own schema");
    let sse = table.sse_description().and_then(|d| d.kms_master_key_arn());
    assert_eq!(
        sse,
        state["resources"]["vault_key[0]"]["outputs"]["arn"].as_str()
    );
}

const SHARED_SERVICES: &str = include_str!("../plans/shared-services.yaml");

/// plans/shared-services.yaml: two immutable, scanned repositories the organization may pull
/// from, GitHub's OIDC provider and a push role only the product's main branch can assume;
/// no change on a second plan, no drift, nothing left after destroy.
#[tokio::test]
async fn shared_services_registry_and_ci_identity_apply_and_destroy() {
    let ws = Workspace::new();
    let bp = ws.path().join("shared-services.yaml");
    std::fs::write(&bp, SHARED_SERVICES).unwrap();
    let bp = bp.to_str().unwrap();
    let vars = [
        "--var",
        "organization_id=o-a1b2c3d4e5",
        "--var",
        "github_repository=innovate-inc/innovate",
    ];
    let run = |command: &str, extra: &[&str]| ws.run(&[&[command, bp][..], &vars, extra].concat());
    let applied = run("apply", &["--auto-approve"]).expect(0);
    assert!(
        applied
            .stdout()
            .contains("Apply complete! Resources: 4 added"),
        "{}",
        applied.stdout()
    );

    let config = sdk_config().await;
    let ecr = aws_sdk_ecr::Client::new(&config);
    for name in ["innovate/backend", "innovate/frontend"] {
        let described = ecr
            .describe_repositories()
            .repository_names(name)
            .send()
            .await
            .unwrap();
        let repository = &described.repositories()[0];
        assert_eq!(
            repository.image_tag_mutability().map(|m| m.as_str()),
            Some("IMMUTABLE")
        );
        let scanning = repository.image_scanning_configuration().unwrap();
        assert!(scanning.scan_on_push(), "{name} scans on push");
        let policy = ecr
            .get_repository_policy()
            .repository_name(name)
            .send()
            .await
            .unwrap();
        let policy: Value = serde_json::from_str(policy.policy_text().unwrap()).unwrap();
        let condition = &policy["Statement"][0]["Condition"]["StringEquals"]["aws:PrincipalOrgID"];
        assert_eq!(condition, "o-a1b2c3d4e5", "only the organization pulls");
    }
    let iam = aws_sdk_iam::Client::new(&config);
    let role = iam
        .get_role()
        .role_name("innovate-ci-push")
        .send()
        .await
        .unwrap();
    let trust = role.role().unwrap().assume_role_policy_document().unwrap();
    let trust = innovate::aws::iam::policy::from_aws(trust).unwrap();
    let subject = &trust["Statement"][0]["Condition"]["StringEquals"]
        ["token.actions.githubusercontent.com:sub"];
    assert_eq!(
        subject, "repo:innovate-inc/innovate:ref:refs/heads/main",
        "the main branch only"
    );

    let replan = run("plan", &["--detailed-exitcode"]).expect(0);
    assert!(
        replan.stdout().contains("No changes."),
        "{}",
        replan.stdout()
    );
    run("drift", &[]).expect(0);
    let destroyed = run("destroy", &["--auto-approve"]).expect(0);
    assert!(
        destroyed.stdout().contains("4 destroyed."),
        "{}",
        destroyed.stdout()
    );
    let left = ecr
        .describe_repositories()
        .repository_names("innovate/backend")
        .send()
        .await;
    assert!(left.is_err(), "the repository is gone");
    assert!(iam
        .get_role()
        .role_name("innovate-ci-push")
        .send()
        .await
        .is_err());
}

#[tokio::test]
async fn dev_estate_applies_changes_and_destroys() {
    let _one = ONE_ESTATE_AT_A_TIME.lock().await;
    let aws = Aws::new().await;
    let estate = Estate::new(&DEV);
    apply_and_change(
        &estate,
        &aws,
        &DEV,
        ("db_identifier=innovate-dev-postgres-v2", "identifier"),
    )
    .await;

    let destroyed = estate.run("destroy", &["--auto-approve"]).expect(0);
    assert!(
        destroyed.stdout().contains(&format!(
            "Destroy complete! Resources: 0 added, 0 changed, {} destroyed.",
            DEV.resources
        )),
        "{}",
        destroyed.stdout()
    );
    assert_gone(&aws, &estate).await;
    let snapshots = aws.rds.describe_db_snapshots().send().await.unwrap();
    assert!(
        snapshots.db_snapshots().iter().all(|s| !s
            .db_snapshot_identifier()
            .unwrap()
            .starts_with("innovate-dev-")),
        "dev skips the final snapshot"
    );
}

#[tokio::test]
async fn prod_estate_applies_changes_and_destroys_only_once_unprotected() {
    let _one = ONE_ESTATE_AT_A_TIME.lock().await;
    let aws = Aws::new().await;
    let estate = Estate::new(&PROD);
    apply_and_change(
        &estate,
        &aws,
        &PROD,
        ("db_engine=aurora-postgresql", "engine"),
    )
    .await;

    // Deletion protection holds: destroy removes everything around the database and keeps
    // it and what it stands on, in AWS and in the state, and says so with exit 1.
    let refused = estate.run("destroy", &["--auto-approve"]).expect(1);
    let err = refused.stderr();
    assert!(
        err.contains("db (rds.db_instance): protected by deletion_protection: true"),
        "{err}"
    );
    let db = aws.db("prod").await;
    assert_eq!(db.deletion_protection(), Some(true));
    assert_eq!(aws.vpcs("prod").await.len(), 1);
    let listed = estate.state_list();
    for address in ["db", "db_subnets", "db_access", "main"] {
        assert!(
            listed.lines().any(|l| l == address),
            "{address} kept: {listed}"
        );
    }
    assert!(
        !listed.lines().any(|l| l == "cluster"),
        "what the database does not need is gone: {listed}"
    );

    // Turning protection off is an in-place change (and brings back what the destroy
    // removed); then destroy goes through and leaves a final snapshot.
    let unprotect = ["--var", "deletion_protection=false"];
    let mut args = vec!["--json"];
    args.extend_from_slice(&unprotect);
    let planned: Value =
        serde_json::from_str(&estate.run("plan", &args).expect(0).stdout()).unwrap();
    let db = planned["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "db")
        .unwrap();
    assert_eq!(db["action"], "update", "{db}");
    let change = db["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["attr"] == "deletion_protection")
        .unwrap_or_else(|| panic!("{db}"));
    assert_eq!(
        (&change["before"], &change["after"]),
        (&Value::Bool(true), &Value::Bool(false))
    );
    let mut args = vec!["--auto-approve"];
    args.extend_from_slice(&unprotect);
    estate.run("apply", &args).expect(0);
    assert_eq!(aws.db("prod").await.deletion_protection(), Some(false));
    estate
        .run(
            "plan",
            &["--detailed-exitcode", "--var", "deletion_protection=false"],
        )
        .expect(0);

    let destroyed = estate.run("destroy", &["--auto-approve"]).expect(0);
    assert!(
        destroyed.stdout().contains(&format!(
            "Destroy complete! Resources: 0 added, 0 changed, {} destroyed.",
            PROD.resources
        )),
        "{}",
        destroyed.stdout()
    );
    assert_gone(&aws, &estate).await;
    let snapshots = aws.rds.describe_db_snapshots().send().await.unwrap();
    assert!(
        snapshots.db_snapshots().iter().any(|s| s
            .db_snapshot_identifier()
            .unwrap()
            .starts_with("innovate-prod-postgres-final-")),
        "prod keeps a final snapshot"
    );
}

/// The seeds' phase 1: dev and prod in one account at once. Each cluster has its own OIDC
/// issuer, so each estate gets its own IAM OIDC provider; neither plan sees the other's
/// resources as changes, and both destroy to nothing.
#[tokio::test]
async fn dev_and_prod_live_side_by_side_in_one_account() {
    let _one = ONE_ESTATE_AT_A_TIME.lock().await;
    let aws = Aws::new().await;
    let dev = Estate::new(&DEV);
    let mut prod = Estate::new(&PROD);
    // Unprotected, so that the destroy at the end takes the database too.
    prod.vars
        .extend(["--var".to_string(), "deletion_protection=false".to_string()]);
    dev.run("apply", &["--auto-approve"]).expect(0);
    prod.run("apply", &["--auto-approve"]).expect(0);

    let issuer = |cluster: aws_sdk_eks::types::Cluster| {
        let oidc = cluster.identity().and_then(|i| i.oidc()).cloned();
        oidc.and_then(|o| o.issuer().map(str::to_string))
            .expect("an issuer")
    };
    let issuers = set([
        issuer(aws.cluster("dev").await),
        issuer(aws.cluster("prod").await),
    ]);
    assert_eq!(issuers.len(), 2, "each cluster its own issuer: {issuers:?}");
    for issuer in &issuers {
        let id = issuer.rsplit('/').next().unwrap();
        assert!(
            issuer.starts_with("https://oidc.eks.us-east-1.amazonaws.com/id/")
                && id.len() == 32
                && id
                    .chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()),
            "AWS's shape: {issuer}"
        );
    }
    let providers = aws
        .iam
        .list_open_id_connect_providers()
        .send()
        .await
        .unwrap();
    assert_eq!(providers.open_id_connect_provider_list().len(), 2);

    for estate in [&dev, &prod] {
        let replan = estate.run("plan", &["--detailed-exitcode"]).expect(0);
        assert!(
            replan.stdout().contains("No changes."),
            "{}",
            replan.stdout()
        );
    }
    let destroyed = dev.run("destroy", &["--auto-approve"]).expect(0);
    assert!(
        destroyed
            .stdout()
            .contains(&format!("{} destroyed.", DEV.resources)),
        "{}",
        destroyed.stdout()
    );
    let destroyed = prod.run("destroy", &["--auto-approve"]).expect(0);
    assert!(
        destroyed
            .stdout()
            .contains(&format!("{} destroyed.", PROD.resources)),
        "{}",
        destroyed.stdout()
    );
    assert_gone(&aws, &dev).await;
    assert_gone(&aws, &prod).await;
}
