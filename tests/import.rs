//! `innovate import BLUEPRINT ADDR ID`: a resource made outside this state (with the SDK, or
//! by another state that was then lost) is adopted at its blueprint address with its id and
//! the attributes AWS reports; the next plan changes it in place at most (innovate's identity
//! tags, which an adopted resource does not carry yet), one apply settles it, and nothing is
//! created twice. One test per service; imports that cannot work (an address the blueprint
//! lacks, an id AWS does not know, an address already taken) are refused with the state left
//! byte for byte as it was.

mod common;

use common::cli::{Run, Workspace};
use common::emulator::sdk_config;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// A workspace holding one blueprint and its state, run as the user would.
struct Estate {
    ws: Workspace,
    bp: PathBuf,
    state: PathBuf,
}

impl Estate {
    fn new(name: &str, blueprint: &str) -> Estate {
        let ws = Workspace::new();
        let bp = ws.write_blueprint(blueprint);
        let state = ws.state_file(&format!("{name}-default.json"));
        Estate { ws, bp, state }
    }

    /// `innovate COMMAND BLUEPRINT ARGS...` (`state list` counts as one command).
    fn run(&self, command: &[&str], args: &[&str]) -> Run {
        let bp = self.bp.to_str().unwrap();
        let full: Vec<&str> = [command, &[bp], args].concat();
        self.ws.run(&full)
    }

    fn import(&self, address: &str, id: &str) -> Run {
        self.run(&["import"], &[address, id])
    }

    fn state(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(&self.state).unwrap()).unwrap()
    }

    fn resource(&self, address: &str) -> Value {
        let state = self.state();
        let found = state["resources"][address].clone();
        assert!(
            found.is_object(),
            "{address} is not in the state: {state:#}"
        );
        found
    }

    /// Imports `id` at `address`: exit 0, the message names both, the state holds the id.
    fn imports(&self, address: &str, kind: &str, id: &str) -> Run {
        let run = self.import(address, id).expect(0);
        assert!(
            run.stdout()
                .contains(&format!("Imported {address} ({kind} {id})")),
            "{}",
            run.stdout()
        );
        let resource = self.resource(address);
        assert_eq!(resource["id"], id, "{resource:#}");
        assert_eq!(resource["kind"], kind, "{resource:#}");
        run
    }

    /// Every step of the plan that does something, as `address action`.
    fn actions(&self) -> BTreeSet<String> {
        let plan = self.run(&["plan"], &["--json"]).expect(0);
        let json: Value = serde_json::from_str(&plan.stdout()).unwrap();
        let steps = json["resources"].as_array().unwrap().iter();
        let acting = steps.filter(|step| step["action"] != "no_op");
        let actions = acting.map(|step| {
            format!(
                "{} {}",
                step["address"].as_str().unwrap(),
                step["action"].as_str().unwrap()
            )
        });
        actions.collect()
    }

    /// The plan after the imports changes `adopted` in place at most: an imported resource
    /// is never planned for replacement or deletion.
    fn plans_in_place(&self, adopted: &[&str]) {
        let actions = self.actions();
        for address in adopted {
            for bad in ["replace", "delete", "create"] {
                let step = format!("{address} {bad}");
                assert!(!actions.contains(&step), "{actions:#?}");
            }
        }
    }

    /// Every change the plan makes, as `address action attr` lines.
    fn planned(&self) -> BTreeSet<String> {
        let plan = self.run(&["plan"], &["--json"]).expect(0);
        let json: Value = serde_json::from_str(&plan.stdout()).unwrap();
        let mut changes = BTreeSet::new();
        for step in json["resources"].as_array().unwrap() {
            let action = step["action"].as_str().unwrap();
            if action == "no_op" {
                continue;
            }
            let address = step["address"].as_str().unwrap();
            let attrs = step["changes"].as_array().unwrap();
            if attrs.is_empty() {
                changes.insert(format!("{address} {action}"));
            }
            for change in attrs {
                let attr = change["attr"].as_str().unwrap();
                changes.insert(format!("{address} {action} {attr}"));
            }
        }
        changes
    }

    /// The plan after the imports changes only innovate's identity tags of `tagged`, in place
    /// (an adopted resource carries none of this state's yet): whatever a kind's read does not
    /// report must not turn into a change, least of all a replacement. One apply then settles
    /// everything.
    fn settles_with_tags_only(&self, tagged: &[&str]) {
        let planned = self.planned();
        let others: Vec<&String> = planned
            .iter()
            .filter(|change| {
                let mut words = change.split(' ');
                let (address, action, attr) = (words.next(), words.next(), words.next());
                !(address.is_some_and(|a| tagged.contains(&a))
                    && action == Some("update")
                    && attr.is_some_and(|a| a.starts_with("innovate:")))
            })
            .collect();
        assert!(others.is_empty(), "only identity tags differ: {planned:#?}");
        self.settles(&[]);
    }

    /// One apply (of `targets` and what they need, or of everything) adopts what was
    /// imported, replacing nothing; then nothing is left to change there.
    fn settles(&self, targets: &[&str]) {
        let targeting: Vec<&str> = targets.iter().flat_map(|t| ["--target", t]).collect();
        let ids_before = self.ids();
        let apply = [&["--auto-approve"][..], &targeting].concat();
        self.run(&["apply"], &apply).expect(0);
        assert_eq!(self.ids(), ids_before, "apply adopted, it replaced nothing");
        let plan = [&["--detailed-exitcode"][..], &targeting].concat();
        self.run(&["plan"], &plan).expect(0);
        if targets.is_empty() {
            self.run(&["drift"], &[]).expect(0);
        }
    }

    fn ids(&self) -> Vec<(String, String)> {
        let state = self.state();
        let resources = state["resources"].as_object().unwrap();
        let ids = resources.iter().map(|(address, r)| {
            let id = r["id"].as_str().unwrap().to_string();
            (address.clone(), id)
        });
        ids.collect()
    }

    fn lineage(&self) -> String {
        self.state()["lineage"].as_str().unwrap().to_string()
    }

    /// `import` at `address` is refused with `message`, and the state file is byte for byte
    /// what it was (or still absent).
    fn refuses(&self, address: &str, id: &str, message: &str) {
        let before = std::fs::read(&self.state).ok();
        let run = self.import(address, id).expect(1);
        assert!(run.stderr().contains(message), "{}", run.stderr());
        assert_eq!(
            std::fs::read(&self.state).ok(),
            before,
            "a refused import leaves the state alone"
        );
    }
}

fn ec2_tag<'a>(tags: &'a [aws_sdk_ec2::types::Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

fn name_tag(
    resource: aws_sdk_ec2::types::ResourceType,
    name: &str,
) -> aws_sdk_ec2::types::TagSpecification {
    let tag = aws_sdk_ec2::types::Tag::builder()
        .key("Name")
        .value(name)
        .build();
    aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(resource)
        .tags(tag)
        .build()
}

#[tokio::test]
async fn ec2_a_vpc_and_its_subnet_made_with_the_sdk_are_imported_and_adopted() {
    use aws_sdk_ec2::types::ResourceType;
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.61.0.0/16")
        .tag_specifications(name_tag(ResourceType::Vpc, "imp-ec2"))
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.61.1.0/24")
        .availability_zone("us-east-1a")
        .tag_specifications(name_tag(ResourceType::Subnet, "imp-ec2-a"))
        .send()
        .await
        .unwrap();
    let subnet_id = subnet.subnet().unwrap().subnet_id().unwrap().to_string();

    let estate = Estate::new(
        "imp-ec2",
        r#"
blueprint: imp-ec2
region: us-east-1
resources:
  main: { kind: ec2.vpc, cidr_block: 10.61.0.0/16, tags: { Name: imp-ec2 } }
  net:
    kind: ec2.subnet
    vpc_id: ${main.id}
    cidr_block: 10.61.1.0/24
    availability_zone: us-east-1a
    tags: { Name: imp-ec2-a }
"#,
    );
    // Nothing to import at an address the blueprint lacks, or from an id AWS does not know;
    // no state file is made for either.
    estate.refuses(
        "ghost",
        &vpc_id,
        "ghost is not an instance of this blueprint: declare the resource first",
    );
    estate.refuses(
        "main",
        "vpc-0123456789abcdef0",
        "ec2.vpc vpc-0123456789abcdef0 does not exist",
    );
    assert!(!estate.state.exists());

    estate.imports("main", "ec2.vpc", &vpc_id);
    estate.refuses("net", "subnet-0123456789abcdef0", "does not exist");
    estate.imports("net", "ec2.subnet", &subnet_id);
    let main = estate.resource("main");
    assert_eq!(main["attrs"]["cidr_block"], "10.61.0.0/16", "{main:#}");
    assert_eq!(main["attrs"]["tags"]["Name"], "imp-ec2", "{main:#}");
    let net = estate.resource("net");
    assert_eq!(net["attrs"]["vpc_id"], vpc_id.as_str(), "{net:#}");
    assert_eq!(net["attrs"]["cidr_block"], "10.61.1.0/24", "{net:#}");
    assert_eq!(net["attrs"]["availability_zone"], "us-east-1a", "{net:#}");
    let listed = estate.run(&["state", "list"], &[]).expect(0);
    assert_eq!(listed.stdout(), "main\nnet\n");

    // Taken addresses and unknown ids are refused once a state exists too, byte for byte.
    estate.refuses("main", &subnet_id, "main is already in the state");

    estate.settles_with_tags_only(&["main", "net"]);
    let vpcs = ec2.describe_vpcs().vpc_ids(&vpc_id).send().await.unwrap();
    let tags = vpcs.vpcs()[0].tags();
    assert_eq!(
        ec2_tag(tags, "innovate:lineage"),
        Some(estate.lineage().as_str())
    );
    assert_eq!(ec2_tag(tags, "innovate:address"), Some("main"));
    let cidr = aws_sdk_ec2::types::Filter::builder()
        .name("cidr")
        .values("10.61.0.0/16")
        .build();
    let same_cidr = ec2.describe_vpcs().filters(cidr).send().await.unwrap();
    assert_eq!(same_cidr.vpcs().len(), 1, "no second VPC was created");

    estate.run(&["destroy"], &["--auto-approve"]).expect(0);
    let gone = ec2.describe_vpcs().vpc_ids(&vpc_id).send().await;
    assert!(gone.is_err(), "destroy deleted the imported VPC: {gone:?}");
}

fn trust(service: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Principal": { "Service": service }, "Action": "sts:AssumeRole" }]
    })
    .to_string()
}

#[tokio::test]
async fn iam_a_role_with_its_policies_and_an_oidc_provider_are_imported() {
    let iam = aws_sdk_iam::Client::new(&sdk_config().await);
    let managed = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy";
    iam.create_role()
        .role_name("imp-iam-cluster")
        .assume_role_policy_document(trust("eks.amazonaws.com"))
        .max_session_duration(7200)
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name("imp-iam-cluster")
        .policy_arn(managed)
        .send()
        .await
        .unwrap();
    let logs = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*" }]
    });
    iam.put_role_policy()
        .role_name("imp-iam-cluster")
        .policy_name("logs")
        .policy_document(logs.to_string())
        .send()
        .await
        .unwrap();
    let provider = iam
        .create_open_id_connect_provider()
        .url("https://oidc.imp-iam.example.com/id/IMPORTED")
        .client_id_list("sts.amazonaws.com")
        .thumbprint_list("9e99a48a9960b14926bb7f3b02e22da2b0ab7280")
        .send()
        .await
        .unwrap();
    let provider_arn = provider.open_id_connect_provider_arn().unwrap().to_string();

    let estate = Estate::new(
        "imp-iam",
        &format!(
            r#"
blueprint: imp-iam
region: us-east-1
resources:
  cluster_role:
    kind: iam.role
    name: imp-iam-cluster
    max_session_duration: 7200
    assume_role_policy: {trust}
    managed_policy_arns: [{managed}]
    inline_policies: {{ logs: {logs} }}
  oidc:
    kind: iam.openid_connect_provider
    url: https://oidc.imp-iam.example.com/id/IMPORTED
    thumbprint_list: [9e99a48a9960b14926bb7f3b02e22da2b0ab7280]
"#,
            trust = trust("eks.amazonaws.com"),
        ),
    );
    estate.refuses(
        "cluster_role",
        "imp-iam-no-such-role",
        "iam.role imp-iam-no-such-role does not exist",
    );
    estate.imports("cluster_role", "iam.role", "imp-iam-cluster");
    estate.imports("oidc", "iam.openid_connect_provider", &provider_arn);
    let role = estate.resource("cluster_role");
    let attrs = &role["attrs"];
    assert_eq!(attrs["name"], "imp-iam-cluster", "{role:#}");
    assert_eq!(attrs["max_session_duration"], 7200, "{role:#}");
    assert!(
        role["outputs"]["arn"]
            .as_str()
            .is_some_and(|arn| arn.ends_with(":role/imp-iam-cluster")),
        "{role:#}"
    );
    let oidc = estate.resource("oidc");
    assert_eq!(
        oidc["attrs"]["client_id_list"],
        serde_json::json!(["sts.amazonaws.com"]),
        "{oidc:#}"
    );

    assert_eq!(
        attrs["assume_role_policy"]["Statement"][0]["Principal"]["Service"], "eks.amazonaws.com",
        "{role:#}"
    );
    assert_eq!(
        attrs["managed_policy_arns"],
        serde_json::json!([managed]),
        "{role:#}"
    );
    assert_eq!(attrs["inline_policies"]["logs"], logs, "{role:#}");
    assert_eq!(
        oidc["attrs"]["thumbprint_list"],
        serde_json::json!(["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]),
        "{oidc:#}"
    );
    estate.settles_with_tags_only(&["cluster_role", "oidc"]);
    let tags = iam
        .list_role_tags()
        .role_name("imp-iam-cluster")
        .send()
        .await
        .unwrap();
    let lineage = tags
        .tags()
        .iter()
        .find(|t| t.key() == "innovate:lineage")
        .map(|t| t.value().to_string());
    assert_eq!(lineage, Some(estate.lineage()));
    estate.run(&["destroy"], &["--auto-approve"]).expect(0);
    let gone = iam.get_role().role_name("imp-iam-cluster").send().await;
    assert!(gone.is_err(), "destroy deleted the imported role");
}

/// Applies `blueprint` into a scratch state and then loses that state: what is left in AWS
/// was made by innovate (tagged with a lineage no state has any more), as after a deleted
/// state file.
fn made_by_a_lost_state(name: &str, blueprint: &str) -> String {
    let lost = Estate::new(name, blueprint);
    lost.run(&["apply"], &["--auto-approve"]).expect(0);
    let lineage = lost.lineage();
    drop(lost);
    lineage
}

#[tokio::test]
async fn eks_a_cluster_and_node_group_left_by_a_lost_state_are_taken_over() {
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.62.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let mut subnets = Vec::new();
    for (i, az) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
        let subnet = ec2
            .create_subnet()
            .vpc_id(&vpc_id)
            .cidr_block(format!("10.62.{i}.0/24"))
            .availability_zone(*az)
            .send()
            .await
            .unwrap();
        subnets.push(subnet.subnet().unwrap().subnet_id().unwrap().to_string());
    }
    let iam = aws_sdk_iam::Client::new(&sdk_config().await);
    let mut roles = Vec::new();
    for (name, service) in [
        ("imp-eks-cluster", "eks.amazonaws.com"),
        ("imp-eks-node", "ec2.amazonaws.com"),
    ] {
        let role = iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust(service))
            .send()
            .await
            .unwrap();
        roles.push(role.role().unwrap().arn().to_string());
    }
    let blueprint = format!(
        r#"
blueprint: imp-eks
region: us-east-1
resources:
  cluster:
    kind: eks.cluster
    name: imp-eks
    role_arn: {cluster_role}
    subnet_ids: [{a}, {b}]
    enabled_log_types: [api]
  nodes:
    kind: eks.nodegroup
    cluster_name: ${{cluster.name}}
    name: imp-nodes
    node_role_arn: {node_role}
    subnet_ids: [{a}, {b}]
    scaling: {{ min_size: 1, max_size: 3, desired_size: 2 }}
    labels: {{ tier: app }}
"#,
        cluster_role = roles[0],
        node_role = roles[1],
        a = subnets[0],
        b = subnets[1],
    );
    let lost_lineage = made_by_a_lost_state("imp-eks", &blueprint);

    let estate = Estate::new("imp-eks", &blueprint);
    estate.refuses(
        "cluster",
        "imp-eks-missing",
        "eks.cluster imp-eks-missing does not exist",
    );
    let taken = estate.imports("cluster", "eks.cluster", "imp-eks");
    assert!(
        taken
            .stdout()
            .contains(&format!("belonged to the state of lineage {lost_lineage}")),
        "{}",
        taken.stdout()
    );
    estate.refuses(
        "nodes",
        "imp-eks:no-such-group",
        "eks.nodegroup imp-eks:no-such-group does not exist",
    );
    estate.imports("nodes", "eks.nodegroup", "imp-eks:imp-nodes");
    let cluster = estate.resource("cluster");
    assert_eq!(
        cluster["attrs"]["role_arn"],
        roles[0].as_str(),
        "{cluster:#}"
    );
    assert_eq!(
        cluster["attrs"]["enabled_log_types"],
        serde_json::json!(["api"]),
        "{cluster:#}"
    );
    assert!(cluster["outputs"]["endpoint"].is_string(), "{cluster:#}");
    let nodes = estate.resource("nodes");
    assert_eq!(
        nodes["attrs"]["scaling"],
        serde_json::json!({ "min_size": 1, "max_size": 3, "desired_size": 2 }),
        "{nodes:#}"
    );
    assert_eq!(nodes["attrs"]["labels"]["tier"], "app", "{nodes:#}");
    assert_ne!(estate.lineage(), lost_lineage);

    estate.settles_with_tags_only(&["cluster", "nodes"]);
    let eks = aws_sdk_eks::Client::new(&sdk_config().await);
    let found = eks.describe_cluster().name("imp-eks").send().await.unwrap();
    let tags = found.cluster().unwrap().tags().unwrap();
    assert_eq!(tags.get("innovate:lineage"), Some(&estate.lineage()));
    let listed = eks.list_clusters().send().await.unwrap();
    let named: Vec<&String> = listed
        .clusters()
        .iter()
        .filter(|c| c.starts_with("imp-eks"))
        .collect();
    assert_eq!(named, ["imp-eks"], "no second cluster");
}

#[tokio::test]
async fn rds_a_parameter_group_from_the_sdk_and_an_instance_from_a_lost_state_are_imported() {
    let rds = aws_sdk_rds::Client::new(&sdk_config().await);
    rds.create_db_parameter_group()
        .db_parameter_group_name("imp-rds-params")
        .db_parameter_group_family("postgres16")
        .description("imported")
        .send()
        .await
        .unwrap();
    let parameter = aws_sdk_rds::types::Parameter::builder()
        .parameter_name("log_min_duration_statement")
        .parameter_value("500")
        .apply_method(aws_sdk_rds::types::ApplyMethod::Immediate)
        .build();
    rds.modify_db_parameter_group()
        .db_parameter_group_name("imp-rds-params")
        .parameters(parameter)
        .send()
        .await
        .unwrap();
    let db = r#"
  db:
    kind: rds.db_instance
    identifier: imp-rds
    engine: postgres
    instance_class: db.t4g.micro
    allocated_storage: 20
    backup_retention_period: 3
    skip_final_snapshot: true
"#;
    let lost_lineage = made_by_a_lost_state(
        "imp-rds",
        &format!("blueprint: imp-rds\nregion: us-east-1\nresources:{db}"),
    );
    let estate = Estate::new(
        "imp-rds",
        &format!(
            r#"
blueprint: imp-rds
region: us-east-1
resources:
  params:
    kind: rds.db_parameter_group
    name: imp-rds-params
    family: postgres16
    description: imported
    parameters: {{ log_min_duration_statement: "500" }}
{db}"#
        ),
    );
    estate.refuses(
        "db",
        "imp-rds-missing",
        "rds.db_instance imp-rds-missing does not exist",
    );
    estate.imports("params", "rds.db_parameter_group", "imp-rds-params");
    let taken = estate.imports("db", "rds.db_instance", "imp-rds");
    assert!(taken.stdout().contains(&lost_lineage), "{}", taken.stdout());
    let params = estate.resource("params");
    assert_eq!(params["attrs"]["family"], "postgres16", "{params:#}");
    assert_eq!(params["attrs"]["description"], "imported", "{params:#}");
    assert_eq!(
        params["attrs"]["parameters"],
        serde_json::json!({ "log_min_duration_statement": "500" }),
        "{params:#}"
    );
    let db = estate.resource("db");
    assert_eq!(db["attrs"]["backup_retention_period"], 3, "{db:#}");
    assert_eq!(db["attrs"]["instance_class"], "db.t4g.micro", "{db:#}");
    assert!(
        db["attrs"].get("master_user_password").is_none(),
        "nothing sensitive is recorded: {db:#}"
    );
    assert!(db["outputs"]["endpoint"].is_string(), "{db:#}");

    assert_eq!(db["attrs"]["engine"], "postgres", "{db:#}");
    assert_eq!(db["attrs"]["storage_encrypted"], true, "{db:#}");
    estate.settles_with_tags_only(&["db", "params"]);
}

#[tokio::test]
async fn organizations_an_organization_its_ou_and_an_account_are_imported_in_order() {
    let orgs = aws_sdk_organizations::Client::new(&sdk_config().await);
    let created = orgs
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let org_id = created.organization().unwrap().id().unwrap().to_string();
    let roots = orgs.list_roots().send().await.unwrap();
    let root_id = roots.roots()[0].id().unwrap().to_string();
    let ou = orgs
        .create_organizational_unit()
        .parent_id(&root_id)
        .name("imp-workloads")
        .send()
        .await
        .unwrap();
    let ou_id = ou.organizational_unit().unwrap().id().unwrap().to_string();
    let account = orgs
        .create_account()
        .account_name("imp-prod")
        .email("imp-prod@innovate-inc.com")
        .send()
        .await
        .unwrap();
    let request = account.create_account_status().unwrap().id().unwrap();
    let status = orgs
        .describe_create_account_status()
        .create_account_request_id(request)
        .send()
        .await
        .unwrap();
    let account_id = status
        .create_account_status()
        .unwrap()
        .account_id()
        .unwrap()
        .to_string();
    orgs.move_account()
        .account_id(&account_id)
        .source_parent_id(&root_id)
        .destination_parent_id(&ou_id)
        .send()
        .await
        .unwrap();

    let estate = Estate::new(
        "imp-org",
        r#"
blueprint: imp-org
region: us-east-1
resources:
  org: { kind: organizations.organization, feature_set: ALL }
  workloads:
    kind: organizations.organizational_unit
    name: imp-workloads
    parent_id: ${org.root_id}
  prod:
    kind: organizations.account
    account_name: imp-prod
    email: imp-prod@innovate-inc.com
    parent_id: ${workloads.id}
"#,
    );
    estate.refuses(
        "workloads",
        "ou-zzzz-zzzzzzzz",
        "organizations.organizational_unit ou-zzzz-zzzzzzzz does not exist",
    );
    estate.imports("org", "organizations.organization", &org_id);
    let org = estate.resource("org");
    assert_eq!(org["attrs"]["feature_set"], "ALL", "{org:#}");
    assert_eq!(org["outputs"]["root_id"], root_id.as_str(), "{org:#}");
    estate.imports("workloads", "organizations.organizational_unit", &ou_id);
    assert_eq!(
        estate.resource("workloads")["attrs"]["parent_id"],
        root_id.as_str()
    );
    // An organization carries no tags; the OU gets this state's.
    estate.plans_in_place(&["org", "workloads"]);
    estate.settles(&["workloads"]);
    let tags = orgs
        .list_tags_for_resource()
        .resource_id(&ou_id)
        .send()
        .await
        .unwrap();
    let lineage = tags
        .tags()
        .iter()
        .find(|t| t.key() == "innovate:lineage")
        .map(|t| t.value().to_string());
    assert_eq!(lineage, Some(estate.lineage()));

    estate.imports("prod", "organizations.account", &account_id);
    let prod = estate.resource("prod");
    assert_eq!(prod["attrs"]["account_name"], "imp-prod", "{prod:#}");
    assert_eq!(prod["attrs"]["parent_id"], ou_id.as_str(), "{prod:#}");
    assert_eq!(
        prod["attrs"]["email"], "imp-prod@innovate-inc.com",
        "{prod:#}"
    );
    let accounts = orgs.list_accounts().send().await.unwrap();
    let named = accounts
        .accounts()
        .iter()
        .filter(|a| a.name() == Some("imp-prod"))
        .count();
    assert_eq!(named, 1, "no second account");
    estate.settles_with_tags_only(&["prod"]);
}

/// KMS: a key and its alias made with the SDK are imported by key id and alias name; the
/// alias carries no tags, so only the key's identity tags are planned.
#[tokio::test]
async fn kms_a_key_and_its_alias_made_with_the_sdk_are_imported() {
    let kms = aws_sdk_kms::Client::new(&sdk_config().await);
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "all",
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}]});
    let created = kms
        .create_key()
        .description("imp-kms key")
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    let key = created.key_metadata().unwrap().key_id().to_string();
    kms.enable_key_rotation().key_id(&key).send().await.unwrap();
    let request = kms
        .create_alias()
        .alias_name("alias/imp-kms")
        .target_key_id(&key);
    request.send().await.unwrap();

    let estate = Estate::new(
        "imp-kms",
        r#"
blueprint: imp-kms
region: us-east-1
resources:
  key:
    kind: kms.key
    description: imp-kms key
    enable_key_rotation: true
    deletion_window_in_days: 7
    policy:
      Version: "2012-10-17"
      Statement: [{ Sid: all, Effect: Allow, Principal: { AWS: "*" }, Action: "kms:*", Resource: "*" }]
  alias: { kind: kms.alias, name: alias/imp-kms, target_key_id: "${key.id}" }
"#,
    );
    let unknown = "00000000-0000-0000-0000-000000000000";
    estate.refuses("key", unknown, &format!("kms.key {unknown} does not exist"));
    estate.imports("key", "kms.key", &key);
    estate.imports("alias", "kms.alias", "alias/imp-kms");
    let imported = estate.resource("key");
    assert_eq!(
        imported["attrs"]["description"], "imp-kms key",
        "{imported:#}"
    );
    assert_eq!(imported["attrs"]["policy"], policy, "{imported:#}");
    let alias = estate.resource("alias");
    assert_eq!(alias["attrs"]["target_key_id"], key.as_str(), "{alias:#}");
    estate.settles_with_tags_only(&["key"]);
    let tags = kms.list_resource_tags().key_id(&key).send().await.unwrap();
    let lineage = tags
        .tags()
        .iter()
        .find(|t| t.tag_key() == "innovate:lineage");
    assert_eq!(
        lineage.map(|t| t.tag_value().to_string()),
        Some(estate.lineage())
    );

    let destroy = estate.run(&["destroy"], &["--auto-approve"]).expect(0);
    let note = "# KMS deletes the key 7 days after this (deletion_window_in_days)";
    assert!(destroy.stdout().contains(note), "{}", destroy.stdout());
    let described = kms.describe_key().key_id(&key).send().await.unwrap();
    let meta = described.key_metadata().unwrap();
    assert_eq!(
        meta.key_state(),
        Some(&aws_sdk_kms::types::KeyState::PendingDeletion)
    );
    let aliases = kms.list_aliases().key_id(&key).send().await.unwrap();
    assert!(aliases.aliases().is_empty(), "{}", destroy.stdout());
}
