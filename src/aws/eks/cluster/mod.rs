//! `eks.cluster`: an EKS control plane in a VPC's subnets. AWS takes 10-15 minutes to make
//! one ACTIVE and minutes for every update and for the deletion; each is waited for by
//! polling DescribeCluster (UPDATING -> ACTIVE), which works for every kind of update.

use super::{
    describe_issues, found, one_of, read_each, retry_iam_propagation, tags, wait_backoff,
    IAM_PROPAGATION, NOT_FOUND,
};
use crate::aws::common::{
    carries_all, ignore_gone, missing, observed, outputs, parse_spec, string_or_null, user_tags,
    TAGS,
};
use crate::aws::wait::{self, Status};
use crate::aws::{sdk_error, AwsContext};
use crate::kinds::{
    identity_tags, Attr, AttrType, Attrs, KindError, KindResult, Live, Price, ResourceKind, Schema,
    StepCx, Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_eks::types::{
    Cluster, ClusterStatus, EncryptionConfig, LogSetup, LogType, Logging, Provider,
    VpcConfigRequest,
};
use aws_sdk_eks::Client;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

static SCHEMA: Schema = Schema {
    name: "eks.cluster",
    attrs: &[
        Attr::required("name", AttrType::String).force_new(),
        Attr::optional("version", AttrType::String),
        Attr::required("role_arn", AttrType::String).force_new(),
        Attr::required("subnet_ids", AttrType::List(&AttrType::String))
            .unordered()
            .force_new(),
        Attr::optional("security_group_ids", AttrType::List(&AttrType::String))
            .default("[]")
            .force_new()
            .unordered(),
        Attr::optional("endpoint_public_access", AttrType::Bool).default("true"),
        Attr::optional("endpoint_private_access", AttrType::Bool).default("false"),
        Attr::optional("public_access_cidrs", AttrType::List(&AttrType::Cidr))
            .default(r#"["0.0.0.0/0"]"#)
            .unordered(),
        Attr::optional("enabled_log_types", AttrType::List(&AttrType::String))
            .default("[]")
            .unordered(),
        Attr::optional("encryption_kms_key_arn", AttrType::String).force_new(),
        TAGS,
    ],
    outputs: &[
        "arn",
        "endpoint",
        "certificate_authority",
        "oidc_issuer",
        "oidc_provider",
        "cluster_security_group_id",
        "platform_version",
    ],
    taggable: true,
    tier: Tier::Compute,
    price: Price::Model(crate::cost::models::eks_cluster),
};

/// Default bounds of the waits; the blueprint's `timeouts` override them.
const CREATE_WAIT: Duration = Duration::from_secs(30 * 60);
const UPDATE_WAIT: Duration = Duration::from_secs(60 * 60);
const DELETE_WAIT: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    name: String,
    version: Option<String>,
    role_arn: String,
    subnet_ids: Vec<String>,
    security_group_ids: Vec<String>,
    endpoint_public_access: bool,
    endpoint_private_access: bool,
    public_access_cidrs: Vec<String>,
    enabled_log_types: Vec<String>,
    encryption_kms_key_arn: Option<String>,
}

impl Spec {
    fn parse(desired: &Attrs) -> KindResult<Spec> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        for log_type in &spec.enabled_log_types {
            one_of(
                SCHEMA.name,
                "enabled_log_types",
                log_type,
                LogType::values(),
            )?;
        }
        Ok(spec)
    }
}

pub(super) struct ClusterKind(pub(super) Arc<AwsContext>);

#[async_trait]
impl ResourceKind for ClusterKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live> {
        let spec = Spec::parse(desired)?;
        let eks = self.0.eks().await;
        create_cluster(eks, &spec, tags).await?;
        let cluster = wait_active(cx, eks, &spec.name, "eks:CreateCluster", CREATE_WAIT).await?;
        to_live(&cluster).ok_or_else(|| missing("eks:DescribeCluster", "name"))
    }

    fn natural_id(&self, desired: &Attrs) -> Option<String> {
        crate::aws::common::text_attr(desired, "name")
    }

    fn conflict_codes(&self) -> &'static [&'static str] {
        &["ResourceInUseException"]
    }

    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        let eks = self.0.eks().await;
        read_each(ids, |name| async move {
            let cluster = found(describe(eks, &name).await)?;
            Ok(cluster.as_ref().and_then(to_live))
        })
        .await
    }

    /// EKS lists cluster names only, so each cluster is described to see its tags: a call
    /// per cluster, a few at a time. Accounts have few clusters, and finding a cluster a
    /// crashed apply left behind is worth those calls.
    async fn list_tagged(&self, tags: &Tags) -> KindResult<Option<Vec<Live>>> {
        let eks = self.0.eks().await;
        let names: Vec<String> = eks
            .list_clusters()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("eks:ListClusters", e))?;
        let clusters = read_each(&names, |name| async move {
            // A cluster deleted since the listing is simply not listed.
            found(describe(eks, &name).await)
        })
        .await?;
        let tagged = clusters
            .iter()
            .flatten()
            .filter(|cluster| carries_all(&tags::to_map(cluster.tags()), tags))
            .filter_map(to_live);
        Ok(Some(tagged.collect()))
    }

    async fn update(
        &self,
        cx: &StepCx,
        live: &Live,
        _prior: &Attrs,
        desired: &Attrs,
        tags: &Tags,
    ) -> KindResult<Live> {
        let spec = Spec::parse(desired)?;
        let eks = self.0.eks().await;
        // Compare with what AWS reports, not with state: drift gets corrected too.
        let current = describe(eks, &live.id).await?;
        // One adopted mid-create (or changed elsewhere) is CREATING / UPDATING, and AWS
        // refuses changes until it is ACTIVE.
        let current = match current.status() {
            Some(ClusterStatus::Active) => current,
            _ => wait_active(cx, eks, &live.id, "eks:DescribeCluster", UPDATE_WAIT).await?,
        };
        for change in changes(&current, &spec)? {
            let call = apply(eks, &live.id, &change).await?;
            wait_active(cx, eks, &live.id, call, UPDATE_WAIT).await?;
        }
        let arn = current
            .arn()
            .ok_or_else(|| missing("eks:DescribeCluster", "arn"))?;
        tags::sync(eks, arn, &tags::to_map(current.tags()), tags).await?;
        let cluster = describe(eks, &live.id).await?;
        to_live(&cluster).ok_or_else(|| missing("eks:DescribeCluster", "name"))
    }

    async fn delete(&self, cx: &StepCx, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let eks = self.0.eks().await;
        let deleted = eks.delete_cluster().name(&live.id).send().await;
        let deleted = deleted
            .map(drop)
            .map_err(|e| sdk_error("eks:DeleteCluster", e));
        ignore_gone(deleted, &[NOT_FOUND])?;
        wait_gone(cx, eks, &live.id).await
    }
}

/// Creates the cluster under a fresh client token, so a retried call never makes a second
/// one; a role created moments ago may not be assumable by EKS yet.
async fn create_cluster(eks: &Client, spec: &Spec, tags: &Tags) -> KindResult<()> {
    let token = uuid::Uuid::new_v4().to_string();
    retry_iam_propagation(IAM_PROPAGATION, || async {
        eks.create_cluster()
            .name(&spec.name)
            .set_version(spec.version.clone())
            .role_arn(&spec.role_arn)
            .resources_vpc_config(vpc_config(spec))
            .set_logging(initial_logging(&spec.enabled_log_types))
            .set_encryption_config(encryption(spec.encryption_kms_key_arn.as_deref()))
            .client_request_token(&token)
            .set_tags(tags::for_create(tags))
            .send()
            .await
            .map_err(|e| sdk_error("eks:CreateCluster", e))
    })
    .await?;
    Ok(())
}

fn vpc_config(spec: &Spec) -> VpcConfigRequest {
    VpcConfigRequest::builder()
        .set_subnet_ids(Some(spec.subnet_ids.clone()))
        .set_security_group_ids(Some(spec.security_group_ids.clone()))
        .endpoint_public_access(spec.endpoint_public_access)
        .endpoint_private_access(spec.endpoint_private_access)
        .set_public_access_cidrs(public_cidrs(spec))
        .build()
}

/// The CIDRs allowed to reach a public endpoint; meaningless without one.
fn public_cidrs(spec: &Spec) -> Option<Vec<String>> {
    spec.endpoint_public_access
        .then(|| spec.public_access_cidrs.clone())
}

/// AWS starts with every log type off, so only enabled ones need saying.
fn initial_logging(enabled: &[String]) -> Option<Logging> {
    let enable = enabled.iter().cloned().collect();
    logging(&enable, &BTreeSet::new())
}

fn logging(enable: &BTreeSet<String>, disable: &BTreeSet<String>) -> Option<Logging> {
    let setup = |types: &BTreeSet<String>, on: bool| {
        (!types.is_empty()).then(|| {
            LogSetup::builder()
                .set_types(Some(
                    types.iter().map(|t| LogType::from(t.as_str())).collect(),
                ))
                .enabled(on)
                .build()
        })
    };
    let setups: Vec<LogSetup> = [setup(enable, true), setup(disable, false)]
        .into_iter()
        .flatten()
        .collect();
    (!setups.is_empty()).then(|| Logging::builder().set_cluster_logging(Some(setups)).build())
}

/// Kubernetes secrets encrypted with the customer's KMS key. The SDK marks `resources`
/// deprecated (EKS now encrypts all API data by default), but ["secrets"] is still the value
/// the API documents and accepts, and older API versions require it.
#[allow(deprecated)]
fn encryption(key_arn: Option<&str>) -> Option<Vec<EncryptionConfig>> {
    let provider = Provider::builder().key_arn(key_arn?).build();
    let config = EncryptionConfig::builder()
        .resources("secrets")
        .provider(provider)
        .build();
    Some(vec![config])
}

/// One in-place change, each its own call: AWS refuses logging and endpoint access in one
/// UpdateClusterConfig, and upgrades Kubernetes one minor version per UpdateClusterVersion.
#[derive(Debug, PartialEq)]
enum Change {
    Logging {
        enable: BTreeSet<String>,
        disable: BTreeSet<String>,
    },
    EndpointAccess {
        public: bool,
        private: bool,
        public_cidrs: Option<Vec<String>>,
    },
    Version(String),
}

/// The calls that turn `current` into `spec`, in the order to make them.
fn changes(current: &Cluster, spec: &Spec) -> KindResult<Vec<Change>> {
    let mut changes = Vec::new();
    changes.extend(logging_change(current, spec));
    changes.extend(endpoint_change(current, spec));
    if let (Some(from), Some(to)) = (current.version(), spec.version.as_deref()) {
        let steps = upgrade_path(from, to)?;
        changes.extend(steps.into_iter().map(Change::Version));
    }
    Ok(changes)
}

fn enabled_log_types(current: &Cluster) -> BTreeSet<String> {
    let setups = current
        .logging()
        .map(Logging::cluster_logging)
        .unwrap_or(&[]);
    setups
        .iter()
        .filter(|setup| setup.enabled() == Some(true))
        .flat_map(|setup| setup.types().iter().map(|t| t.as_str().to_string()))
        .collect()
}

/// Only the types whose state changes: AWS rejects an update that changes nothing.
fn logging_change(current: &Cluster, spec: &Spec) -> Option<Change> {
    let now = enabled_log_types(current);
    let wanted: BTreeSet<String> = spec.enabled_log_types.iter().cloned().collect();
    let enable: BTreeSet<String> = wanted.difference(&now).cloned().collect();
    let disable: BTreeSet<String> = now.difference(&wanted).cloned().collect();
    (!enable.is_empty() || !disable.is_empty()).then_some(Change::Logging { enable, disable })
}

fn endpoint_change(current: &Cluster, spec: &Spec) -> Option<Change> {
    let vpc = current.resources_vpc_config();
    let public = vpc.is_some_and(|v| v.endpoint_public_access());
    let private = vpc.is_some_and(|v| v.endpoint_private_access());
    let sorted = |cidrs: &[String]| cidrs.iter().cloned().collect::<BTreeSet<_>>();
    let cidrs_now = sorted(vpc.map(|v| v.public_access_cidrs()).unwrap_or(&[]));
    // CIDRs only matter while the public endpoint is on.
    let cidrs_differ =
        spec.endpoint_public_access && cidrs_now != sorted(&spec.public_access_cidrs);
    let differs = public != spec.endpoint_public_access
        || private != spec.endpoint_private_access
        || cidrs_differ;
    differs.then(|| Change::EndpointAccess {
        public: spec.endpoint_public_access,
        private: spec.endpoint_private_access,
        public_cidrs: public_cidrs(spec),
    })
}

/// "1.29" -> (1, 29).
fn minor_version(version: &str) -> Option<(u32, u32)> {
    let (major, minor) = version.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The versions to pass through from `from` to `to`, one minor step each, as EKS requires.
fn upgrade_path(from: &str, to: &str) -> KindResult<Vec<String>> {
    if from == to {
        return Ok(Vec::new());
    }
    let call = "eks:UpdateClusterVersion";
    let unparsable = |v: &str| KindError::local(call, format!("version {v:?} is not MAJOR.MINOR"));
    let (major, from_minor) = minor_version(from).ok_or_else(|| unparsable(from))?;
    let (to_major, to_minor) = minor_version(to).ok_or_else(|| unparsable(to))?;
    if to_major != major || to_minor < from_minor {
        let message = format!("cannot change Kubernetes {from} to {to}: EKS only upgrades");
        return Err(KindError::local(call, message));
    }
    Ok((from_minor + 1..=to_minor)
        .map(|minor| format!("{major}.{minor}"))
        .collect())
}

/// Makes the call for `change`; returns its name, for a failure found while waiting.
async fn apply(eks: &Client, name: &str, change: &Change) -> KindResult<&'static str> {
    let token = uuid::Uuid::new_v4().to_string();
    match change {
        Change::Logging { enable, disable } => {
            let request = eks.update_cluster_config().name(name);
            request
                .set_logging(logging(enable, disable))
                .client_request_token(token)
                .send()
                .await
                .map_err(|e| sdk_error("eks:UpdateClusterConfig", e))?;
        }
        Change::EndpointAccess {
            public,
            private,
            public_cidrs,
        } => {
            let access = VpcConfigRequest::builder()
                .endpoint_public_access(*public)
                .endpoint_private_access(*private)
                .set_public_access_cidrs(public_cidrs.clone())
                .build();
            let request = eks.update_cluster_config().name(name);
            request
                .resources_vpc_config(access)
                .client_request_token(token)
                .send()
                .await
                .map_err(|e| sdk_error("eks:UpdateClusterConfig", e))?;
        }
        Change::Version(version) => {
            let request = eks.update_cluster_version().name(name);
            request
                .version(version)
                .client_request_token(token)
                .send()
                .await
                .map_err(|e| sdk_error("eks:UpdateClusterVersion", e))?;
            return Ok("eks:UpdateClusterVersion");
        }
    }
    Ok("eks:UpdateClusterConfig")
}

async fn describe(eks: &Client, name: &str) -> KindResult<Cluster> {
    let described = eks.describe_cluster().name(name).send().await;
    let described = described.map_err(|e| sdk_error("eks:DescribeCluster", e))?;
    described
        .cluster
        .ok_or_else(|| missing("eks:DescribeCluster", "cluster"))
}

/// Waits until the cluster is ACTIVE after `operation`; FAILED ends the wait with AWS's
/// health issues.
async fn wait_active(
    cx: &StepCx,
    eks: &Client,
    name: &str,
    operation: &str,
    default: Duration,
) -> KindResult<Cluster> {
    let backoff = wait_backoff(cx, default);
    wait::until(cx, "eks:DescribeCluster", "ACTIVE", backoff, || async {
        // Just created, AWS may not list it for a moment.
        let Some(cluster) = found(describe(eks, name).await)? else {
            return Ok(Status::Pending("not visible yet".to_string()));
        };
        match cluster.status() {
            Some(ClusterStatus::Active) => Ok(Status::Ready(cluster)),
            Some(ClusterStatus::Failed) => Err(failed(&cluster, operation)),
            Some(status) => Ok(Status::Pending(status.as_str().to_string())),
            None => Ok(Status::Pending("in no status yet".to_string())),
        }
    })
    .await
}

async fn wait_gone(cx: &StepCx, eks: &Client, name: &str) -> KindResult<()> {
    let backoff = wait_backoff(cx, DELETE_WAIT);
    wait::until(cx, "eks:DescribeCluster", "deleted", backoff, || async {
        let Some(cluster) = found(describe(eks, name).await)? else {
            return Ok(Status::Ready(()));
        };
        match cluster.status() {
            Some(ClusterStatus::Failed) => Err(failed(&cluster, "eks:DeleteCluster")),
            status => Ok(Status::Pending(
                status
                    .map_or("in no status", ClusterStatus::as_str)
                    .to_string(),
            )),
        }
    })
    .await
}

/// The cluster went to FAILED during `operation`: AWS's health issues say why.
fn failed(cluster: &Cluster, operation: &str) -> KindError {
    let issues = cluster.health().map(|h| h.issues()).unwrap_or(&[]);
    let issues = issues
        .iter()
        .map(|issue| (issue.code().map(|c| c.as_str()), issue.message()));
    let name = cluster.name().unwrap_or("the cluster");
    let message = format!("{name} {}", describe_issues("FAILED", issues));
    KindError::local(operation, message)
}

fn oidc_provider(issuer: &str) -> String {
    issuer.trim_start_matches("https://").to_string()
}

fn to_live(cluster: &Cluster) -> Option<Live> {
    let vpc = cluster.resources_vpc_config();
    let issuer = cluster
        .identity()
        .and_then(|i| i.oidc())
        .and_then(|o| o.issuer());
    let outputs = outputs([
        ("arn", cluster.arn().map(str::to_string)),
        ("endpoint", cluster.endpoint().map(str::to_string)),
        (
            "certificate_authority",
            cluster
                .certificate_authority()
                .and_then(|c| c.data())
                .map(str::to_string),
        ),
        ("oidc_issuer", issuer.map(str::to_string)),
        // What IAM calls the provider: the issuer without its scheme, the prefix of the
        // `…:sub` / `…:aud` condition keys in IRSA trust policies.
        ("oidc_provider", issuer.map(oidc_provider)),
        (
            "cluster_security_group_id",
            vpc.and_then(|v| v.cluster_security_group_id())
                .map(str::to_string),
        ),
        (
            "platform_version",
            cluster.platform_version().map(str::to_string),
        ),
    ]);
    Some(Live {
        attrs: Some(observed_attrs(cluster)),
        id: cluster.name()?.to_string(),
        outputs,
        identity: identity_tags(&tags::to_map(cluster.tags())),
    })
}

/// The blueprint attributes DescribeCluster reports. Left out: `subnet_ids` and
/// `security_group_ids` (replace-forcing lists whose order AWS need not keep: a false
/// difference would plan a new cluster); `public_access_cidrs` while the public endpoint is
/// off (they are then never sent, and AWS reports its own).
fn observed_attrs(cluster: &Cluster) -> Attrs {
    let vpc = cluster.resources_vpc_config();
    let public = vpc.map(|v| v.endpoint_public_access());
    let mut attrs = observed([
        ("name", string_or_null(cluster.name())),
        ("version", string_or_null(cluster.version())),
        ("role_arn", string_or_null(cluster.role_arn())),
        (
            "endpoint_public_access",
            public.map_or(Value::Null, Value::Bool),
        ),
        (
            "endpoint_private_access",
            vpc.map_or(Value::Null, |v| Value::Bool(v.endpoint_private_access())),
        ),
        (
            "enabled_log_types",
            // In the order AWS documents them, which is also alphabetical.
            Value::from(enabled_log_types(cluster).into_iter().collect::<Vec<_>>()),
        ),
        (
            "encryption_kms_key_arn",
            string_or_null(
                cluster
                    .encryption_config()
                    .iter()
                    .find_map(|config| config.provider()?.key_arn()),
            ),
        ),
        ("tags", user_tags(&tags::to_map(cluster.tags()))),
    ]);
    if let (Some(true), Some(vpc)) = (public, vpc) {
        attrs.insert(
            "public_access_cidrs".into(),
            Value::from(vpc.public_access_cidrs().to_vec()),
        );
    }
    attrs
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_eks::types::{
        Certificate, ClusterHealth, ClusterIssue, ClusterIssueCode, Identity, Oidc,
        VpcConfigResponse,
    };
    use serde_json::json;

    #[test]
    fn spec_fits_schema() {
        crate::aws::common::testing::assert_spec_fits_schema::<Spec>(&SCHEMA);
    }

    fn spec(extra: serde_json::Value) -> Spec {
        let mut attrs = json!({
            "name": "prod", "role_arn": "arn:aws:iam::1:role/eks", "subnet_ids": ["subnet-1"]
        });
        attrs
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Spec::parse(attrs.as_object().unwrap()).unwrap()
    }

    fn log_setup(types: &[&str], on: bool) -> LogSetup {
        LogSetup::builder()
            .set_types(Some(types.iter().map(|t| LogType::from(*t)).collect()))
            .enabled(on)
            .build()
    }

    /// A cluster as AWS describes one created with the schema's defaults.
    fn current(version: &str, enabled_logs: &[&str]) -> Cluster {
        let vpc = VpcConfigResponse::builder()
            .endpoint_public_access(true)
            .endpoint_private_access(false)
            .public_access_cidrs("0.0.0.0/0")
            .build();
        let all = LogType::values();
        let disabled: Vec<&str> = all
            .iter()
            .copied()
            .filter(|t| !enabled_logs.contains(t))
            .collect();
        let logging = Logging::builder()
            .cluster_logging(log_setup(enabled_logs, true))
            .cluster_logging(log_setup(&disabled, false))
            .build();
        Cluster::builder()
            .name("prod")
            .version(version)
            .resources_vpc_config(vpc)
            .logging(logging)
            .build()
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_change_nothing() {
        let changes = changes(&current("1.31", &[]), &spec(json!({"version": "1.31"})));
        assert_eq!(changes.unwrap(), vec![]);
    }

    #[test]
    fn logging_sends_only_the_types_that_flip() {
        let wanted = spec(json!({"enabled_log_types": ["api", "scheduler"]}));
        let changes = changes(&current("1.31", &["audit", "api"]), &wanted).unwrap();
        assert_eq!(
            changes,
            vec![Change::Logging {
                enable: set(&["scheduler"]),
                disable: set(&["audit"])
            }]
        );
        let Change::Logging { enable, disable } = &changes[0] else {
            unreachable!()
        };
        let sent = logging(enable, disable).unwrap();
        assert_eq!(sent.cluster_logging().len(), 2);
        assert_eq!(sent.cluster_logging()[1].enabled(), Some(false));
    }

    #[test]
    fn endpoint_access_and_logging_are_separate_calls() {
        let wanted = spec(json!({
            "enabled_log_types": ["api"],
            "endpoint_private_access": true,
            "public_access_cidrs": ["203.0.113.0/24"]
        }));
        let changes = changes(&current("1.31", &[]), &wanted).unwrap();
        assert_eq!(
            changes,
            vec![
                Change::Logging {
                    enable: set(&["api"]),
                    disable: set(&[])
                },
                Change::EndpointAccess {
                    public: true,
                    private: true,
                    public_cidrs: Some(vec!["203.0.113.0/24".into()])
                },
            ]
        );
    }

    #[test]
    fn cidrs_are_ignored_once_the_public_endpoint_is_off() {
        let wanted = spec(json!({
            "endpoint_public_access": false, "endpoint_private_access": true,
            "public_access_cidrs": ["203.0.113.0/24"]
        }));
        let changes = changes(&current("1.31", &[]), &wanted).unwrap();
        assert_eq!(
            changes,
            vec![Change::EndpointAccess {
                public: false,
                private: true,
                public_cidrs: None
            }]
        );
    }

    #[test]
    fn version_upgrades_go_one_minor_step_at_a_time() {
        let changes = changes(&current("1.29", &[]), &spec(json!({"version": "1.31"})));
        assert_eq!(
            changes.unwrap(),
            vec![
                Change::Version("1.30".into()),
                Change::Version("1.31".into())
            ]
        );
        assert!(upgrade_path("1.31", "1.30").is_err(), "no downgrades");
        assert!(upgrade_path("1.31", "2.0").is_err());
        assert!(upgrade_path("latest", "1.30").is_err());
        assert_eq!(upgrade_path("1.30", "1.30").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn observed_attrs_of_a_default_cluster_equal_its_blueprint_with_defaults() {
        let mut cluster = current("1.31", &[]);
        cluster.role_arn = Some("arn:aws:iam::1:role/eks".into());
        cluster.tags = Some(
            [
                ("Team".to_string(), "platform".to_string()),
                ("innovate:env".to_string(), "prod".to_string()),
            ]
            .into(),
        );
        let blueprint = json!({
            "name": "prod", "version": "1.31", "role_arn": "arn:aws:iam::1:role/eks",
            "endpoint_public_access": true, "endpoint_private_access": false,
            "public_access_cidrs": ["0.0.0.0/0"], "enabled_log_types": [],
            "encryption_kms_key_arn": null, "tags": {"Team": "platform"}
        });
        assert_eq!(Value::Object(observed_attrs(&cluster)), blueprint);
        let logged = current("1.31", &["scheduler", "api"]);
        assert_eq!(
            observed_attrs(&logged)["enabled_log_types"],
            json!(["api", "scheduler"])
        );
    }

    #[test]
    fn unknown_log_types_fail_before_any_call() {
        let attrs = json!({
            "name": "prod", "role_arn": "r", "subnet_ids": ["s"], "enabled_log_types": ["apis"]
        });
        let err = Spec::parse(attrs.as_object().unwrap()).unwrap_err();
        assert!(err.message.contains("controllerManager"), "{}", err.message);
    }

    #[test]
    #[allow(deprecated)] // reads back `resources`, see `encryption`
    fn create_sends_encryption_and_cidrs_only_when_they_apply() {
        assert!(encryption(None).is_none());
        let config = encryption(Some("arn:aws:kms:us-east-1:1:key/k")).unwrap();
        assert_eq!(config[0].resources(), ["secrets"]);
        let key = config[0].provider().and_then(Provider::key_arn);
        assert_eq!(key, Some("arn:aws:kms:us-east-1:1:key/k"));
        let private =
            spec(json!({"endpoint_public_access": false, "endpoint_private_access": true}));
        assert!(vpc_config(&private).public_access_cidrs().is_empty());
        assert!(initial_logging(&[]).is_none());
    }

    #[test]
    fn outputs_include_the_oidc_issuer_and_a_failure_lists_issues() {
        let cluster = Cluster::builder()
            .name("prod")
            .arn("arn:aws:eks:us-east-1:1:cluster/prod")
            .identity(
                Identity::builder()
                    .oidc(Oidc::builder().issuer("https://oidc.eks/id/X").build())
                    .build(),
            )
            .certificate_authority(Certificate::builder().data("Q0E=").build())
            .health(
                ClusterHealth::builder()
                    .issues(
                        ClusterIssue::builder()
                            .code(ClusterIssueCode::AccessDenied)
                            .message("role lacks permission")
                            .build(),
                    )
                    .build(),
            )
            .build();
        let live = to_live(&cluster).unwrap();
        assert_eq!(live.id, "prod");
        assert_eq!(live.outputs["oidc_issuer"], "https://oidc.eks/id/X");
        assert_eq!(live.outputs["oidc_provider"], "oidc.eks/id/X");
        assert_eq!(live.outputs["certificate_authority"], "Q0E=");
        assert!(!live.outputs.contains_key("endpoint"));
        let err = failed(&cluster, "eks:CreateCluster");
        assert_eq!(err.call, "eks:CreateCluster");
        assert!(
            err.message.contains("AccessDenied: role lacks permission"),
            "{}",
            err.message
        );
    }
}
