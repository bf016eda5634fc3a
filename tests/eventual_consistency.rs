//! AWS's eventual consistency, reproduced by the fault proxy's `--eventual N` mode
//! (localstack/eventual.py) in front of this test binary's emulator: for N seconds after the
//! event that starts it, the proxy answers what AWS answers while it catches up (a fresh
//! IAM role EKS cannot assume yet, a fresh id a Describe does not find yet, a
//! DependencyViolation while network interfaces are released, a new organization still
//! finalizing, a new account's role not yet assumable).
//!
//! For every case the real binary applies (or destroys) through the proxy and succeeds, and
//! the proxy's counts prove the answers really were given. Two SDK-level tests pin the
//! proxy's own answers to AWS's codes and messages, and show they stop once the window
//! closes.

mod common;

use aws_sdk_iam::error::ProvideErrorMetadata;
use common::cli::{Run, Workspace};
use common::emulator::sdk_config;
use common::faultproxy::FaultProxy;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A name of this test's own on the shared emulator (IAM and EKS names are account-wide).
fn unique(base: &str) -> String {
    format!("{base}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// `innovate ARGS...` through `proxy`.
fn through(ws: &Workspace, proxy: &FaultProxy, args: &[&str]) -> Run {
    ws.run_with_env(args, &[("AWS_ENDPOINT_URL", proxy.endpoint.as_str())])
}

/// How many answers of `behaviour` the proxy gave to `action` (all its counts go to stderr,
/// for `--nocapture`).
fn eventual(proxy: &FaultProxy, behaviour: &str, action: &str) -> u64 {
    let key = format!("eventual_{behaviour} {action}");
    let faults = proxy.stats()["faults"].clone();
    eprintln!("proxy answers: {faults}");
    faults[key].as_u64().unwrap_or(0)
}

/// A VPC with two subnets, the two roles EKS needs and a cluster with one node group. The
/// node role waits for the cluster, so that it is seconds old when CreateNodegroup names it.
fn eks_blueprint(name: &str, octet: u8) -> String {
    format!(
        r#"blueprint: {name}
region: us-east-1
variables:
  azs: [us-east-1a, us-east-1b]
resources:
  main: {{ kind: ec2.vpc, cidr_block: "10.{octet}.0.0/16" }}
  net:
    kind: ec2.subnet
    count: 2
    vpc_id: ${{main.id}}
    cidr_block: "10.{octet}.${{count.index}}.0/24"
    availability_zone: ${{var.azs[count.index]}}
  cluster_role:
    kind: iam.role
    name: {name}-cluster
    assume_role_policy:
      Version: "2012-10-17"
      Statement: [{{ Effect: Allow, Principal: {{ Service: eks.amazonaws.com }}, Action: "sts:AssumeRole" }}]
    managed_policy_arns: [arn:aws:iam::aws:policy/AmazonEKSClusterPolicy]
  node_role:
    kind: iam.role
    name: {name}-nodes
    assume_role_policy:
      Version: "2012-10-17"
      Statement: [{{ Effect: Allow, Principal: {{ Service: ec2.amazonaws.com }}, Action: "sts:AssumeRole" }}]
    managed_policy_arns:
      - arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy
      - arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly
      - arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy
    depends_on: [cluster]
  cluster:
    kind: eks.cluster
    name: {name}
    role_arn: ${{cluster_role.arn}}
    subnet_ids: ${{net[*].id}}
  nodes:
    kind: eks.nodegroup
    cluster_name: ${{cluster.name}}
    name: {name}-nodes
    node_role_arn: ${{node_role.arn}}
    subnet_ids: ${{net[*].id}}
    scaling: {{ min_size: 1, desired_size: 1, max_size: 1 }}
"#
    )
}

/// A network with everything that holds network interfaces or addresses: an internet
/// gateway, a NAT gateway with its address, a security group and routes.
fn network_blueprint(name: &str, octet: u8) -> String {
    format!(
        r#"blueprint: {name}
region: us-east-1
resources:
  main: {{ kind: ec2.vpc, cidr_block: "10.{octet}.0.0/16" }}
  public: {{ kind: ec2.subnet, vpc_id: "${{main.id}}", cidr_block: "10.{octet}.0.0/24", availability_zone: us-east-1a }}
  private: {{ kind: ec2.subnet, vpc_id: "${{main.id}}", cidr_block: "10.{octet}.1.0/24", availability_zone: us-east-1b }}
  gw: {{ kind: ec2.internet_gateway, vpc_id: "${{main.id}}" }}
  ip: {{ kind: ec2.elastic_ip }}
  nat: {{ kind: ec2.nat_gateway, subnet_id: "${{public.id}}", allocation_id: "${{ip.id}}" }}
  web:
    kind: ec2.security_group
    vpc_id: ${{main.id}}
    description: web
    ingress: [{{ protocol: tcp, from_port: 443, to_port: 443, cidr_blocks: ["0.0.0.0/0"] }}]
  routes:
    kind: ec2.route_table
    vpc_id: ${{main.id}}
    routes: [{{ destination_cidr_block: 0.0.0.0/0, nat_gateway_id: "${{nat.id}}" }}]
    subnet_ids: ["${{private.id}}"]
"#
    )
}

/// `drift` against the emulator itself: exit 0 means AWS holds exactly what the state
/// records (no duplicate, no orphan tagged for the blueprint).
fn assert_matches_aws(ws: &Workspace, bp: &str) {
    let drift = ws.run(&["drift", bp]);
    assert_eq!(drift.code(), 0, "{}\n{}", drift.stdout(), drift.stderr());
}

/// innovate retries CreateCluster and CreateNodegroup while EKS cannot assume a role created
/// seconds ago (InvalidParameterException), so the estate applies; the proxy really refused
/// both calls first.
#[test]
fn eks_creates_wait_for_fresh_iam_roles() {
    let proxy = FaultProxy::start(&["--eventual", "3", "--eventual-only", "iam"]);
    let ws = Workspace::new();
    let bp = ws.write_blueprint(&eks_blueprint(&unique("ec-iam"), 91));
    let bp = bp.to_str().unwrap();
    let applied = through(&ws, &proxy, &["apply", bp, "--auto-approve"]);
    assert_eq!(applied.code(), 0, "{}", applied.stderr());
    assert!(
        eventual(&proxy, "iam", "POST /clusters") >= 1,
        "{}",
        proxy.stats()
    );
    assert!(
        eventual(&proxy, "iam", "POST /clusters/*/node-groups") >= 1,
        "{}",
        proxy.stats()
    );
    assert_matches_aws(&ws, bp);
    ws.run(&["destroy", bp, "--auto-approve"]).expect(0);
}

/// Reads of ids created seconds ago answer NotFound (EKS DescribeCluster and
/// DescribeNodegroup while innovate waits for ACTIVE, EC2 Describe* of a fresh VPC, subnet,
/// NAT gateway ...): innovate reads them as "not visible yet" and keeps waiting.
#[test]
fn waits_after_creates_outlast_reads_that_do_not_find_fresh_ids_yet() {
    let proxy = FaultProxy::start(&["--eventual", "2", "--eventual-only", "reads"]);
    let ws = Workspace::new();
    let bp = ws.write_blueprint(&eks_blueprint(&unique("ec-read"), 92));
    let bp = bp.to_str().unwrap();
    let applied = through(&ws, &proxy, &["apply", bp, "--auto-approve"]);
    assert_eq!(applied.code(), 0, "{}", applied.stderr());
    assert!(
        eventual(&proxy, "reads", "GET /clusters/*") >= 1,
        "{}",
        proxy.stats()
    );
    assert!(
        eventual(&proxy, "reads", "GET /clusters/*/node-groups/*") >= 1,
        "{}",
        proxy.stats()
    );
    assert_matches_aws(&ws, bp);
    ws.run(&["destroy", bp, "--auto-approve"]).expect(0);
}

/// The NAT gateway's wait reads a gateway EC2 does not list yet: innovate keeps waiting.
#[test]
fn the_nat_gateway_wait_outlasts_a_gateway_not_listed_yet() {
    let proxy = FaultProxy::start(&["--eventual", "2", "--eventual-only", "reads"]);
    let ws = Workspace::new();
    let bp = ws.write_blueprint(&network_blueprint(&unique("ec-nat"), 93));
    let bp = bp.to_str().unwrap();
    let applied = through(&ws, &proxy, &["apply", bp, "--auto-approve"]);
    assert_eq!(applied.code(), 0, "{}", applied.stderr());
    assert!(
        eventual(&proxy, "reads", "DescribeNatGateways") >= 1,
        "{}",
        proxy.stats()
    );
    assert_matches_aws(&ws, bp);
    ws.run(&["destroy", bp, "--auto-approve"]).expect(0);
}

/// A destroy through DependencyViolation: for two seconds after each EC2 delete, deletes of
/// subnets, security groups, the internet gateway and the VPC are refused as AWS refuses
/// them while it releases network interfaces; innovate retries them and leaves nothing.
#[test]
fn destroy_retries_dependency_violations_until_nothing_is_left() {
    let ws = Workspace::new();
    let name = unique("ec-dep");
    let bp = ws.write_blueprint(&network_blueprint(&name, 94));
    let bp = bp.to_str().unwrap();
    ws.run(&["apply", bp, "--auto-approve"]).expect(0);
    let vpc = ws.run(&["state", "show", bp, "main"]).expect(0).stdout();
    let vpc: Value = serde_json::from_str(&vpc).unwrap();
    let vpc_id = vpc["id"].as_str().unwrap().to_string();

    let proxy = FaultProxy::start(&["--eventual", "2", "--eventual-only", "deletes"]);
    let destroyed = through(&ws, &proxy, &["destroy", bp, "--auto-approve"]);
    assert_eq!(destroyed.code(), 0, "{}", destroyed.stderr());
    let refused: u64 = [
        "DeleteSubnet",
        "DeleteSecurityGroup",
        "DeleteVpc",
        "DetachInternetGateway",
    ]
    .iter()
    .map(|action| eventual(&proxy, "deletes", action))
    .sum();
    assert!(refused >= 2, "{}", proxy.stats());
    assert_eq!(ws.run(&["state", "list", bp]).expect(0).stdout(), "");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let left = rt.block_on(async {
        let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
        ec2.describe_vpcs().vpc_ids(&vpc_id).send().await
    });
    assert!(left.is_err(), "the VPC is gone: {left:?}");
}

/// Runs `call` until it stops answering `code`, at most `bound`; every answer before the
/// last must be `code`. Returns how many times it was refused and the last result.
async fn until_not<T, E, F, Fut>(code: &str, bound: Duration, mut call: F) -> (u32, Result<T, E>)
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    let mut refused = 0;
    loop {
        let result = call().await;
        match &result {
            Err(e) if e.code() == Some(code) && started.elapsed() < bound => {
                refused += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            _ => return (refused, result),
        }
    }
}

async fn proxied_config(proxy: &FaultProxy) -> aws_config::SdkConfig {
    sdk_config()
        .await
        .to_builder()
        .endpoint_url(&proxy.endpoint)
        .build()
}

fn trust(principal: Value) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole" }]
    })
    .to_string()
}

/// The proxy as AWS (iam.role): a trust policy naming a role or an OIDC provider
/// created seconds ago is refused with MalformedPolicyDocument "Invalid principal in policy"
/// by CreateRole and UpdateAssumeRolePolicy, until the window closes.
#[tokio::test]
async fn iam_refuses_fresh_principals_in_trust_policies_for_the_window() {
    let proxy = FaultProxy::start(&["--eventual", "2", "--eventual-only", "iam"]);
    let iam = aws_sdk_iam::Client::new(&proxied_config(&proxy).await);
    let service = trust(json!({ "Service": "ec2.amazonaws.com" }));
    let first = iam
        .create_role()
        .role_name(unique("ec-first"))
        .assume_role_policy_document(&service);
    let first = first.send().await.unwrap().role.unwrap().arn;
    let provider = iam
        .create_open_id_connect_provider()
        .url(format!(
            "https://oidc.eks.us-east-1.amazonaws.com/id/{}",
            unique("EC").to_uppercase()
        ))
        .client_id_list("sts.amazonaws.com")
        .thumbprint_list("9e99a48a9960b14926bb7f3b02e22da2b0ab7280")
        .send()
        .await
        .unwrap()
        .open_id_connect_provider_arn
        .unwrap();

    let second = unique("ec-second");
    let refused = iam
        .create_role()
        .role_name(&second)
        .assume_role_policy_document(trust(json!({ "AWS": first })))
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("MalformedPolicyDocument"));
    assert_eq!(
        refused.message(),
        Some(format!("Invalid principal in policy: \"AWS\":\"{first}\"").as_str())
    );
    iam.create_role()
        .role_name(&second)
        .assume_role_policy_document(&service)
        .send()
        .await
        .unwrap();
    let federated = trust(json!({ "Federated": provider }));
    let (times, updated) = until_not("MalformedPolicyDocument", Duration::from_secs(10), || {
        iam.update_assume_role_policy()
            .role_name(&second)
            .policy_document(&federated)
            .send()
    })
    .await;
    assert!(times >= 1, "refused first: {}", proxy.stats());
    updated.expect("accepted once the window closed");
    assert!(
        eventual(&proxy, "iam", "UpdateAssumeRolePolicy") >= 1,
        "{}",
        proxy.stats()
    );
}

/// CreateAccount right after CreateOrganization answers FinalizingOrganizationException,
/// and AssumeRole into the new account answers AccessDenied, each for the window:
/// innovate sends both again until AWS is ready, so an organization, its account and a VPC
/// placed in that account apply in one run. (One organization per emulator: the only
/// organization test of this binary.)
#[test]
fn a_new_organization_and_its_new_account_are_waited_for() {
    let proxy = FaultProxy::start(&["--eventual", "3", "--eventual-only", "org,assume"]);
    let ws = Workspace::new();
    let name = unique("ec-org");
    let bp = ws.write_blueprint(&format!(
        r#"blueprint: {name}
region: us-east-1
resources:
  org: {{ kind: organizations.organization, feature_set: ALL }}
  member:
    kind: organizations.account
    account_name: {name}
    email: aws-{name}@innovate-inc.com
    parent_id: ${{org.root_id}}
  network:
    kind: ec2.vpc
    cidr_block: "10.95.0.0/16"
    account: ${{member.id}}
"#
    ));
    let bp = bp.to_str().unwrap();
    let applied = through(&ws, &proxy, &["apply", bp, "--auto-approve"]);
    assert_eq!(applied.code(), 0, "{}", applied.stderr());
    assert!(
        eventual(&proxy, "org", "CreateAccount") >= 1,
        "{}",
        proxy.stats()
    );
    assert!(
        eventual(&proxy, "assume", "AssumeRole") >= 1,
        "{}",
        proxy.stats()
    );
    let plan = ws.run(&["plan", bp, "--detailed-exitcode"]);
    assert_eq!(plan.code(), 0, "{}", plan.stdout());
}

/// The proxy as AWS (eks.addon): CreateAddon naming an IRSA role created seconds
/// ago answers InvalidParameterException "... does not exist" (what terraform-provider-aws's
/// resourceAddonCreate retries). The proxy answers before the emulator sees the call.
#[tokio::test]
async fn eks_refuses_an_addon_role_created_seconds_ago() {
    let proxy = FaultProxy::start(&["--eventual", "30", "--eventual-only", "iam"]);
    let config = proxied_config(&proxy).await;
    let iam = aws_sdk_iam::Client::new(&config);
    let service = trust(json!({ "Service": "pods.eks.amazonaws.com" }));
    let created = iam
        .create_role()
        .role_name(unique("ec-irsa"))
        .assume_role_policy_document(service);
    let role = created.send().await.unwrap().role.unwrap().arn;
    let eks = aws_sdk_eks::Client::new(&config);
    let refused = eks
        .create_addon()
        .cluster_name(unique("ec-addon"))
        .addon_name("vpc-cni")
        .service_account_role_arn(&role)
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("InvalidParameterException"));
    assert_eq!(
        refused.message(),
        Some(format!("roleArn, {role}, does not exist").as_str())
    );
    assert_eq!(eventual(&proxy, "iam", "POST /clusters/*/addons"), 1);
}

/// A role whose trust policy names an OIDC provider and a role created seconds before:
/// IAM answers MalformedPolicyDocument "Invalid principal in policy" for the window, and
/// innovate sends CreateRole again until IAM accepts it.
#[test]
fn roles_trusting_fresh_principals_are_created_once_iam_knows_them() {
    let proxy = FaultProxy::start(&["--eventual", "3", "--eventual-only", "iam"]);
    let ws = Workspace::new();
    let name = unique("ec-trust");
    let bp = ws.write_blueprint(&format!(
        r#"blueprint: {name}
region: us-east-1
resources:
  oidc:
    kind: iam.openid_connect_provider
    url: https://oidc.eks.us-east-1.amazonaws.com/id/{name}
  irsa:
    kind: iam.role
    name: {name}-irsa
    assume_role_policy:
      Version: "2012-10-17"
      Statement: [{{ Effect: Allow, Principal: {{ Federated: "${{oidc.arn}}" }}, Action: "sts:AssumeRoleWithWebIdentity" }}]
  chained:
    kind: iam.role
    name: {name}-chained
    assume_role_policy:
      Version: "2012-10-17"
      Statement: [{{ Effect: Allow, Principal: {{ AWS: "${{irsa.arn}}" }}, Action: "sts:AssumeRole" }}]
"#
    ));
    let bp = bp.to_str().unwrap();
    let applied = through(&ws, &proxy, &["apply", bp, "--auto-approve"]);
    assert_eq!(applied.code(), 0, "{}", applied.stderr());
    assert!(
        eventual(&proxy, "iam", "CreateRole") >= 2,
        "{}",
        proxy.stats()
    );
    assert_matches_aws(&ws, bp);
    ws.run(&["destroy", bp, "--auto-approve"]).expect(0);
}

/// CreateAddon naming an IRSA role created seconds before answers InvalidParameterException
/// "roleArn, ARN, does not exist" for the window; innovate sends it again (with the same
/// client token) until EKS sees the role.
#[test]
fn an_addon_waits_for_its_fresh_irsa_role() {
    let ws = Workspace::new();
    let name = unique("ec-addon");
    let mut blueprint = eks_blueprint(&name, 96);
    blueprint.push_str(&format!(
        r#"  cni_role:
    kind: iam.role
    name: {name}-cni
    assume_role_policy:
      Version: "2012-10-17"
      Statement: [{{ Effect: Allow, Principal: {{ Service: pods.eks.amazonaws.com }}, Action: "sts:AssumeRole" }}]
    depends_on: [nodes]
  cni:
    kind: eks.addon
    cluster_name: ${{cluster.name}}
    name: vpc-cni
    service_account_role_arn: ${{cni_role.arn}}
"#
    ));
    let bp = ws.write_blueprint(&blueprint);
    let bp = bp.to_str().unwrap();
    let proxy = FaultProxy::start(&["--eventual", "3", "--eventual-only", "iam"]);
    let applied = through(&ws, &proxy, &["apply", bp, "--auto-approve"]);
    assert_eq!(applied.code(), 0, "{}", applied.stderr());
    let refused = eventual(&proxy, "iam", "POST /clusters/*/addons");
    assert!(refused >= 1, "{}", proxy.stats());
    assert_matches_aws(&ws, bp);
    ws.run(&["destroy", bp, "--auto-approve"]).expect(0);
}
