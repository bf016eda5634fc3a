//! Replacements applied end to end against the emulator: an attribute that forces a new
//! resource is changed in the blueprint, the plan says so, apply deletes the old resource and
//! creates the new one (or, with `lifecycle: { create_before_destroy: true }`, the new one
//! first, its dependents moved over, then the old one), after which AWS holds only the new
//! resource, the state points at it, and a plan has nothing left to do.

mod common;

use common::cli::{Run, Workspace};
use common::emulator::sdk_config;
use serde_json::Value;
use std::path::PathBuf;

struct Estate {
    ws: Workspace,
    bp: PathBuf,
    state: PathBuf,
}

impl Estate {
    fn applied(name: &str, blueprint: &str) -> Estate {
        let ws = Workspace::new();
        let bp = ws.write_blueprint(blueprint);
        let state = ws.state_file(&format!("{name}-default.json"));
        let estate = Estate { ws, bp, state };
        estate.run("apply", &["--auto-approve"]).expect(0);
        estate
    }

    fn run(&self, command: &str, args: &[&str]) -> Run {
        let full = [&[command, self.bp.to_str().unwrap()][..], args].concat();
        self.ws.run(&full)
    }

    fn resource(&self, address: &str) -> Value {
        let state: Value =
            serde_json::from_str(&std::fs::read_to_string(&self.state).unwrap()).unwrap();
        let found = state["resources"][address].clone();
        assert!(
            found.is_object(),
            "{address} is not in the state: {state:#}"
        );
        found
    }

    fn id(&self, address: &str) -> String {
        self.resource(address)["id"].as_str().unwrap().to_string()
    }

    fn output(&self, address: &str, name: &str) -> String {
        let resource = self.resource(address);
        let value = resource["outputs"][name].as_str();
        value
            .unwrap_or_else(|| panic!("{address}.{name}: {resource:#}"))
            .to_string()
    }

    /// Writes `blueprint`, checks the plan replaces `address` for `reason` (and how), applies
    /// it with JSON events, and checks that a plan afterwards is clean. The events.
    fn replace(&self, blueprint: &str, address: &str, reason: &str, how: &str) -> Vec<Value> {
        self.ws.write_blueprint(blueprint);
        let plan = self.run("plan", &["--detailed-exitcode"]).expect(2);
        let line = format!("{how} {address} (");
        let shown = plan.stdout();
        let step = shown.lines().find(|l| l.starts_with(&line));
        let step = step.unwrap_or_else(|| panic!("no `{line}` in the plan:\n{shown}"));
        assert!(
            step.contains(&format!("({reason} forces replacement)")),
            "{shown}"
        );
        let json = self.run("plan", &["--json"]).expect(0);
        let json: Value = serde_json::from_str(&json.stdout()).unwrap();
        let replaced: Vec<&str> = json["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["action"] == "replace")
            .map(|s| s["address"].as_str().unwrap())
            .collect();
        assert_eq!(replaced, [address], "only {address} is replaced: {json:#}");
        let applied = self.run("apply", &["--auto-approve", "--json"]).expect(0);
        let events = events(&applied.stdout());
        self.run("plan", &["--detailed-exitcode"]).expect(0);
        self.run("drift", &[]).expect(0);
        events
    }
}

fn events(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect()
}

/// Where the `done` event of `action` on `address` is.
fn done(events: &[Value], action: &str, address: &str) -> usize {
    events
        .iter()
        .position(|e| e["event"] == "done" && e["action"] == action && e["address"] == address)
        .unwrap_or_else(|| panic!("no done {action} of {address}: {events:#?}"))
}

fn database(identifier: &str, db_name: &str) -> String {
    format!(
        r#"
blueprint: repl-rds
region: us-east-1
resources:
  db:
    kind: rds.db_instance
    identifier: {identifier}
    engine: postgres
    instance_class: db.t4g.micro
    allocated_storage: 20
    db_name: {db_name}
    skip_final_snapshot: true
"#
    )
}

/// A new `db_name` replaces the instance under the same identifier: the old one is deleted
/// before the new one takes its name (DbiResourceId tells them apart). A new `identifier`
/// replaces it under the new name, and the old name is gone.
#[tokio::test]
async fn a_db_instance_is_replaced_in_place_of_its_name_and_under_a_new_one() {
    let rds = aws_sdk_rds::Client::new(&sdk_config().await);
    let estate = Estate::applied("repl-rds", &database("repl-rds-a", "first"));
    let first = estate.output("db", "resource_id");

    let events = estate.replace(&database("repl-rds-a", "second"), "db", "db_name", "-/+");
    assert!(
        done(&events, "delete", "db") < done(&events, "create", "db"),
        "the old instance goes first, its identifier is taken: {events:#?}"
    );
    assert_eq!(estate.id("db"), "repl-rds-a");
    let second = estate.output("db", "resource_id");
    assert_ne!(second, first, "a new instance");
    let all = rds.describe_db_instances().send().await.unwrap();
    let resource_ids: Vec<Option<&str>> = all
        .db_instances()
        .iter()
        .filter(|db| db.db_instance_identifier() == Some("repl-rds-a"))
        .map(|db| db.dbi_resource_id())
        .collect();
    assert_eq!(resource_ids, [Some(second.as_str())], "only the new one");
    let found = rds
        .describe_db_instances()
        .db_instance_identifier("repl-rds-a")
        .send()
        .await
        .unwrap();
    assert_eq!(found.db_instances()[0].db_name(), Some("second"));
    let snapshots = rds
        .describe_db_snapshots()
        .db_instance_identifier("repl-rds-a")
        .send()
        .await
        .unwrap();
    let manual: Vec<(Option<&str>, Option<&str>)> = snapshots
        .db_snapshots()
        .iter()
        .filter(|s| s.snapshot_type() != Some("automated"))
        .map(|s| (s.db_snapshot_identifier(), s.snapshot_type()))
        .collect();
    assert!(
        manual.is_empty(),
        "skip_final_snapshot: no final snapshot of the old one: {manual:?}"
    );

    estate.replace(&database("repl-rds-b", "second"), "db", "identifier", "-/+");
    assert_eq!(estate.id("db"), "repl-rds-b", "state points at the new one");
    let old = rds
        .describe_db_instances()
        .db_instance_identifier("repl-rds-a")
        .send()
        .await;
    let code = old
        .err()
        .and_then(|e| e.into_service_error().meta().code().map(str::to_string));
    assert_eq!(
        code.as_deref(),
        Some("DBInstanceNotFound"),
        "the old one is gone"
    );
    let new = rds
        .describe_db_instances()
        .db_instance_identifier("repl-rds-b")
        .send()
        .await
        .unwrap();
    assert_eq!(new.db_instances()[0].db_name(), Some("second"));
    estate.run("destroy", &["--auto-approve"]).expect(0);
}

fn eks_estate(instance_type: &str) -> String {
    format!(
        r#"
blueprint: repl-eks
region: us-east-1
variables:
  azs: [us-east-1a, us-east-1b]
resources:
  main: {{ kind: ec2.vpc, cidr_block: 10.72.0.0/16 }}
  net:
    kind: ec2.subnet
    count: 2
    vpc_id: ${{main.id}}
    cidr_block: "10.72.${{count.index}}.0/24"
    availability_zone: ${{var.azs[count.index]}}
  cluster_role:
    kind: iam.role
    name: repl-eks-cluster
    assume_role_policy:
      Version: "2012-10-17"
      Statement: [{{ Effect: Allow, Principal: {{ Service: eks.amazonaws.com }}, Action: sts:AssumeRole }}]
  node_role:
    kind: iam.role
    name: repl-eks-node
    assume_role_policy:
      Version: "2012-10-17"
      Statement: [{{ Effect: Allow, Principal: {{ Service: ec2.amazonaws.com }}, Action: sts:AssumeRole }}]
  cluster:
    kind: eks.cluster
    name: repl-eks
    role_arn: ${{cluster_role.arn}}
    subnet_ids: ${{net[*].id}}
  nodes:
    kind: eks.nodegroup
    cluster_name: ${{cluster.name}}
    name: workers
    node_role_arn: ${{node_role.arn}}
    subnet_ids: ${{net[*].id}}
    instance_types: [{instance_type}]
    scaling: {{ min_size: 1, max_size: 3, desired_size: 2 }}
"#
    )
}

/// New instance types replace the node group: deleted, then created under the same name
/// (a new ARN), the cluster untouched.
#[tokio::test]
async fn a_node_group_is_replaced_for_new_instance_types() {
    let eks = aws_sdk_eks::Client::new(&sdk_config().await);
    let estate = Estate::applied("repl-eks", &eks_estate("t3.medium"));
    let old_arn = estate.output("nodes", "arn");
    let cluster_arn = estate.output("cluster", "arn");

    let events = estate.replace(&eks_estate("m7g.large"), "nodes", "instance_types", "-/+");
    assert!(
        done(&events, "delete", "nodes") < done(&events, "create", "nodes"),
        "{events:#?}"
    );
    let new_arn = estate.output("nodes", "arn");
    assert_ne!(new_arn, old_arn, "a new node group");
    assert_eq!(estate.id("nodes"), "repl-eks:workers");
    assert_eq!(estate.output("cluster", "arn"), cluster_arn, "cluster kept");
    let groups = eks
        .list_nodegroups()
        .cluster_name("repl-eks")
        .send()
        .await
        .unwrap();
    assert_eq!(groups.nodegroups(), ["workers"], "only the new one");
    let found = eks
        .describe_nodegroup()
        .cluster_name("repl-eks")
        .nodegroup_name("workers")
        .send()
        .await
        .unwrap();
    let group = found.nodegroup().unwrap();
    assert_eq!(group.nodegroup_arn(), Some(new_arn.as_str()));
    assert_eq!(group.instance_types(), ["m7g.large"]);
    estate.run("destroy", &["--auto-approve"]).expect(0);
}

fn subnet_estate(cidr: &str) -> String {
    format!(
        r#"
blueprint: repl-cbd
region: us-east-1
resources:
  main: {{ kind: ec2.vpc, cidr_block: 10.73.0.0/16 }}
  net:
    kind: ec2.subnet
    vpc_id: ${{main.id}}
    cidr_block: {cidr}
    availability_zone: us-east-1a
    lifecycle: {{ create_before_destroy: true }}
  routes:
    kind: ec2.route_table
    vpc_id: ${{main.id}}
    subnet_ids: ["${{net.id}}"]
"#
    )
}

/// `create_before_destroy`: the new subnet is created first, the route table's association
/// moves to it, and only then is the old subnet deleted.
#[tokio::test]
async fn create_before_destroy_creates_the_new_subnet_moves_its_dependents_then_deletes() {
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let estate = Estate::applied("repl-cbd", &subnet_estate("10.73.1.0/24"));
    let old = estate.id("net");

    let events = estate.replace(&subnet_estate("10.73.2.0/24"), "net", "cidr_block", "+/-");
    let created = done(&events, "create", "net");
    let moved = done(&events, "update", "routes");
    let deleted = done(&events, "delete", "net");
    assert!(
        created < moved && moved < deleted,
        "create, move the association, then delete: {events:#?}"
    );
    let new = estate.id("net");
    assert_ne!(new, old);
    let gone = ec2.describe_subnets().subnet_ids(&old).send().await;
    let code = gone
        .err()
        .and_then(|e| e.into_service_error().meta().code().map(str::to_string));
    assert_eq!(
        code.as_deref(),
        Some("InvalidSubnetID.NotFound"),
        "old one gone"
    );
    let found = ec2
        .describe_subnets()
        .subnet_ids(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(found.subnets()[0].cidr_block(), Some("10.73.2.0/24"));
    let table = ec2
        .describe_route_tables()
        .route_table_ids(estate.id("routes"))
        .send()
        .await
        .unwrap();
    let associated: Vec<Option<&str>> = table.route_tables()[0]
        .associations()
        .iter()
        .filter(|a| a.main() != Some(true))
        .map(|a| a.subnet_id())
        .collect();
    assert_eq!(associated, [Some(new.as_str())], "the association moved");
    estate.run("destroy", &["--auto-approve"]).expect(0);
}

fn nacl_estate(vpc: &str, subnet: &str) -> String {
    format!(
        r#"
blueprint: repl-nacl
region: us-east-1
resources:
  a: {{ kind: ec2.vpc, cidr_block: 10.51.0.0/16 }}
  b: {{ kind: ec2.vpc, cidr_block: 10.52.0.0/16 }}
  sa: {{ kind: ec2.subnet, vpc_id: "${{a.id}}", cidr_block: 10.51.1.0/24 }}
  sb: {{ kind: ec2.subnet, vpc_id: "${{b.id}}", cidr_block: 10.52.1.0/24 }}
  acl:
    kind: ec2.network_acl
    vpc_id: ${{{vpc}.id}}
    subnet_ids: ["${{{subnet}.id}}"]
    ingress:
      - {{ rule_number: 100, protocol: "-1", action: allow, cidr_block: 10.0.0.0/8 }}
"#
    )
}

/// A NACL moves to another VPC only as a new NACL: the old one gives its subnet back to its
/// VPC's default NACL before it goes, the new one takes the other VPC's subnet.
#[tokio::test]
async fn a_network_acl_is_replaced_for_a_new_vpc_and_its_subnet_goes_back_to_the_default() {
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let guard_of = |subnet: String| {
        let ec2 = ec2.clone();
        async move {
            let filter = aws_sdk_ec2::types::Filter::builder()
                .name("association.subnet-id")
                .values(subnet)
                .build();
            let found = ec2
                .describe_network_acls()
                .filters(filter)
                .send()
                .await
                .unwrap();
            let acl = &found.network_acls()[0];
            (
                acl.network_acl_id().unwrap().to_string(),
                acl.is_default() == Some(true),
            )
        }
    };
    let estate = Estate::applied("repl-nacl", &nacl_estate("a", "sa"));
    let old = estate.id("acl");
    assert_eq!(guard_of(estate.id("sa")).await, (old.clone(), false));

    estate.replace(&nacl_estate("b", "sb"), "acl", "vpc_id", "-/+");
    let new = estate.id("acl");
    assert_ne!(new, old);
    assert_eq!(guard_of(estate.id("sb")).await, (new, false));
    assert!(
        guard_of(estate.id("sa")).await.1,
        "sa is back on its VPC's default NACL"
    );
    let gone = ec2
        .describe_network_acls()
        .network_acl_ids(&old)
        .send()
        .await;
    assert!(gone.is_err(), "the old NACL is deleted");
    estate.run("destroy", &["--auto-approve"]).expect(0);
}

/// A read replica stands on its source: destroy deletes the replica first (RDS would
/// otherwise promote it to a standalone instance nobody manages), and the replica's create
/// came after the source was available.
#[tokio::test]
async fn a_read_replica_is_created_after_and_destroyed_before_its_source() {
    let blueprint = r#"
blueprint: repl-replica
region: us-east-1
resources:
  source:
    kind: rds.db_instance
    identifier: repl-replica-source
    engine: postgres
    instance_class: db.t4g.micro
    allocated_storage: 20
    skip_final_snapshot: true
  reporting:
    kind: rds.db_instance
    identifier: repl-replica-reporting
    engine: postgres
    instance_class: db.t4g.micro
    replicate_source_db: ${source.id}
    availability_zone: us-east-1c
"#;
    let ws = Workspace::new();
    let bp = ws.write_blueprint(blueprint);
    let bp = bp.to_str().unwrap();
    let applied = ws.run(&["apply", bp, "--auto-approve", "--json"]).expect(0);
    let created = events(&applied.stdout());
    assert!(done(&created, "create", "source") < done(&created, "create", "reporting"));
    let rds = aws_sdk_rds::Client::new(&sdk_config().await);
    let replica = rds
        .describe_db_instances()
        .db_instance_identifier("repl-replica-reporting");
    let replica = replica.send().await.unwrap();
    let replica = &replica.db_instances()[0];
    assert_eq!(
        replica.read_replica_source_db_instance_identifier(),
        Some("repl-replica-source")
    );
    assert_eq!(replica.availability_zone(), Some("us-east-1c"));
    ws.run(&["plan", bp, "--detailed-exitcode"]).expect(0);

    let destroyed = ws
        .run(&["destroy", bp, "--auto-approve", "--json"])
        .expect(0);
    let deleted = events(&destroyed.stdout());
    assert!(
        done(&deleted, "delete", "reporting") < done(&deleted, "delete", "source"),
        "the replica goes first: {deleted:#?}"
    );
}

fn endpoint_estate(service: &str) -> String {
    format!(
        r#"
blueprint: repl-endpoint
region: us-east-1
resources:
  vpc: {{ kind: ec2.vpc, cidr_block: 10.53.0.0/16 }}
  routes: {{ kind: ec2.route_table, vpc_id: "${{vpc.id}}" }}
  endpoint:
    kind: ec2.vpc_endpoint
    vpc_id: ${{vpc.id}}
    service_name: com.amazonaws.us-east-1.{service}
    route_table_ids: ["${{routes.id}}"]
"#
    )
}

/// Another service is another endpoint: the old one (and its route) goes, the new one takes
/// the route table.
#[tokio::test]
async fn a_vpc_endpoint_is_replaced_for_another_service() {
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let estate = Estate::applied("repl-endpoint", &endpoint_estate("s3"));
    let old = estate.id("endpoint");
    estate.replace(
        &endpoint_estate("dynamodb"),
        "endpoint",
        "service_name",
        "-/+",
    );
    let new = estate.id("endpoint");
    assert_ne!(new, old);
    let described = ec2
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(&new)
        .send()
        .await
        .unwrap();
    let endpoint = &described.vpc_endpoints()[0];
    assert_eq!(
        endpoint.service_name(),
        Some("com.amazonaws.us-east-1.dynamodb")
    );
    assert_eq!(endpoint.route_table_ids(), [estate.id("routes")]);
    let old = ec2
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(&old)
        .send()
        .await
        .unwrap();
    let state = old
        .vpc_endpoints()
        .first()
        .and_then(|e| e.state())
        .map(|s| s.as_str().to_string());
    assert!(
        state
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case("deleted")),
        "the old endpoint is gone: {state:?}"
    );
    estate.run("destroy", &["--auto-approve"]).expect(0);
}
