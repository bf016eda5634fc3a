//! `eks.nodegroup`: a managed node group of a cluster. Scaling, labels, taints and the update
//! policy change in place with one UpdateNodegroupConfig; the Kubernetes version with
//! UpdateNodegroupVersion. Creating, updating and deleting one takes minutes on AWS; each is
//! waited for.

use super::{
    compound_id, describe_issues, found, one_of, read_each, retry_iam_propagation, split_id, tags,
    wait_backoff, IAM_PROPAGATION, NOT_FOUND,
};
use crate::aws::common::{
    ignore_gone, missing, observed, outputs, parse_spec, string_or_null, user_tags, TAGS,
};
use crate::aws::wait::{self, Status};
use crate::aws::{sdk_error, AwsContext};
use crate::kinds::{
    identity_tags, Attr, AttrType, Attrs, KindError, KindResult, Live, Price, ResourceKind, Schema,
    StepCx, Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_eks::types::{
    AmiTypes, CapacityTypes, Nodegroup, NodegroupScalingConfig, NodegroupStatus,
    NodegroupUpdateConfig, Taint, TaintEffect, UpdateLabelsPayload, UpdateTaintsPayload,
};
use aws_sdk_eks::Client;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

const SCALING: &[Attr] = &[
    Attr::required("min_size", AttrType::Int),
    Attr::required("max_size", AttrType::Int),
    Attr::required("desired_size", AttrType::Int),
];

const TAINT: &[Attr] = &[
    Attr::required("key", AttrType::String),
    Attr::optional("value", AttrType::String),
    Attr::required("effect", AttrType::String),
];

const UPDATE_CONFIG: &[Attr] = &[
    Attr::optional("max_unavailable", AttrType::Int),
    Attr::optional("max_unavailable_percentage", AttrType::Int),
];

static SCHEMA: Schema = Schema {
    name: "eks.nodegroup",
    attrs: &[
        Attr::required("cluster_name", AttrType::String).force_new(),
        Attr::required("name", AttrType::String).force_new(),
        Attr::required("node_role_arn", AttrType::String).force_new(),
        Attr::required("subnet_ids", AttrType::List(&AttrType::String))
            .unordered()
            .force_new(),
        Attr::optional("instance_types", AttrType::List(&AttrType::String))
            .default(r#"["t3.medium"]"#)
            .force_new(),
        Attr::optional("capacity_type", AttrType::String)
            .default("\"ON_DEMAND\"")
            .force_new(),
        Attr::optional("ami_type", AttrType::String)
            .default("\"AL2023_x86_64_STANDARD\"")
            .force_new(),
        Attr::optional("disk_size", AttrType::Int)
            .default("20")
            .force_new(),
        Attr::required("scaling", AttrType::Object(SCALING)),
        Attr::optional("labels", AttrType::StringMap).default("{}"),
        Attr::optional("taints", AttrType::List(&AttrType::Object(TAINT))).default("[]"),
        // AWS's own default, which it reports when a node group was created without one.
        Attr::optional("update_config", AttrType::Object(UPDATE_CONFIG))
            .default(r#"{"max_unavailable": 1}"#),
        Attr::optional("version", AttrType::String),
        TAGS,
    ],
    outputs: &["arn"],
    taggable: true,
    tier: Tier::Compute,
    price: Price::Model(crate::cost::models::nodegroup),
};

/// Default bounds of the waits; the blueprint's `timeouts` override them.
const CREATE_WAIT: Duration = Duration::from_secs(30 * 60);
const UPDATE_WAIT: Duration = Duration::from_secs(60 * 60);
const DELETE_WAIT: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    cluster_name: String,
    name: String,
    node_role_arn: String,
    subnet_ids: Vec<String>,
    instance_types: Vec<String>,
    capacity_type: String,
    ami_type: String,
    disk_size: i32,
    scaling: Scaling,
    labels: BTreeMap<String, String>,
    taints: Vec<TaintSpec>,
    update_config: UpdateConfig,
    version: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scaling {
    min_size: i32,
    max_size: i32,
    desired_size: i32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaintSpec {
    key: String,
    value: Option<String>,
    effect: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateConfig {
    max_unavailable: Option<i32>,
    max_unavailable_percentage: Option<i32>,
}

/// What AWS uses when a node group has no update policy of its own.
const AWS_DEFAULT_UPDATE_CONFIG: UpdateConfig = UpdateConfig {
    max_unavailable: Some(1),
    max_unavailable_percentage: None,
};

impl Spec {
    /// The spec, with what AWS would reject only after minutes caught before any call.
    fn parse(desired: &Attrs) -> KindResult<Spec> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        let kind = SCHEMA.name;
        one_of(
            kind,
            "capacity_type",
            &spec.capacity_type,
            CapacityTypes::values(),
        )?;
        for taint in &spec.taints {
            one_of(kind, "taints.effect", &taint.effect, TaintEffect::values())?;
        }
        let Scaling {
            min_size,
            max_size,
            desired_size,
        } = spec.scaling;
        if !(0..=desired_size).contains(&min_size) || desired_size > max_size || max_size < 1 {
            let message = "scaling needs 0 <= min_size <= desired_size <= max_size, max_size >= 1";
            return Err(KindError::local(kind, message));
        }
        let policy = spec.update_config;
        if policy.max_unavailable.is_some() == policy.max_unavailable_percentage.is_some() {
            let message =
                "update_config needs exactly one of max_unavailable, max_unavailable_percentage";
            return Err(KindError::local(kind, message));
        }
        Ok(spec)
    }
}

pub(super) struct NodegroupKind(pub(super) Arc<AwsContext>);

#[async_trait]
impl ResourceKind for NodegroupKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live> {
        let spec = Spec::parse(desired)?;
        let eks = self.0.eks().await;
        create_nodegroup(eks, &spec, tags).await?;
        let (cluster, name) = (spec.cluster_name.as_str(), spec.name.as_str());
        let created = wait_active(cx, eks, cluster, name, "eks:CreateNodegroup", CREATE_WAIT);
        to_live(&created.await?)
    }

    fn natural_id(&self, desired: &Attrs) -> Option<String> {
        super::natural_compound_id(desired)
    }

    fn conflict_codes(&self) -> &'static [&'static str] {
        &["ResourceInUseException"]
    }

    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        let eks = self.0.eks().await;
        read_each(ids, |id| async move {
            let (cluster, name) = split_id(SCHEMA.name, &id)?;
            match found(describe(eks, cluster, name).await)? {
                Some(nodegroup) => to_live(&nodegroup).map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    /// Listing by tag would take a ListNodegroups per cluster and a DescribeNodegroup per
    /// node group (only Describe reports tags): a call per resource.
    async fn list_tagged(&self, _tags: &Tags) -> KindResult<Option<Vec<Live>>> {
        Ok(None)
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
        let (cluster, name) = split_id(SCHEMA.name, &live.id)?;
        // Compare with what AWS reports, not with state: drift gets corrected too.
        let current = describe(eks, cluster, name).await?;
        // One adopted mid-create (or changed elsewhere) is CREATING / UPDATING, and AWS
        // refuses changes until it is ACTIVE.
        let current = match current.status() {
            Some(NodegroupStatus::Active) => current,
            _ => {
                let call = "eks:DescribeNodegroup";
                wait_active(cx, eks, cluster, name, call, UPDATE_WAIT).await?
            }
        };
        let config = ConfigChange::between(&current, &spec);
        if !config.is_empty() {
            config.send(eks, cluster, name).await?;
            wait_active(
                cx,
                eks,
                cluster,
                name,
                "eks:UpdateNodegroupConfig",
                UPDATE_WAIT,
            )
            .await?;
        }
        if let Some(version) = version_change(&current, &spec) {
            update_version(eks, cluster, name, version).await?;
            wait_active(
                cx,
                eks,
                cluster,
                name,
                "eks:UpdateNodegroupVersion",
                UPDATE_WAIT,
            )
            .await?;
        }
        let arn = current.nodegroup_arn();
        let arn = arn.ok_or_else(|| missing("eks:DescribeNodegroup", "nodegroupArn"))?;
        tags::sync(eks, arn, &tags::to_map(current.tags()), tags).await?;
        to_live(&describe(eks, cluster, name).await?)
    }

    async fn delete(&self, cx: &StepCx, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let eks = self.0.eks().await;
        let (cluster, name) = split_id(SCHEMA.name, &live.id)?;
        let deleted = eks
            .delete_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await;
        let deleted = deleted
            .map(drop)
            .map_err(|e| sdk_error("eks:DeleteNodegroup", e));
        ignore_gone(deleted, &[NOT_FOUND])?;
        wait_gone(cx, eks, cluster, name).await
    }
}

/// Creates the node group under a fresh client token, so a retried call never makes a second
/// one; a node role created moments ago may not be usable by EKS yet.
async fn create_nodegroup(eks: &Client, spec: &Spec, tags: &Tags) -> KindResult<()> {
    let token = uuid::Uuid::new_v4().to_string();
    let labels = (!spec.labels.is_empty()).then(|| spec.labels.clone().into_iter().collect());
    let taints = (!spec.taints.is_empty()).then(|| spec.taints.iter().map(to_sdk).collect());
    retry_iam_propagation(IAM_PROPAGATION, || async {
        eks.create_nodegroup()
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
            .set_tags(tags::for_create(tags))
            .send()
            .await
            .map_err(|e| sdk_error("eks:CreateNodegroup", e))
    })
    .await?;
    Ok(())
}

/// Everything one UpdateNodegroupConfig changes; `None` / empty where nothing differs.
#[derive(Debug, Default, PartialEq)]
struct ConfigChange {
    scaling: Option<Scaling>,
    add_labels: BTreeMap<String, String>,
    remove_labels: Vec<String>,
    add_taints: Vec<TaintSpec>,
    remove_taints: Vec<TaintSpec>,
    update_config: Option<UpdateConfig>,
}

impl ConfigChange {
    fn between(current: &Nodegroup, spec: &Spec) -> ConfigChange {
        let now_scaling = current.scaling_config().map(scaling_from_sdk);
        let now_labels: BTreeMap<String, String> = current
            .labels()
            .map(|l| l.clone().into_iter().collect())
            .unwrap_or_default();
        let now_taints: Vec<TaintSpec> = current.taints().iter().map(taint_from_sdk).collect();
        let (add_labels, remove_labels) = label_changes(&now_labels, &spec.labels);
        let (add_taints, remove_taints) = taint_changes(&now_taints, &spec.taints);
        // A node group without an update policy has AWS's default one.
        let now_policy = current
            .update_config()
            .map_or(AWS_DEFAULT_UPDATE_CONFIG, update_config_from_sdk);
        ConfigChange {
            scaling: (now_scaling != Some(spec.scaling)).then_some(spec.scaling),
            add_labels,
            remove_labels,
            add_taints,
            remove_taints,
            update_config: (now_policy != spec.update_config).then_some(spec.update_config),
        }
    }

    fn is_empty(&self) -> bool {
        *self == ConfigChange::default()
    }

    fn labels(&self) -> Option<UpdateLabelsPayload> {
        if self.add_labels.is_empty() && self.remove_labels.is_empty() {
            return None;
        }
        let add =
            (!self.add_labels.is_empty()).then(|| self.add_labels.clone().into_iter().collect());
        let remove = (!self.remove_labels.is_empty()).then(|| self.remove_labels.clone());
        let payload = UpdateLabelsPayload::builder()
            .set_add_or_update_labels(add)
            .set_remove_labels(remove);
        Some(payload.build())
    }

    fn taints(&self) -> Option<UpdateTaintsPayload> {
        if self.add_taints.is_empty() && self.remove_taints.is_empty() {
            return None;
        }
        let list = |taints: &[TaintSpec]| {
            (!taints.is_empty()).then(|| taints.iter().map(to_sdk).collect())
        };
        let payload = UpdateTaintsPayload::builder()
            .set_add_or_update_taints(list(&self.add_taints))
            .set_remove_taints(list(&self.remove_taints));
        Some(payload.build())
    }

    async fn send(&self, eks: &Client, cluster: &str, name: &str) -> KindResult<()> {
        eks.update_nodegroup_config()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .set_scaling_config(self.scaling.map(scaling_to_sdk))
            .set_labels(self.labels())
            .set_taints(self.taints())
            .set_update_config(self.update_config.map(update_config_to_sdk))
            .client_request_token(uuid::Uuid::new_v4().to_string())
            .send()
            .await
            .map_err(|e| sdk_error("eks:UpdateNodegroupConfig", e))?;
        Ok(())
    }
}

/// Labels to add or change, and keys to remove.
fn label_changes(
    current: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let add = desired
        .iter()
        .filter(|(key, value)| current.get(*key) != Some(value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let remove = current
        .keys()
        .filter(|key| !desired.contains_key(*key))
        .cloned()
        .collect();
    (add, remove)
}

/// Taints to add or change, and taints to remove. Kubernetes identifies a taint by key and
/// effect, so a new value for the same pair is an update, not a removal.
fn taint_changes(current: &[TaintSpec], desired: &[TaintSpec]) -> (Vec<TaintSpec>, Vec<TaintSpec>) {
    let add = desired
        .iter()
        .filter(|taint| !current.contains(taint))
        .cloned()
        .collect();
    let wanted: HashSet<(&str, &str)> = desired
        .iter()
        .map(|t| (t.key.as_str(), t.effect.as_str()))
        .collect();
    let remove = current
        .iter()
        .filter(|t| !wanted.contains(&(t.key.as_str(), t.effect.as_str())))
        .cloned()
        .collect();
    (add, remove)
}

fn version_change<'a>(current: &Nodegroup, spec: &'a Spec) -> Option<&'a str> {
    let wanted = spec.version.as_deref()?;
    (current.version() != Some(wanted)).then_some(wanted)
}

async fn update_version(eks: &Client, cluster: &str, name: &str, version: &str) -> KindResult<()> {
    eks.update_nodegroup_version()
        .cluster_name(cluster)
        .nodegroup_name(name)
        .version(version)
        .client_request_token(uuid::Uuid::new_v4().to_string())
        .send()
        .await
        .map_err(|e| sdk_error("eks:UpdateNodegroupVersion", e))?;
    Ok(())
}

fn scaling_to_sdk(scaling: Scaling) -> NodegroupScalingConfig {
    NodegroupScalingConfig::builder()
        .min_size(scaling.min_size)
        .max_size(scaling.max_size)
        .desired_size(scaling.desired_size)
        .build()
}

fn scaling_from_sdk(scaling: &NodegroupScalingConfig) -> Scaling {
    Scaling {
        min_size: scaling.min_size().unwrap_or_default(),
        max_size: scaling.max_size().unwrap_or_default(),
        desired_size: scaling.desired_size().unwrap_or_default(),
    }
}

fn update_config_to_sdk(policy: UpdateConfig) -> NodegroupUpdateConfig {
    NodegroupUpdateConfig::builder()
        .set_max_unavailable(policy.max_unavailable)
        .set_max_unavailable_percentage(policy.max_unavailable_percentage)
        .build()
}

fn update_config_from_sdk(policy: &NodegroupUpdateConfig) -> UpdateConfig {
    UpdateConfig {
        max_unavailable: policy.max_unavailable(),
        max_unavailable_percentage: policy.max_unavailable_percentage(),
    }
}

fn to_sdk(taint: &TaintSpec) -> Taint {
    Taint::builder()
        .key(&taint.key)
        .set_value(taint.value.clone())
        .effect(TaintEffect::from(taint.effect.as_str()))
        .build()
}

fn taint_from_sdk(taint: &Taint) -> TaintSpec {
    TaintSpec {
        key: taint.key().unwrap_or_default().to_string(),
        value: taint.value().map(str::to_string),
        effect: taint.effect().map_or("", TaintEffect::as_str).to_string(),
    }
}

async fn describe(eks: &Client, cluster: &str, name: &str) -> KindResult<Nodegroup> {
    let described = eks
        .describe_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(name)
        .send()
        .await;
    let described = described.map_err(|e| sdk_error("eks:DescribeNodegroup", e))?;
    described
        .nodegroup
        .ok_or_else(|| missing("eks:DescribeNodegroup", "nodegroup"))
}

/// Waits until the node group is ACTIVE after `operation`; a failed or degraded node group
/// ends the wait with AWS's health issues.
async fn wait_active(
    cx: &StepCx,
    eks: &Client,
    cluster: &str,
    name: &str,
    operation: &str,
    default: Duration,
) -> KindResult<Nodegroup> {
    let backoff = wait_backoff(cx, default);
    wait::until(cx, "eks:DescribeNodegroup", "ACTIVE", backoff, || async {
        // Just created, AWS may not list it for a moment.
        let Some(nodegroup) = found(describe(eks, cluster, name).await)? else {
            return Ok(Status::Pending("not visible yet".to_string()));
        };
        match nodegroup.status() {
            Some(NodegroupStatus::Active) => Ok(Status::Ready(nodegroup)),
            Some(
                status @ (NodegroupStatus::CreateFailed
                | NodegroupStatus::Degraded
                | NodegroupStatus::DeleteFailed),
            ) => Err(failed(&nodegroup, status, operation)),
            Some(status) => Ok(Status::Pending(status.as_str().to_string())),
            None => Ok(Status::Pending("in no status yet".to_string())),
        }
    })
    .await
}

async fn wait_gone(cx: &StepCx, eks: &Client, cluster: &str, name: &str) -> KindResult<()> {
    let backoff = wait_backoff(cx, DELETE_WAIT);
    wait::until(cx, "eks:DescribeNodegroup", "deleted", backoff, || async {
        let Some(nodegroup) = found(describe(eks, cluster, name).await)? else {
            return Ok(Status::Ready(()));
        };
        match nodegroup.status() {
            Some(status @ NodegroupStatus::DeleteFailed) => {
                Err(failed(&nodegroup, status, "eks:DeleteNodegroup"))
            }
            status => Ok(Status::Pending(
                status
                    .map_or("in no status", NodegroupStatus::as_str)
                    .to_string(),
            )),
        }
    })
    .await
}

fn failed(nodegroup: &Nodegroup, status: &NodegroupStatus, operation: &str) -> KindError {
    let issues = nodegroup.health().map(|h| h.issues()).unwrap_or(&[]);
    let issues = issues
        .iter()
        .map(|issue| (issue.code().map(|c| c.as_str()), issue.message()));
    let name = nodegroup.nodegroup_name().unwrap_or("the node group");
    let message = format!("{name} {}", describe_issues(status.as_str(), issues));
    KindError::local(operation, message)
}

fn to_live(nodegroup: &Nodegroup) -> KindResult<Live> {
    let call = "eks:DescribeNodegroup";
    let cluster = nodegroup
        .cluster_name()
        .ok_or_else(|| missing(call, "clusterName"))?;
    let name = nodegroup
        .nodegroup_name()
        .ok_or_else(|| missing(call, "nodegroupName"))?;
    Ok(Live {
        attrs: Some(observed_attrs(nodegroup)),
        id: compound_id(cluster, name),
        outputs: outputs([("arn", nodegroup.nodegroup_arn().map(str::to_string))]),
        identity: identity_tags(&tags::to_map(nodegroup.tags())),
    })
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
        ("tags", user_tags(&tags::to_map(nodegroup.tags()))),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_eks::types::{Issue, NodegroupHealth, NodegroupIssueCode};
    use serde_json::json;

    #[test]
    fn spec_fits_schema() {
        crate::aws::common::testing::assert_spec_fits_schema::<Spec>(&SCHEMA);
    }

    fn attrs(extra: serde_json::Value) -> Attrs {
        let mut attrs = json!({
            "cluster_name": "prod", "name": "workers", "node_role_arn": "arn:aws:iam::1:role/n",
            "subnet_ids": ["subnet-1"],
            "scaling": {"min_size": 2, "max_size": 20, "desired_size": 3}
        });
        let map = attrs.as_object_mut().unwrap();
        map.extend(extra.as_object().unwrap().clone());
        map.clone()
    }

    fn spec(extra: serde_json::Value) -> Spec {
        Spec::parse(&attrs(extra)).unwrap()
    }

    fn taint(key: &str, value: Option<&str>, effect: &str) -> TaintSpec {
        TaintSpec {
            key: key.into(),
            value: value.map(Into::into),
            effect: effect.into(),
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A node group as AWS describes one created from `spec`, but without an update policy
    /// (the emulator omits it; AWS then means its default).
    fn described(spec: &Spec) -> Nodegroup {
        Nodegroup::builder()
            .cluster_name(&spec.cluster_name)
            .nodegroup_name(&spec.name)
            .scaling_config(scaling_to_sdk(spec.scaling))
            .set_labels(Some(spec.labels.clone().into_iter().collect()))
            .set_taints(Some(spec.taints.iter().map(to_sdk).collect()))
            .version("1.31")
            .build()
    }

    #[test]
    fn observed_attrs_equal_the_blueprint_with_defaults_whatever_the_taint_order() {
        let blueprint = attrs(json!({
            "instance_types": ["t3.medium"], "capacity_type": "ON_DEMAND",
            "ami_type": "AL2023_x86_64_STANDARD", "disk_size": 20,
            "labels": {"role": "web"},
            "taints": [
                {"key": "dedicated", "value": "web", "effect": "NO_SCHEDULE"},
                {"key": "spot", "effect": "PREFER_NO_SCHEDULE"}
            ],
            "update_config": {"max_unavailable": 1}, "version": "1.31",
            "tags": {"Pool": "web"}
        }));
        let spec = Spec::parse(&blueprint).unwrap();
        let mut nodegroup = described(&spec);
        nodegroup.taints.as_mut().unwrap().reverse();
        nodegroup.node_role = Some(spec.node_role_arn.clone());
        nodegroup.capacity_type = Some(CapacityTypes::OnDemand);
        nodegroup.ami_type = Some(AmiTypes::Al2023X8664Standard);
        nodegroup.disk_size = Some(20);
        nodegroup.tags = Some(
            [
                ("Pool".to_string(), "web".to_string()),
                ("innovate:address".to_string(), "workers".to_string()),
            ]
            .into(),
        );
        let observed = observed_attrs(&nodegroup);
        let mut expected = blueprint.clone();
        // Not observed: replace-forcing lists AWS need not keep in order.
        expected.remove("subnet_ids");
        expected.remove("instance_types");
        assert_eq!(observed, expected);
        // Out-of-band scaling shows.
        nodegroup.scaling_config = Some(scaling_to_sdk(Scaling {
            min_size: 2,
            max_size: 30,
            desired_size: 9,
        }));
        assert_eq!(
            observed_attrs(&nodegroup)["scaling"],
            json!({"min_size": 2, "max_size": 30, "desired_size": 9})
        );
    }

    #[test]
    fn labels_diff_into_add_or_update_and_remove() {
        let current = labels(&[("role", "web"), ("tier", "front"), ("old", "x")]);
        let desired = labels(&[("role", "api"), ("tier", "front"), ("new", "y")]);
        let (add, remove) = label_changes(&current, &desired);
        assert_eq!(add, labels(&[("new", "y"), ("role", "api")]));
        assert_eq!(remove, vec!["old".to_string()]);
    }

    #[test]
    fn taints_are_identified_by_key_and_effect() {
        let current = [
            taint("gpu", Some("true"), "NO_SCHEDULE"),
            taint("spot", None, "PREFER_NO_SCHEDULE"),
            taint("dedicated", Some("db"), "NO_EXECUTE"),
        ];
        let desired = [
            taint("gpu", Some("false"), "NO_SCHEDULE"),
            taint("spot", None, "NO_SCHEDULE"),
            taint("dedicated", Some("db"), "NO_EXECUTE"),
        ];
        let (add, remove) = taint_changes(&current, &desired);
        assert_eq!(
            add,
            vec![
                taint("gpu", Some("false"), "NO_SCHEDULE"),
                taint("spot", None, "NO_SCHEDULE")
            ]
        );
        assert_eq!(remove, vec![taint("spot", None, "PREFER_NO_SCHEDULE")]);
    }

    #[test]
    fn an_unchanged_node_group_needs_no_update_and_absent_policy_is_aws_default() {
        let wanted = spec(json!({"labels": {"a": "b"}, "taints": [
            {"key": "k", "value": "v", "effect": "NO_SCHEDULE"}
        ]}));
        let change = ConfigChange::between(&described(&wanted), &wanted);
        assert!(change.is_empty(), "{change:?}");
        assert_eq!(version_change(&described(&wanted), &wanted), None);
    }

    #[test]
    fn scaling_labels_taints_and_policy_go_in_one_change() {
        let before = spec(json!({"labels": {"a": "b"}}));
        let after = spec(json!({
            "scaling": {"min_size": 1, "max_size": 10, "desired_size": 4},
            "labels": {"c": "d"},
            "taints": [{"key": "k", "effect": "NO_EXECUTE"}],
            "update_config": {"max_unavailable_percentage": 25},
            "version": "1.32"
        }));
        let change = ConfigChange::between(&described(&before), &after);
        assert_eq!(
            change.scaling,
            Some(Scaling {
                min_size: 1,
                max_size: 10,
                desired_size: 4
            })
        );
        assert_eq!(
            change.update_config,
            Some(UpdateConfig {
                max_unavailable: None,
                max_unavailable_percentage: Some(25)
            })
        );
        let labels = change.labels().unwrap();
        assert_eq!(labels.remove_labels(), ["a"]);
        assert_eq!(labels.add_or_update_labels().unwrap()["c"], "d");
        let taints = change.taints().unwrap();
        assert_eq!(taints.add_or_update_taints()[0].key(), Some("k"));
        assert!(taints.remove_taints().is_empty());
        assert_eq!(version_change(&described(&before), &after), Some("1.32"));
    }

    #[test]
    fn scaling_alone_leaves_the_other_payloads_out() {
        let before = spec(json!({}));
        let after = spec(json!({"scaling": {"min_size": 2, "max_size": 20, "desired_size": 5}}));
        let change = ConfigChange::between(&described(&before), &after);
        assert_eq!(change.scaling.map(|s| s.desired_size), Some(5));
        assert!(change.labels().is_none() && change.taints().is_none());
        assert_eq!(change.update_config, None);
    }

    #[test]
    fn invalid_specs_fail_before_any_call() {
        let cases = [
            json!({"capacity_type": "CHEAP"}),
            json!({"taints": [{"key": "k", "effect": "NoSchedule"}]}),
            json!({"scaling": {"min_size": 3, "max_size": 20, "desired_size": 2}}),
            json!({"scaling": {"min_size": 0, "max_size": 0, "desired_size": 0}}),
            json!({"update_config": {"max_unavailable": 1, "max_unavailable_percentage": 10}}),
            json!({"update_config": {}}),
        ];
        for case in cases {
            assert!(Spec::parse(&attrs(case.clone())).is_err(), "{case}");
        }
        let graviton = spec(json!({"capacity_type": "SPOT", "ami_type": "AL2023_ARM_64_STANDARD"}));
        assert_eq!(graviton.instance_types, ["t3.medium"]);
        assert_eq!(graviton.update_config, AWS_DEFAULT_UPDATE_CONFIG);
    }

    #[test]
    fn ids_and_failures_name_the_node_group() {
        let nodegroup = Nodegroup::builder()
            .cluster_name("prod")
            .nodegroup_name("workers")
            .nodegroup_arn("arn:aws:eks:us-east-1:1:nodegroup/prod/workers/u")
            .health(
                NodegroupHealth::builder()
                    .issues(
                        Issue::builder()
                            .code(NodegroupIssueCode::AsgInstanceLaunchFailures)
                            .message("no capacity")
                            .build(),
                    )
                    .build(),
            )
            .build();
        let live = to_live(&nodegroup).unwrap();
        assert_eq!(live.id, "prod:workers");
        assert_eq!(
            live.outputs["arn"],
            "arn:aws:eks:us-east-1:1:nodegroup/prod/workers/u"
        );
        let err = failed(
            &nodegroup,
            &NodegroupStatus::CreateFailed,
            "eks:CreateNodegroup",
        );
        assert!(
            err.message
                .contains("CREATE_FAILED: AsgInstanceLaunchFailures: no capacity"),
            "{}",
            err.message
        );
    }
}
