//! The EKS kinds against the emulator (moto server, plus localstack/extensions for the add-on
//! API it lacks), through the real SDK. IAM roles and the network are made with the SDK
//! directly; every create, update and delete is checked with DescribeCluster /
//! DescribeNodegroup / DescribeAddon, not only through the kind's own read. Tests share one
//! emulator, so each uses its own names.

mod common;

use aws_sdk_eks::error::ProvideErrorMetadata;
use aws_sdk_eks::types::{Cluster, Nodegroup};
use common::emulator::sdk_config;
use common::faultproxy::FaultProxy;
use common::kinds::{attrs, output, tags_for, KindDriver};
use innovate::kinds::{Live, StepCx, Tags};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

const BLUEPRINT: &str = "eks-kinds";

/// DescribeUpdate as the fault proxy names it.
const DESCRIBE_UPDATE: &str = "GET /clusters/*/updates/*";

struct Harness {
    kinds: KindDriver,
    eks: aws_sdk_eks::Client,
    iam: aws_sdk_iam::Client,
    ec2: aws_sdk_ec2::Client,
    /// Makes this test's names unique on the shared emulator.
    suffix: String,
}

/// The kinds' calls (`h.create_with(...)`, `h.read_one(...)`) come from the shared driver.
impl std::ops::Deref for Harness {
    type Target = KindDriver;
    fn deref(&self) -> &KindDriver {
        &self.kinds
    }
}

impl Harness {
    async fn new() -> Harness {
        let config = sdk_config().await;
        Harness {
            eks: aws_sdk_eks::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            ec2: aws_sdk_ec2::Client::new(&config),
            kinds: KindDriver::new(config, BLUEPRINT),
            suffix: uuid::Uuid::new_v4().simple().to_string()[..8].to_string(),
        }
    }

    /// The kinds, their calls going through `proxy`.
    async fn through(&self, proxy: &FaultProxy) -> KindDriver {
        KindDriver::through(&proxy.endpoint, BLUEPRINT).await
    }

    fn name(&self, base: &str) -> String {
        format!("{base}-{}", self.suffix)
    }

    /// An IAM role `service` may assume, with AWS-managed `policies` attached.
    async fn role(&self, base: &str, service: &str, policies: &[&str]) -> String {
        let trust = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole"
            }]
        });
        let name = self.name(base);
        let created = self
            .iam
            .create_role()
            .role_name(&name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .unwrap();
        for policy in policies {
            self.iam
                .attach_role_policy()
                .role_name(&name)
                .policy_arn(format!("arn:aws:iam::aws:policy/{policy}"))
                .send()
                .await
                .unwrap();
        }
        created.role().unwrap().arn().to_string()
    }

    /// A VPC with two subnets in different zones, as EKS requires.
    async fn subnets(&self) -> Vec<String> {
        let vpc = self
            .ec2
            .create_vpc()
            .cidr_block("10.90.0.0/16")
            .send()
            .await
            .unwrap();
        let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
        let mut subnets = Vec::new();
        for (i, zone) in ["us-east-1a", "us-east-1b"].into_iter().enumerate() {
            let subnet = self
                .ec2
                .create_subnet()
                .vpc_id(&vpc)
                .cidr_block(format!("10.90.{i}.0/24"))
                .availability_zone(zone)
                .send()
                .await
                .unwrap();
            subnets.push(subnet.subnet().unwrap().subnet_id().unwrap().to_string());
        }
        subnets
    }

    async fn cluster(&self, name: &str) -> Cluster {
        let described = self.eks.describe_cluster().name(name).send().await;
        described.unwrap().cluster.expect("cluster")
    }

    async fn nodegroup(&self, id: &str) -> Nodegroup {
        let (cluster, name) = id.split_once(':').unwrap();
        let described = self
            .eks
            .describe_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await;
        described.unwrap().nodegroup.expect("nodegroup")
    }

    async fn addon(&self, id: &str) -> aws_sdk_eks::types::Addon {
        let (cluster, name) = id.split_once(':').unwrap();
        let described = self
            .eks
            .describe_addon()
            .cluster_name(cluster)
            .addon_name(name)
            .send()
            .await;
        described.unwrap().addon.expect("addon")
    }
}

/// What the engine hands a kind at `address`: the blueprint's tags plus identity tags.
fn tags(address: &str, desired: &Value) -> Tags {
    tags_for(BLUEPRINT, address, desired)
}

fn sorted(map: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    map.expect("a map")
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A step whose progress reports are kept: a "waiting for ..." phase proves that the kind's
/// waiter saw a pending status and polled again.
fn recording(address: &str) -> (StepCx, Arc<Mutex<Vec<String>>>) {
    let phases = Arc::new(Mutex::new(Vec::new()));
    let sink = phases.clone();
    let progress = Arc::new(move |_: &str, phase: &str| sink.lock().unwrap().push(phase.into()));
    (StepCx::new(address.into(), progress), phases)
}

fn waited_for(phases: &Mutex<Vec<String>>, target: &str) -> bool {
    let prefix = format!("waiting for {target} ");
    phases
        .lock()
        .unwrap()
        .iter()
        .any(|p| p.starts_with(&prefix))
}

fn enabled_log_types(cluster: &Cluster) -> BTreeSet<String> {
    let setups = cluster.logging().unwrap().cluster_logging();
    setups
        .iter()
        .filter(|setup| setup.enabled() == Some(true))
        .flat_map(|setup| setup.types().iter().map(|t| t.as_str().to_string()))
        .collect()
}

fn taints(nodegroup: &Nodegroup) -> BTreeSet<(String, Option<String>, String)> {
    nodegroup
        .taints()
        .iter()
        .map(|t| {
            (
                t.key().unwrap().to_string(),
                t.value().map(str::to_string),
                t.effect().unwrap().as_str().to_string(),
            )
        })
        .collect()
}

fn taint(key: &str, value: Option<&str>, effect: &str) -> (String, Option<String>, String) {
    (key.into(), value.map(Into::into), effect.into())
}

#[tokio::test]
async fn cluster_nodegroup_and_addon_are_created_updated_and_deleted() {
    let h = Harness::new().await;
    let cluster_role = h
        .role(
            "eks-cluster",
            "eks.amazonaws.com",
            &["AmazonEKSClusterPolicy"],
        )
        .await;
    let node_policies = [
        "AmazonEKSWorkerNodePolicy",
        "AmazonEKS_CNI_Policy",
        "AmazonEC2ContainerRegistryReadOnly",
    ];
    let node_role = h
        .role("eks-nodes", "ec2.amazonaws.com", &node_policies)
        .await;
    let cni_role = h
        .role(
            "vpc-cni",
            "pods.eks.amazonaws.com",
            &["AmazonEKS_CNI_Policy"],
        )
        .await;
    let subnets = h.subnets().await;
    let name = h.name("platform");

    // Cluster: created ACTIVE in the right subnets, with the right role and tags.
    let cluster_spec = json!({
        "name": name, "version": "1.31", "role_arn": cluster_role, "subnet_ids": subnets,
        "tags": {"Team": "platform"}
    });
    let cx = StepCx::silent("cluster");
    let cluster = h.create_with("eks.cluster", &cx, &cluster_spec).await;
    assert_eq!(cluster.id, name);
    let described = h.cluster(&name).await;
    assert_eq!(described.status().unwrap().as_str(), "ACTIVE");
    assert_eq!(described.role_arn(), Some(cluster_role.as_str()));
    assert_eq!(described.version(), Some("1.31"));
    assert_eq!(
        described.resources_vpc_config().unwrap().subnet_ids(),
        subnets.as_slice()
    );
    assert_eq!(
        sorted(described.tags()),
        tags("cluster", &cluster_spec),
        "identity tags set by CreateCluster"
    );
    assert_eq!(output(&cluster, "arn"), described.arn().unwrap());
    assert!(
        output(&cluster, "oidc_issuer").starts_with("https://"),
        "{:?}",
        cluster.outputs
    );
    assert!(!output(&cluster, "endpoint").is_empty());
    assert!(!output(&cluster, "certificate_authority").is_empty());
    assert_eq!(
        h.read("eks.cluster", &[&name, "no-such-cluster"]).await,
        vec![Some(cluster.clone()), None]
    );
    h.assert_no_drift("eks.cluster", &name, &cluster_spec).await;

    // Clusters are listed by tag (ListClusters, then DescribeCluster for their tags).
    let identity = |address: &str| -> Tags { tags(address, &json!({})) };
    let listed = h
        .kind("eks.cluster")
        .list_tagged(&identity("cluster"))
        .await;
    let listed = listed.unwrap().expect("clusters can be listed by tag");
    assert_eq!(listed, vec![cluster.clone()]);
    let elsewhere = h
        .kind("eks.cluster")
        .list_tagged(&identity("no-such-address"))
        .await;
    assert_eq!(elsewhere.unwrap(), Some(vec![]));
    assert_eq!(
        h.kind("eks.nodegroup")
            .list_tagged(&identity("nodes"))
            .await
            .unwrap(),
        None,
        "node groups: a call per resource"
    );

    // Logging and endpoint access change in place (two calls); tags follow the blueprint.
    let logged_spec = json!({
        "name": name, "version": "1.31", "role_arn": cluster_role, "subnet_ids": subnets,
        "enabled_log_types": ["api", "audit"], "endpoint_private_access": true,
        "public_access_cidrs": ["203.0.113.0/24"], "tags": {"Team": "data"}
    });
    let updated = h
        .update_with("eks.cluster", &cx, &cluster, &cluster_spec, &logged_spec)
        .await;
    assert_eq!(updated.id, cluster.id);
    let described = h.cluster(&name).await;
    assert_eq!(
        enabled_log_types(&described),
        BTreeSet::from(["api".to_string(), "audit".to_string()])
    );
    let vpc = described.resources_vpc_config().unwrap();
    assert!(vpc.endpoint_private_access());
    assert!(vpc.endpoint_public_access());
    assert_eq!(vpc.public_access_cidrs(), ["203.0.113.0/24"]);
    assert_eq!(sorted(described.tags()), tags("cluster", &logged_spec));
    h.assert_no_drift("eks.cluster", &name, &logged_spec).await;

    // Subnets and security groups change in place too (UpdateClusterConfig), endpoint
    // access staying as it was.
    let mut moved_spec = logged_spec.clone();
    moved_spec["subnet_ids"] = json!([subnets[1]]);
    let moved = h
        .update_with("eks.cluster", &cx, &cluster, &logged_spec, &moved_spec)
        .await;
    assert_eq!(moved.id, cluster.id);
    let described = h.cluster(&name).await;
    let vpc = described.resources_vpc_config().unwrap();
    assert_eq!(vpc.subnet_ids(), [subnets[1].as_str()]);
    assert!(
        vpc.endpoint_private_access(),
        "endpoint access is untouched"
    );
    h.assert_no_drift("eks.cluster", &name, &moved_spec).await;
    let logged_spec = moved_spec;

    // Node group: SPOT Graviton, scaling 2/20/3, labels and taints.
    let nodes_spec = json!({
        "cluster_name": name, "name": "arm-spot", "node_role_arn": node_role,
        "subnet_ids": subnets, "instance_types": ["m7g.large", "c7g.large"],
        "capacity_type": "SPOT", "ami_type": "AL2023_ARM_64_STANDARD",
        "scaling": {"min_size": 2, "max_size": 20, "desired_size": 3},
        "labels": {"role": "web", "arch": "arm64"},
        "taints": [{"key": "dedicated", "value": "web", "effect": "NO_SCHEDULE"}],
        "tags": {"Pool": "arm-spot"}
    });
    let ncx = StepCx::silent("nodes");
    let nodes = h.create_with("eks.nodegroup", &ncx, &nodes_spec).await;
    assert_eq!(nodes.id, format!("{name}:arm-spot"));
    let described = h.nodegroup(&nodes.id).await;
    assert_eq!(described.status().unwrap().as_str(), "ACTIVE");
    assert_eq!(output(&nodes, "arn"), described.nodegroup_arn().unwrap());
    assert_eq!(described.capacity_type().unwrap().as_str(), "SPOT");
    assert_eq!(
        described.ami_type().unwrap().as_str(),
        "AL2023_ARM_64_STANDARD"
    );
    assert_eq!(described.instance_types(), ["m7g.large", "c7g.large"]);
    assert_eq!(described.node_role(), Some(node_role.as_str()));
    assert_eq!(described.subnets(), subnets.as_slice());
    let scaling = described.scaling_config().unwrap();
    assert_eq!(
        (
            scaling.min_size(),
            scaling.max_size(),
            scaling.desired_size()
        ),
        (Some(2), Some(20), Some(3))
    );
    assert_eq!(
        sorted(described.labels()),
        BTreeMap::from([
            ("arch".to_string(), "arm64".to_string()),
            ("role".to_string(), "web".to_string())
        ])
    );
    assert_eq!(
        taints(&described),
        BTreeSet::from([taint("dedicated", Some("web"), "NO_SCHEDULE")])
    );
    assert_eq!(sorted(described.tags()), tags("nodes", &nodes_spec));
    h.assert_no_drift("eks.nodegroup", &nodes.id, &nodes_spec)
        .await;

    // Scaling changed outside innovate: drift in scaling, with AWS's values.
    let (cluster_name, group_name) = nodes.id.split_once(':').unwrap();
    h.eks
        .update_nodegroup_config()
        .cluster_name(cluster_name)
        .nodegroup_name(group_name)
        .scaling_config(
            aws_sdk_eks::types::NodegroupScalingConfig::builder()
                .min_size(2)
                .max_size(30)
                .desired_size(9)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let read = h.read_one("eks.nodegroup", &nodes.id).await;
    assert_eq!(
        h.drift("eks.nodegroup", &read, &nodes_spec),
        vec!["scaling"]
    );
    assert_eq!(
        read.attrs.unwrap()["scaling"],
        json!({"min_size": 2, "max_size": 30, "desired_size": 9})
    );

    // Scaling, labels and taints change in place: the same node group, new values.
    let resized_spec = json!({
        "cluster_name": name, "name": "arm-spot", "node_role_arn": node_role,
        "subnet_ids": subnets, "instance_types": ["m7g.large", "c7g.large"],
        "capacity_type": "SPOT", "ami_type": "AL2023_ARM_64_STANDARD",
        "scaling": {"min_size": 1, "max_size": 10, "desired_size": 5},
        "labels": {"role": "api", "tier": "back"},
        "taints": [
            {"key": "dedicated", "value": "api", "effect": "NO_SCHEDULE"},
            {"key": "spot", "effect": "PREFER_NO_SCHEDULE"}
        ],
        "tags": {"Pool": "arm-spot"}
    });
    let resized = h
        .update_with("eks.nodegroup", &ncx, &nodes, &nodes_spec, &resized_spec)
        .await;
    assert_eq!(
        (&resized.id, &resized.outputs),
        (&nodes.id, &nodes.outputs),
        "same node group, same ARN"
    );
    let described = h.nodegroup(&nodes.id).await;
    let scaling = described.scaling_config().unwrap();
    assert_eq!(
        (
            scaling.min_size(),
            scaling.max_size(),
            scaling.desired_size()
        ),
        (Some(1), Some(10), Some(5))
    );
    assert_eq!(
        sorted(described.labels()),
        BTreeMap::from([
            ("role".to_string(), "api".to_string()),
            ("tier".to_string(), "back".to_string())
        ]),
        "arch removed, role changed, tier added"
    );
    assert_eq!(
        taints(&described),
        BTreeSet::from([
            taint("dedicated", Some("api"), "NO_SCHEDULE"),
            taint("spot", None, "PREFER_NO_SCHEDULE")
        ])
    );
    let read = h
        .assert_no_drift("eks.nodegroup", &nodes.id, &resized_spec)
        .await;
    assert_eq!(read, resized, "the update reports what a read reports");

    // Add-on: the waiter sees CREATING before ACTIVE.
    let addon_spec = json!({
        "cluster_name": name, "name": "vpc-cni", "version": "v1.19.0-eksbuild.1",
        "tags": {"Component": "cni"}
    });
    let (acx, phases) = recording("cni");
    let addon = h.create_with("eks.addon", &acx, &addon_spec).await;
    assert!(
        waited_for(&phases, "ACTIVE"),
        "{:?}",
        phases.lock().unwrap()
    );
    assert_eq!(addon.id, format!("{name}:vpc-cni"));
    let described = h.addon(&addon.id).await;
    assert_eq!(described.status().unwrap().as_str(), "ACTIVE");
    assert_eq!(output(&addon, "arn"), described.addon_arn().unwrap());
    assert_eq!(described.addon_version(), Some("v1.19.0-eksbuild.1"));
    assert_eq!(described.service_account_role_arn(), None);
    assert_eq!(sorted(described.tags()), tags("cni", &addon_spec));
    h.assert_no_drift("eks.addon", &addon.id, &addon_spec).await;

    // Version, IRSA role, configuration and tags change in place; the update is followed
    // by its id, InProgress then Successful. moto knows no DescribeUpdate: a proxy answers
    // it as AWS would.
    let upgraded_spec = json!({
        "cluster_name": name, "name": "vpc-cni", "version": "v1.19.2-eksbuild.1",
        "service_account_role_arn": cni_role,
        "configuration_values": r#"{"env":{"ENABLE_PREFIX_DELEGATION":"true"}}"#,
        "tags": {"Component": "networking"}
    });
    let update = |status: &str| json!({"update": {"id": "a1b2", "status": status, "type": "AddonUpdate", "errors": []}});
    let proxy = FaultProxy::answering(&[
        (DESCRIBE_UPDATE, 200, &update("InProgress")),
        (DESCRIBE_UPDATE, 200, &update("Successful")),
    ]);
    let (ucx, phases) = recording("cni");
    let upgraded = h
        .through(&proxy)
        .await
        .update_with("eks.addon", &ucx, &addon, &addon_spec, &upgraded_spec)
        .await;
    assert!(
        waited_for(&phases, "Successful"),
        "{:?}",
        phases.lock().unwrap()
    );
    assert_eq!(
        proxy.requests(DESCRIBE_UPDATE),
        2,
        "polled until Successful"
    );
    assert_eq!(
        (&upgraded.id, &upgraded.outputs),
        (&addon.id, &addon.outputs)
    );
    let described = h.addon(&addon.id).await;
    assert_eq!(described.status().unwrap().as_str(), "ACTIVE");
    assert_eq!(described.addon_version(), Some("v1.19.2-eksbuild.1"));
    assert_eq!(
        described.service_account_role_arn(),
        Some(cni_role.as_str())
    );
    assert_eq!(
        described.configuration_values(),
        Some(r#"{"env":{"ENABLE_PREFIX_DELEGATION":"true"}}"#)
    );
    assert_eq!(sorted(described.tags()), tags("cni", &upgraded_spec));
    h.assert_no_drift("eks.addon", &addon.id, &upgraded_spec)
        .await;
    adopting_a_creating_addon_waits_for_active(&addon, &upgraded_spec).await;

    // Deletes wait until each is gone; then every read says so.
    let (dcx, phases) = recording("cni");
    h.delete_with("eks.addon", &dcx, &addon, &upgraded_spec)
        .await;
    assert!(
        waited_for(&phases, "deleted"),
        "{:?}",
        phases.lock().unwrap()
    );
    assert_eq!(h.read("eks.addon", &[&addon.id]).await, vec![None]);
    h.delete_with("eks.nodegroup", &ncx, &nodes, &resized_spec)
        .await;
    assert_eq!(h.read("eks.nodegroup", &[&nodes.id]).await, vec![None]);
    h.delete_with("eks.cluster", &cx, &cluster, &logged_spec)
        .await;
    assert_eq!(h.read("eks.cluster", &[&name]).await, vec![None]);
    let gone = h.eks.describe_cluster().name(&name).send().await;
    assert_eq!(gone.unwrap_err().code(), Some("ResourceNotFoundException"));
    // Deleting what is already gone succeeds.
    h.delete_with("eks.cluster", &cx, &cluster, &logged_spec)
        .await;
}

#[tokio::test]
async fn unknown_resources_read_as_none_and_failures_name_the_call() {
    let h = Harness::new().await;
    let missing = h.name("missing");
    let ids = [missing.as_str()];
    assert_eq!(h.read("eks.cluster", &ids).await, vec![None]);
    let compound = format!("{missing}:workers");
    assert_eq!(
        h.read("eks.nodegroup", &[&compound]).await,
        vec![None],
        "a node group of a missing cluster is gone too"
    );
    assert_eq!(h.read("eks.addon", &[&compound]).await, vec![None]);

    let not_compound = h
        .kind("eks.addon")
        .read_many(std::slice::from_ref(&missing))
        .await;
    assert!(not_compound.unwrap_err().message.contains("CLUSTER:NAME"));

    let spec = json!({"cluster_name": missing, "name": "coredns"});
    let cx = StepCx::silent("dns");
    let created = h
        .kind("eks.addon")
        .create(&cx, &attrs(&spec), &tags("dns", &spec))
        .await;
    let err = created.unwrap_err();
    assert_eq!(err.call, "eks:CreateAddon");
    assert_eq!(err.code.as_deref(), Some("ResourceNotFoundException"));
}

/// Some EKS calls about a cluster that does not exist answer ClientException "No cluster
/// found for name: ..." instead of ResourceNotFoundException: a read takes it as gone, and
/// the delete of a node group whose cluster went outside innovate is done. A proxy answers
/// every call about the cluster so.
#[tokio::test]
async fn no_cluster_found_as_a_client_exception_reads_as_gone() {
    use common::rewriting_proxy::{self, Response};

    let h = Harness::new().await;
    let cluster = h.name("vanished");
    let message = format!(r#"{{"message":"No cluster found for name: {cluster}."}}"#);
    let path = format!("/clusters/{cluster}/");
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        if !request.head.contains(&path) {
            return forward();
        }
        Response {
            status: "HTTP/1.1 400 Bad Request".into(),
            content_type: "application/json".into(),
            error_type: Some("ClientException".into()),
            body: message.clone(),
        }
    });
    let through = KindDriver::through(&endpoint, BLUEPRINT).await;
    let id = format!("{cluster}:workers");
    assert_eq!(through.read("eks.nodegroup", &[&id]).await, vec![None]);
    assert_eq!(through.read("eks.addon", &[&id]).await, vec![None]);
    let live = Live::observed(id.clone(), Default::default(), Default::default());
    let prior = json!({"cluster_name": cluster, "name": "workers"});
    through.delete("eks.nodegroup", &live, &prior).await;
}

/// A key added to a cluster created without one encrypts it in place: AssociateEncryptionConfig,
/// followed by its update id through DescribeUpdate (the emulator's `eks_encryption.py`
/// reports it InProgress, then Successful), as terraform-provider-aws does.
#[tokio::test]
async fn encryption_is_added_to_a_cluster_in_place() {
    let h = Harness::new().await;
    let role = h
        .role(
            "eks-encrypt",
            "eks.amazonaws.com",
            &["AmazonEKSClusterPolicy"],
        )
        .await;
    let name = h.name("encrypt");
    let plain = json!({"name": name, "role_arn": role, "subnet_ids": h.subnets().await});
    let cluster = h.create("eks.cluster", "encrypt", &plain).await;
    assert!(h.cluster(&name).await.encryption_config().is_empty());

    let key = common::emulator::kms_key_arn("0b5c8e4e-7f1a-4c39-9f0e-encrypt00001");
    let mut encrypted = plain.clone();
    encrypted["encryption_kms_key_arn"] = json!(key);
    let updated = h
        .update("eks.cluster", "encrypt", &cluster, &plain, &encrypted)
        .await;
    assert_eq!(
        updated.id, cluster.id,
        "the same cluster, encrypted in place"
    );
    let configs = h.cluster(&name).await.encryption_config().to_vec();
    let keys: Vec<_> = configs
        .iter()
        .filter_map(|c| c.provider()?.key_arn())
        .collect();
    assert_eq!(keys, [key.as_str()]);
    h.assert_no_drift("eks.cluster", &cluster.id, &encrypted)
        .await;
    h.delete("eks.cluster", &cluster, &encrypted).await;
}

/// DeleteCluster is refused while an update is in progress (ResourceInUseException "...
/// currently has an update in progress"); innovate sends it again until the update is done,
/// as terraform-provider-aws does. A proxy refuses the first two DeleteCluster calls so.
#[tokio::test]
async fn a_cluster_delete_waits_out_an_update_in_progress() {
    use common::rewriting_proxy::{self, take, Response};
    use std::sync::atomic::{AtomicU32, Ordering};

    let h = Harness::new().await;
    let role = h
        .role("eks-busy", "eks.amazonaws.com", &["AmazonEKSClusterPolicy"])
        .await;
    let name = h.name("busy");
    let spec = json!({"name": name, "role_arn": role, "subnet_ids": h.subnets().await});
    let cluster = h.create("eks.cluster", "busy", &spec).await;

    let busy = Arc::new(AtomicU32::new(2));
    let left = busy.clone();
    let in_progress = format!(
        r#"{{"message":"Cannot delete because cluster {name} currently has an update in progress"}}"#
    );
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        let deletes = request.head.starts_with("DELETE /clusters/");
        if deletes && !request.head.contains("/node-groups") && take(&left) {
            return Response {
                status: "HTTP/1.1 409 Conflict".into(),
                content_type: "application/json".into(),
                error_type: Some("ResourceInUseException".into()),
                body: in_progress.clone(),
            };
        }
        forward()
    });
    let through = KindDriver::through(&endpoint, BLUEPRINT).await;
    through.delete("eks.cluster", &cluster, &spec).await;

    assert_eq!(
        busy.load(Ordering::SeqCst),
        0,
        "refused twice, then sent again"
    );
    let gone = h
        .eks
        .describe_cluster()
        .name(&name)
        .send()
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Some("ResourceNotFoundException"));
}

/// EKS may answer NotFound for a cluster it is still deleting: the delete ends only after
/// three NotFound answers in a row. A proxy shows the cluster DELETING again right after the
/// first NotFound, so the wait must start over and see three more.
#[tokio::test]
async fn a_cluster_delete_waits_for_notfound_three_times_in_a_row() {
    use common::rewriting_proxy::{self, Response};
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    let h = Harness::new().await;
    let role = h
        .role(
            "eks-dying",
            "eks.amazonaws.com",
            &["AmazonEKSClusterPolicy"],
        )
        .await;
    let name = h.name("dying");
    let spec = json!({"name": name, "role_arn": role, "subnet_ids": h.subnets().await});
    let cluster = h.create("eks.cluster", "dying", &spec).await;

    let (deleted, looks) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU32::new(0)),
    );
    let (deleted_seen, looks_seen) = (deleted.clone(), looks.clone());
    let path = format!("/clusters/{name} ");
    let dying = format!(r#"{{"cluster": {{"name": "{name}", "status": "DELETING"}}}}"#);
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        let about_it = request.head.contains(&path);
        if about_it && request.head.starts_with("DELETE ") {
            deleted_seen.store(true, Ordering::SeqCst);
        }
        let describes = about_it && request.head.starts_with("GET ");
        if describes && deleted_seen.load(Ordering::SeqCst) {
            // The second look after the delete: visible again, still deleting.
            if looks_seen.fetch_add(1, Ordering::SeqCst) == 1 {
                return Response {
                    status: "HTTP/1.1 200 OK".into(),
                    content_type: "application/json".into(),
                    error_type: None,
                    body: dying.clone(),
                };
            }
        }
        forward()
    });
    let through = KindDriver::through(&endpoint, BLUEPRINT).await;
    through.delete("eks.cluster", &cluster, &spec).await;

    assert!(deleted.load(Ordering::SeqCst));
    assert_eq!(
        looks.load(Ordering::SeqCst),
        5,
        "NotFound, DELETING, then NotFound three times in a row"
    );
}

/// An update that AWS reports Failed fails the step with AWS's errors, named after
/// DescribeUpdate, the call that reported them. moto answers UpdateClusterConfig with the
/// cluster and starts no update, so a proxy gives both of AWS's answers: the update started
/// (InProgress), then failed.
#[tokio::test]
async fn a_cluster_update_that_aws_reports_failed_fails_with_aws_errors() {
    let h = Harness::new().await;
    let role = h
        .role(
            "eks-failing",
            "eks.amazonaws.com",
            &["AmazonEKSClusterPolicy"],
        )
        .await;
    let name = h.name("failing");
    let spec = json!({"name": name, "role_arn": role, "subnet_ids": h.subnets().await});
    let cluster = h.create("eks.cluster", "failing", &spec).await;

    let update = |status: &str, errors: Value| {
        json!({"update": {"id": "0f9e8d7c", "status": status, "type": "LoggingUpdate",
            "params": [{"type": "ClusterLogging", "value": "api"}], "errors": errors}})
    };
    let denied = json!([{
        "errorCode": "AccessDenied",
        "errorMessage": "The cluster role may not create log groups",
        "resourceIds": [name]
    }]);
    let proxy = FaultProxy::answering(&[
        (
            "POST /clusters/*/update-config",
            200,
            &update("InProgress", json!([])),
        ),
        (DESCRIBE_UPDATE, 200, &update("Failed", denied)),
    ]);
    let logged = json!({
        "name": name, "role_arn": role, "subnet_ids": spec["subnet_ids"],
        "enabled_log_types": ["api"]
    });
    let through = h.through(&proxy).await;
    let updated = through
        .kind("eks.cluster")
        .update(
            &StepCx::silent("failing"),
            &cluster,
            &attrs(&spec),
            &attrs(&logged),
            &tags("failing", &logged),
        )
        .await;
    let err = updated.expect_err("a Failed update fails the step");
    assert_eq!(err.call, "eks:DescribeUpdate");
    assert_eq!(err.code.as_deref(), Some("Failed"));
    assert!(
        err.message
            .contains("AccessDenied: The cluster role may not create log groups"),
        "{err}"
    );
    assert_eq!(proxy.requests(DESCRIBE_UPDATE), 1, "{}", proxy.stats());
    assert_eq!(proxy.requests("POST /clusters/*/update-config"), 1);
    h.delete("eks.cluster", &cluster, &spec).await;
}

/// An add-on found after a lost CreateAddon answer is adopted with an update, and on AWS it is
/// usually still CREATING: the update waits for ACTIVE before it changes anything. A scripted
/// proxy reports the add-on CREATING to the next two DescribeAddon calls.
async fn adopting_a_creating_addon_waits_for_active(addon: &Live, spec: &Value) {
    use common::rewriting_proxy::{self, take};
    use std::sync::atomic::{AtomicU32, Ordering};

    let creating = Arc::new(AtomicU32::new(2));
    let left = creating.clone();
    let proxy = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        let describe = request.head.starts_with("GET ") && request.head.contains("/addons/");
        let mut answer = forward();
        if describe && take(&left) {
            answer.body = answer
                .body
                .replace("\"status\": \"ACTIVE\"", "\"status\": \"CREATING\"")
                .replace("\"status\":\"ACTIVE\"", "\"status\":\"CREATING\"");
        }
        answer
    });
    let config = sdk_config().await.to_builder().endpoint_url(proxy).build();
    let through_proxy = KindDriver::new(config, BLUEPRINT);
    let (cx, phases) = recording("cni");
    let adopted = through_proxy
        .update_with("eks.addon", &cx, addon, spec, spec)
        .await;
    assert_eq!(adopted.id, addon.id);
    assert_eq!(
        creating.load(Ordering::SeqCst),
        0,
        "both CREATING answers seen"
    );
    assert!(
        waited_for(&phases, "ACTIVE"),
        "an add-on still CREATING is waited for: {:?}",
        phases.lock().unwrap()
    );
}
