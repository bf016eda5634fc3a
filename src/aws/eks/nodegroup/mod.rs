//! `eks.nodegroup`: a managed node group of a cluster. Scaling, labels, taints and the update
//! policy change in place with one UpdateNodegroupConfig; the Kubernetes version with
//! UpdateNodegroupVersion; each update is waited for by its id. Creating and deleting one
//! takes minutes on AWS; both are waited for.

mod update;

use super::{
    compound_id, not_found_as_such, one_of, ready_for_update, retry_iam_propagation, split_id,
    tags, wait_for_update, wait_on, waiting, EksItem, UpdateOf, IAM_PROPAGATION, NAME_TAKEN,
    NOT_FOUND,
};
use crate::aws::common::{ignore_gone, missing, observed, outputs, string_or_null};
use crate::aws::{aws_call, sdk_error, AwsContext, Cx};
use crate::kinds::{
    AttrType, Attrs, AwsKind, Change, KindError, KindResult, Live, Schema, Tags, Tier, Waiter,
};
use async_trait::async_trait;
use aws_sdk_eks::types::{AmiTypes, CapacityTypes, Nodegroup, NodegroupStatus};
use aws_sdk_eks::Client;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use update::{
    scaling_from_sdk, scaling_to_sdk, taint_from_sdk, to_sdk, update_config_from_sdk,
    update_config_to_sdk, ConfigChange,
};

/// The most nodes the API's integers can say; AWS's quotas cap node groups far lower.
const MAX_NODES: i64 = i32::MAX as i64;

crate::spec! {
    #[derive(Copy, PartialEq)]
    pub(super) struct Scaling {
        min_size: i32 = required(AttrType::Int).range(0, MAX_NODES),
        max_size: i32 = required(AttrType::Int).range(1, MAX_NODES),
        desired_size: i32 = required(AttrType::Int).range(0, MAX_NODES),
    }
}

crate::spec! {
    #[derive(PartialEq)]
    pub(super) struct TaintSpec {
        key: String = required(AttrType::String),
        value: Option<String> = optional(AttrType::String),
        effect: String = required(AttrType::String)
            .one_of(&["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"]),
    }
}

crate::spec! {
    /// How many nodes an update may take down at once: a count or a percentage.
    #[derive(Copy, PartialEq)]
    pub(super) struct UpdateConfig {
        max_unavailable: Option<i32> = optional(AttrType::Int).range(1, 100),
        max_unavailable_percentage: Option<i32> = optional(AttrType::Int).range(1, 100),
    }
}

/// Where the nodes' capacity comes from, as AWS spells it.
const CAPACITY_TYPES: &[&str] = &["ON_DEMAND", "SPOT", "CAPACITY_BLOCK"];

/// The AMI families of managed node groups, as AWS spells them.
const AMI_TYPES: &[&str] = &[
    "AL2_x86_64",
    "AL2_x86_64_GPU",
    "AL2_ARM_64",
    "CUSTOM",
    "BOTTLEROCKET_ARM_64",
    "BOTTLEROCKET_x86_64",
    "BOTTLEROCKET_ARM_64_NVIDIA",
    "BOTTLEROCKET_x86_64_NVIDIA",
    "WINDOWS_CORE_2019_x86_64",
    "WINDOWS_FULL_2019_x86_64",
    "WINDOWS_CORE_2022_x86_64",
    "WINDOWS_FULL_2022_x86_64",
    "AL2023_x86_64_STANDARD",
    "AL2023_ARM_64_STANDARD",
    "AL2023_x86_64_NEURON",
    "AL2023_x86_64_NVIDIA",
    "AL2023_ARM_64_NVIDIA",
];

crate::spec! {
    pub(super) struct Spec with tags {
        cluster_name: String = required(AttrType::String).force_new(),
        name: String = required(AttrType::String).force_new(),
        node_role_arn: String = required(AttrType::String).force_new(),
        subnet_ids: Vec<String> = required(AttrType::List(&AttrType::String))
            .unordered()
            .force_new(),
        instance_types: Vec<String> = optional(AttrType::List(&AttrType::String))
            .default(r#"["t3.medium"]"#)
            .force_new(),
        capacity_type: String = optional(AttrType::String)
            .default("\"ON_DEMAND\"")
            .force_new()
            .one_of(CAPACITY_TYPES),
        ami_type: String = optional(AttrType::String)
            .default("\"AL2023_x86_64_STANDARD\"")
            .force_new()
            .one_of(AMI_TYPES),
        /// GiB of the nodes' root volume (an EBS volume holds up to 16 TiB).
        disk_size: i32 = optional(AttrType::Int)
            .default("20")
            .force_new()
            .range(1, 16384),
        scaling: Scaling = required(AttrType::Object(Scaling::ATTRS)),
        labels: BTreeMap<String, String> = optional(AttrType::StringMap).default("{}"),
        taints: Vec<TaintSpec> = optional(AttrType::List(&AttrType::Object(TaintSpec::ATTRS)))
            .default("[]"),
        /// AWS's own default, which it reports when a node group was created without one.
        update_config: UpdateConfig = optional(AttrType::Object(UpdateConfig::ATTRS))
            .default(r#"{"max_unavailable": 1}"#),
        version: Option<String> = optional(AttrType::String),
    }
}

const SCHEMA: Schema = Schema::new("eks.nodegroup", Tier::Compute, Spec::ATTRS)
    .outputs(&["arn"])
    .priced(crate::cost::models::nodegroup);

const DESCRIBE: &str = "eks:DescribeNodegroup";

/// Default bounds of the waits; the blueprint's `timeouts` override them.
const CREATE_WAIT: Duration = Duration::from_secs(30 * 60);
const UPDATE_WAIT: Duration = Duration::from_secs(60 * 60);
const DELETE_WAIT: Duration = Duration::from_secs(30 * 60);

/// A new node group until ACTIVE. CREATE_FAILED ends it with the node group's health issues
/// (AWS's reason: no capacity, instances that cannot join ...), and so do DEGRADED and
/// DELETE_FAILED, from which it would never become ACTIVE by itself.
const ACTIVE: Waiter = Waiter::until(
    DESCRIBE,
    &["ACTIVE"],
    &["CREATE_FAILED", "DEGRADED", "DELETE_FAILED"],
    waiting(CREATE_WAIT),
);

/// One adopted mid-create (or changed elsewhere) is CREATING / UPDATING, and AWS refuses
/// changes until it is ACTIVE.
const READY_FOR_UPDATE: Waiter = ACTIVE.with_backoff(waiting(UPDATE_WAIT));

const DELETED: Waiter = ACTIVE.gone(&["DELETE_FAILED"], waiting(DELETE_WAIT));

/// What AWS uses when a node group has no update policy of its own.
const AWS_DEFAULT_UPDATE_CONFIG: UpdateConfig = UpdateConfig {
    max_unavailable: Some(1),
    max_unavailable_percentage: None,
};

impl Spec {
    /// What AWS would reject only after minutes, caught before any change.
    fn check(&self) -> KindResult<()> {
        let kind = SCHEMA.name;
        one_of(kind, Spec::ATTRS, "capacity_type", &self.capacity_type)?;
        for taint in &self.taints {
            one_of(kind, TaintSpec::ATTRS, "taints.effect", &taint.effect)?;
        }
        let Scaling {
            min_size,
            max_size,
            desired_size,
        } = self.scaling;
        if !(0..=desired_size).contains(&min_size) || desired_size > max_size || max_size < 1 {
            let message = "scaling needs 0 <= min_size <= desired_size <= max_size, max_size >= 1";
            return Err(KindError::local(kind, message));
        }
        let policy = self.update_config;
        if policy.max_unavailable.is_some() == policy.max_unavailable_percentage.is_some() {
            let message =
                "update_config needs exactly one of max_unavailable, max_unavailable_percentage";
            return Err(KindError::local(kind, message));
        }
        Ok(())
    }
}

pub(super) struct NodegroupKind;

#[async_trait]
impl AwsKind for NodegroupKind {
    type Spec = Spec;
    type Item = Nodegroup;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        spec.check()?;
        create_nodegroup(cx.aws.eks().await, spec, tags).await?;
        let id = compound_id(&spec.cluster_name, &spec.name);
        wait_on::<Nodegroup>(cx, cx.aws.eks().await, &ACTIVE, &id).await?;
        Ok(id)
    }

    // Not listable: listing by tag would take a ListNodegroups per cluster and a
    // DescribeNodegroup per node group (only Describe reports tags), a call per resource.

    fn live(&self, _: &AwsContext, nodegroup: &Nodegroup) -> Option<Live> {
        to_live(nodegroup)
    }

    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        let spec = change.desired;
        spec.check()?;
        let eks = cx.aws.eks().await;
        let current =
            ready_for_update(cx, eks, &READY_FOR_UPDATE, change.current, change.id()).await?;
        let current = current.as_ref();
        // Compared with what AWS reports, not with state: drift gets corrected too.
        let (cluster, name) = (spec.cluster_name.as_str(), spec.name.as_str());
        let of = UpdateOf::Nodegroup(name);
        let config = ConfigChange::between(current, spec);
        if !config.is_empty() {
            let started = config.send(eks, cluster, name).await?;
            wait_for_update(cx, eks, cluster, &started, of, UPDATE_WAIT).await?;
        }
        if let Some(version) = update::version_change(current, spec) {
            let started = update::update_version(eks, cluster, name, version).await?;
            wait_for_update(cx, eks, cluster, &started, of, UPDATE_WAIT).await?;
        }
        Ok(())
    }

    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let eks = cx.aws.eks().await;
        let (cluster, name) = split_id(SCHEMA.name, &live.id)?;
        let request = eks.delete_nodegroup().cluster_name(cluster);
        let deleted = request.nodegroup_name(name).send().await;
        let deleted = deleted
            .map(drop)
            .map_err(|e| not_found_as_such(sdk_error("eks:DeleteNodegroup", e)));
        ignore_gone(deleted, &[NOT_FOUND])?;
        wait_on::<Nodegroup>(cx, cx.aws.eks().await, &DELETED, &live.id)
            .await
            .map(drop)
    }

    fn natural_id(&self, spec: &Spec) -> Option<String> {
        Some(compound_id(&spec.cluster_name, &spec.name))
    }

    fn conflict_codes(&self) -> &'static [&'static str] {
        NAME_TAKEN
    }
}

/// Creates the node group under a fresh client token, so a retried call never makes a second
/// one; a node role created moments ago may not be usable by EKS yet.
async fn create_nodegroup(eks: &Client, spec: &Spec, tags: &Tags) -> KindResult<()> {
    let token = uuid::Uuid::new_v4().to_string();
    let labels = (!spec.labels.is_empty()).then(|| spec.labels.clone().into_iter().collect());
    let taints = (!spec.taints.is_empty()).then(|| spec.taints.iter().map(to_sdk).collect());
    retry_iam_propagation(IAM_PROPAGATION, || async {
        let request = eks
            .create_nodegroup()
            .cluster_name(&spec.cluster_name)
            .nodegroup_name(&spec.name)
            .node_role(&spec.node_role_arn)
            .set_subnets(Some(spec.subnet_ids.clone()))
            .set_instance_types(Some(spec.instance_types.clone()))
            .capacity_type(CapacityTypes::from(spec.capacity_type.as_str()))
            .ami_type(AmiTypes::from(spec.ami_type.as_str()))
            .disk_size(spec.disk_size)
            .scaling_config(scaling_to_sdk(spec.scaling))
            .set_labels(labels.clone())
            .set_taints(taints.clone())
            .update_config(update_config_to_sdk(spec.update_config))
            .set_version(spec.version.clone())
            .client_request_token(&token)
            .set_tags(tags::for_create(tags));
        aws_call("eks:CreateNodegroup", request.send()).await
    })
    .await?;
    Ok(())
}

#[async_trait]
impl EksItem for Nodegroup {
    const DESCRIBE: &'static str = DESCRIBE;

    async fn describe(eks: &Client, id: &str) -> KindResult<Nodegroup> {
        let (cluster, name) = split_id(SCHEMA.name, id)?;
        let request = eks.describe_nodegroup().cluster_name(cluster);
        let described = request.nodegroup_name(name).send().await;
        let described = described.map_err(|e| sdk_error(DESCRIBE, e))?;
        described
            .nodegroup
            .ok_or_else(|| missing(DESCRIBE, "nodegroup"))
    }

    eks_status!(NodegroupStatus, nodegroup_arn);
}

fn to_live(nodegroup: &Nodegroup) -> Option<Live> {
    let id = compound_id(nodegroup.cluster_name()?, nodegroup.nodegroup_name()?);
    Some(Live::observed(
        id,
        outputs([("arn", nodegroup.nodegroup_arn().map(str::to_string))]),
        observed_attrs(nodegroup),
    ))
}

/// The blueprint attributes DescribeNodegroup reports. Left out: `subnet_ids` and
/// `instance_types`, replace-forcing lists that cannot change in place and whose order AWS
/// need not keep (a false difference would plan a new node group).
fn observed_attrs(nodegroup: &Nodegroup) -> Attrs {
    let scaling = nodegroup.scaling_config().map_or(Value::Null, |config| {
        let scaling = scaling_from_sdk(config);
        json!({"min_size": scaling.min_size, "max_size": scaling.max_size,
            "desired_size": scaling.desired_size})
    });
    let labels: BTreeMap<&String, &String> = nodegroup.labels().into_iter().flatten().collect();
    let mut taints: Vec<TaintSpec> = nodegroup.taints().iter().map(taint_from_sdk).collect();
    // Kubernetes identifies a taint by key and effect; AWS keeps no order.
    taints.sort_by(|a, b| (&a.key, &a.effect).cmp(&(&b.key, &b.effect)));
    let taints = taints.into_iter().map(|taint| {
        let mut observed = Map::new();
        observed.insert("key".into(), taint.key.into());
        if let Some(value) = taint.value {
            observed.insert("value".into(), value.into());
        }
        observed.insert("effect".into(), taint.effect.into());
        Value::Object(observed)
    });
    let policy = nodegroup
        .update_config()
        .map_or(AWS_DEFAULT_UPDATE_CONFIG, update_config_from_sdk);
    let mut update_config = Map::new();
    if let Some(count) = policy.max_unavailable {
        update_config.insert("max_unavailable".into(), count.into());
    }
    if let Some(percentage) = policy.max_unavailable_percentage {
        update_config.insert("max_unavailable_percentage".into(), percentage.into());
    }
    observed([
        ("cluster_name", string_or_null(nodegroup.cluster_name())),
        ("name", string_or_null(nodegroup.nodegroup_name())),
        ("node_role_arn", string_or_null(nodegroup.node_role())),
        (
            "capacity_type",
            string_or_null(nodegroup.capacity_type().map(CapacityTypes::as_str)),
        ),
        (
            "ami_type",
            string_or_null(nodegroup.ami_type().map(AmiTypes::as_str)),
        ),
        (
            "disk_size",
            nodegroup.disk_size().map_or(Value::Null, Value::from),
        ),
        ("scaling", scaling),
        ("labels", json!(labels)),
        ("taints", Value::Array(taints.collect())),
        ("update_config", Value::Object(update_config)),
        ("version", string_or_null(nodegroup.version())),
    ])
}

#[cfg(test)]
mod tests;
