//! `eks.cluster`: an EKS control plane in a VPC's subnets. AWS takes 10-15 minutes to make
//! one ACTIVE and minutes for every update and for the deletion. Creation and deletion are
//! waited for on DescribeCluster; every update by its id on DescribeUpdate.

mod update;

use super::{
    describe_all, found, not_found_as_such, one_of, ready_for_update, retry_iam_propagation, tags,
    wait_for_update, wait_on, waiting, EksItem, UpdateOf, IAM_PROPAGATION, NAME_TAKEN, NOT_FOUND,
};
use crate::aws::common::{ignore_gone, missing, observed, outputs, string_or_null};
use crate::aws::{aws_call, sdk_error, AwsContext, Cx};
use crate::kinds::{retry_when, KindError};
use crate::kinds::{
    AttrType, Attrs, AwsKind, Change, KindResult, Live, Schema, StepCx, Tags, Tier, Waiter,
};
use async_trait::async_trait;
use aws_sdk_eks::types::{Cluster, ClusterStatus, EncryptionConfig, Provider, VpcConfigRequest};
use aws_sdk_eks::Client;
use serde_json::Value;
use std::time::Duration;
use update::{enabled_log_types, initial_logging};

/// The control-plane log types, as AWS spells them.
const LOG_TYPES: &[&str] = &[
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
];

crate::spec! {
    pub(super) struct Spec with tags {
        name: String = required(AttrType::String).force_new(),
        version: Option<String> = optional(AttrType::String),
        role_arn: String = required(AttrType::String).force_new(),
        subnet_ids: Vec<String> = required(AttrType::List(&AttrType::String)).unordered(),
        security_group_ids: Vec<String> = optional(AttrType::List(&AttrType::String))
            .default("[]")
            .unordered(),
        endpoint_public_access: bool = optional(AttrType::Bool).default("true"),
        endpoint_private_access: bool = optional(AttrType::Bool).default("false"),
        public_access_cidrs: Vec<String> = optional(AttrType::List(&AttrType::Cidr))
            .default(r#"["0.0.0.0/0"]"#)
            .unordered(),
        enabled_log_types: Vec<String> = optional(AttrType::List(&AttrType::String))
            .default("[]")
            .unordered()
            .one_of(LOG_TYPES),
        encryption_kms_key_arn: Option<String> = optional(AttrType::String)
            .force_new_unless(encryption_added),
    }
}

const SCHEMA: Schema = Schema::new("eks.cluster", Tier::Compute, Spec::ATTRS)
    .outputs(&[
        "arn",
        "endpoint",
        "certificate_authority",
        "oidc_issuer",
        "oidc_provider",
        "cluster_security_group_id",
        "platform_version",
    ])
    .priced(crate::cost::models::eks_cluster);

const DESCRIBE: &str = "eks:DescribeCluster";

/// Default bounds of the waits; the blueprint's `timeouts` override them.
const CREATE_WAIT: Duration = Duration::from_secs(30 * 60);
const UPDATE_WAIT: Duration = Duration::from_secs(60 * 60);
const DELETE_WAIT: Duration = Duration::from_secs(30 * 60);

/// A new cluster until ACTIVE (CREATING, PENDING on the way); FAILED ends it with AWS's
/// health issues.
const ACTIVE: Waiter = Waiter::until(DESCRIBE, &["ACTIVE"], &["FAILED"], waiting(CREATE_WAIT));

/// One adopted mid-create (or changed elsewhere) is CREATING / UPDATING, and AWS refuses
/// changes until it is ACTIVE.
const READY_FOR_UPDATE: Waiter = ACTIVE.with_backoff(waiting(UPDATE_WAIT));

const DELETED: Waiter = ACTIVE.gone(ACTIVE.failed, waiting(DELETE_WAIT));

impl Spec {
    /// What AWS would reject only after minutes, caught before any change.
    fn check(&self) -> KindResult<()> {
        for log_type in &self.enabled_log_types {
            one_of(SCHEMA.name, Spec::ATTRS, "enabled_log_types", log_type)?;
        }
        Ok(())
    }
}

pub(super) struct ClusterKind;

#[async_trait]
impl AwsKind for ClusterKind {
    type Spec = Spec;
    type Item = Cluster;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        spec.check()?;
        create_cluster(cx.aws.eks().await, spec, tags).await?;
        wait_on::<Cluster>(cx, cx.aws.eks().await, &ACTIVE, &spec.name).await?;
        Ok(spec.name.clone())
    }

    fn live(&self, _: &AwsContext, cluster: &Cluster) -> Option<Live> {
        to_live(cluster)
    }

    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        change.desired.check()?;
        let name = change.id();
        let eks = cx.aws.eks().await;
        let current = ready_for_update(cx, eks, &READY_FOR_UPDATE, change.current, name).await?;
        let current = current.as_ref();
        // Compared with what AWS reports, not with state: drift gets corrected too.
        for step in update::steps(current, change.desired)? {
            match update::apply(eks, name, &step).await? {
                Some(started) => {
                    let of = UpdateOf::Cluster;
                    wait_for_update(cx, eks, name, &started, of, UPDATE_WAIT).await?
                }
                // No update to follow: the cluster's status is all there is to wait on.
                None => drop(wait_on::<Cluster>(cx, eks, &READY_FOR_UPDATE, name).await?),
            }
        }
        Ok(())
    }

    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let eks = cx.aws.eks().await;
        // AWS refuses the delete while an update is in progress (ResourceInUseException
        // "... in progress"), and takes it once the update is done.
        let backoff = waiting(cx.timeout_or(DELETE_WAIT));
        let deleted = retry_when(update_in_progress, backoff, || async {
            let deleted = eks.delete_cluster().name(&live.id).send().await;
            deleted
                .map(drop)
                .map_err(|e| sdk_error("eks:DeleteCluster", e))
        })
        .await;
        ignore_gone(deleted.map_err(not_found_as_such), &[NOT_FOUND])?;
        wait_until_gone(cx, eks, &live.id).await
    }

    fn natural_id(&self, spec: &Spec) -> Option<String> {
        Some(spec.name.clone())
    }

    fn conflict_codes(&self) -> &'static [&'static str] {
        NAME_TAKEN
    }
}

/// How many NotFound answers in a row count as gone: EKS may answer NotFound for a cluster
/// it is still deleting, whose name stays taken a while longer (terraform-provider-aws's
/// `waitClusterDeleted`: `ContinuousTargetOccurence: 3`). A replace recreating the name
/// too early would meet ResourceInUseException, and could take the dying cluster for its
/// own lost create.
const GONE_ANSWERS: u32 = 3;

/// Waits until DescribeCluster has answered NotFound [`GONE_ANSWERS`] times in a row, the
/// looks spaced like the wait's own polls (a tenth of the time waited so far).
async fn wait_until_gone(cx: &StepCx, eks: &Client, name: &str) -> KindResult<()> {
    let started = tokio::time::Instant::now();
    let mut gone_answers = 0;
    while gone_answers < GONE_ANSWERS {
        if gone_answers == 0 {
            wait_on::<Cluster>(cx, eks, &DELETED, name).await?;
        } else {
            tokio::time::sleep(DELETED.backoff.pause_after(started.elapsed())).await;
            let looked = found(<Cluster as EksItem>::describe(eks, name).await)?;
            if looked.is_some() {
                gone_answers = 0;
                continue;
            }
        }
        gone_answers += 1;
    }
    Ok(())
}

/// Creates the cluster under a fresh client token, so a retried call never makes a second
/// one; a role created moments ago may not be assumable by EKS yet.
async fn create_cluster(eks: &Client, spec: &Spec, tags: &Tags) -> KindResult<()> {
    let token = uuid::Uuid::new_v4().to_string();
    retry_iam_propagation(IAM_PROPAGATION, || async {
        let request = eks
            .create_cluster()
            .name(&spec.name)
            .set_version(spec.version.clone())
            .role_arn(&spec.role_arn)
            .resources_vpc_config(vpc_config(spec))
            .set_logging(initial_logging(&spec.enabled_log_types))
            .set_encryption_config(encryption(spec.encryption_kms_key_arn.as_deref()))
            .client_request_token(&token)
            .set_tags(tags::for_create(tags));
        aws_call("eks:CreateCluster", request.send()).await
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

/// AssociateEncryptionConfig encrypts the secrets of a cluster created without a key; a
/// key, once set, can be neither changed nor removed, so those changes replace the cluster.
fn encryption_added(before: Option<&Value>, after: Option<&Value>) -> bool {
    let key = |value: Option<&Value>| value.filter(|v| !v.is_null()).is_some();
    !key(before) && key(after)
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

#[async_trait]
impl EksItem for Cluster {
    const DESCRIBE: &'static str = DESCRIBE;

    async fn describe(eks: &Client, name: &str) -> KindResult<Cluster> {
        let described = eks.describe_cluster().name(name).send().await;
        let described = described.map_err(|e| sdk_error(DESCRIBE, e))?;
        described
            .cluster
            .ok_or_else(|| missing(DESCRIBE, "cluster"))
    }

    eks_status!(ClusterStatus, arn);

    /// EKS lists cluster names only, so each cluster is described to see its tags: a call
    /// per cluster, a few at a time. Accounts have few clusters, and finding a cluster a
    /// crashed apply left behind is worth those calls.
    async fn list(eks: &Client) -> KindResult<Option<Vec<Cluster>>> {
        let names: Vec<String> = eks
            .list_clusters()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("eks:ListClusters", e))?;
        // A cluster deleted since the listing is simply not listed.
        Ok(Some(describe_all(eks, &names).await?))
    }
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
    Some(Live::observed(
        cluster.name()?.to_string(),
        outputs,
        observed_attrs(cluster),
    ))
}

/// The blueprint attributes DescribeCluster reports (subnets and security groups compare as
/// sets). Left out: `public_access_cidrs` while the public endpoint is off (they are then
/// never sent, and AWS reports its own).
fn observed_attrs(cluster: &Cluster) -> Attrs {
    let vpc = cluster.resources_vpc_config();
    let public = vpc.map(|v| v.endpoint_public_access());
    let mut attrs = observed([
        ("name", string_or_null(cluster.name())),
        ("version", string_or_null(cluster.version())),
        ("role_arn", string_or_null(cluster.role_arn())),
        (
            "subnet_ids",
            Value::from(vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default()),
        ),
        (
            "security_group_ids",
            Value::from(
                vpc.map(|v| v.security_group_ids().to_vec())
                    .unwrap_or_default(),
            ),
        ),
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
    ]);
    if let (Some(true), Some(vpc)) = (public, vpc) {
        attrs.insert(
            "public_access_cidrs".into(),
            Value::from(vpc.public_access_cidrs().to_vec()),
        );
    }
    attrs
}

/// DeleteCluster's answer while an update of the cluster is still running.
fn update_in_progress(err: &KindError) -> bool {
    err.code.as_deref() == Some("ResourceInUseException") && err.message.contains("in progress")
}

#[cfg(test)]
mod tests;
