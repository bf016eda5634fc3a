//! What an in-place update of a node group sends: one UpdateNodegroupConfig for scaling,
//! labels, taints and the update policy, one UpdateNodegroupVersion for the Kubernetes
//! version; and the node group's settings as the SDK spells them.

use super::{Scaling, Spec, TaintSpec, UpdateConfig, AWS_DEFAULT_UPDATE_CONFIG};
use crate::aws::aws_call;
use crate::aws::common::missing;
use crate::kinds::KindResult;
use aws_sdk_eks::types::{
    Nodegroup, NodegroupScalingConfig, NodegroupUpdateConfig, Taint, TaintEffect, Update,
    UpdateLabelsPayload, UpdateTaintsPayload,
};
use aws_sdk_eks::Client;
use std::collections::{BTreeMap, HashSet};

/// Everything one UpdateNodegroupConfig changes; `None` / empty where nothing differs.
#[derive(Debug, Default, PartialEq)]
pub(super) struct ConfigChange {
    scaling: Option<Scaling>,
    add_labels: BTreeMap<String, String>,
    remove_labels: Vec<String>,
    add_taints: Vec<TaintSpec>,
    remove_taints: Vec<TaintSpec>,
    update_config: Option<UpdateConfig>,
}

impl ConfigChange {
    pub(super) fn between(current: &Nodegroup, spec: &Spec) -> ConfigChange {
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

    pub(super) fn is_empty(&self) -> bool {
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

    /// Sends the change; AWS's answer is the update it started.
    pub(super) async fn send(&self, eks: &Client, cluster: &str, name: &str) -> KindResult<Update> {
        let call = "eks:UpdateNodegroupConfig";
        let request = eks
            .update_nodegroup_config()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .set_scaling_config(self.scaling.map(scaling_to_sdk))
            .set_labels(self.labels())
            .set_taints(self.taints())
            .set_update_config(self.update_config.map(update_config_to_sdk))
            .client_request_token(uuid::Uuid::new_v4().to_string());
        let sent = aws_call(call, request.send()).await?;
        sent.update.ok_or_else(|| missing(call, "update"))
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

pub(super) fn version_change<'a>(current: &Nodegroup, spec: &'a Spec) -> Option<&'a str> {
    let wanted = spec.version.as_deref()?;
    (current.version() != Some(wanted)).then_some(wanted)
}

/// Upgrades the node group's Kubernetes version; AWS's answer is the update it started.
pub(super) async fn update_version(
    eks: &Client,
    cluster: &str,
    name: &str,
    version: &str,
) -> KindResult<Update> {
    let call = "eks:UpdateNodegroupVersion";
    let request = eks
        .update_nodegroup_version()
        .cluster_name(cluster)
        .nodegroup_name(name)
        .version(version)
        .client_request_token(uuid::Uuid::new_v4().to_string());
    let sent = aws_call(call, request.send()).await?;
    sent.update.ok_or_else(|| missing(call, "update"))
}

pub(super) fn scaling_to_sdk(scaling: Scaling) -> NodegroupScalingConfig {
    NodegroupScalingConfig::builder()
        .min_size(scaling.min_size)
        .max_size(scaling.max_size)
        .desired_size(scaling.desired_size)
        .build()
}

pub(super) fn scaling_from_sdk(scaling: &NodegroupScalingConfig) -> Scaling {
    Scaling {
        min_size: scaling.min_size().unwrap_or_default(),
        max_size: scaling.max_size().unwrap_or_default(),
        desired_size: scaling.desired_size().unwrap_or_default(),
    }
}

pub(super) fn update_config_to_sdk(policy: UpdateConfig) -> NodegroupUpdateConfig {
    NodegroupUpdateConfig::builder()
        .set_max_unavailable(policy.max_unavailable)
        .set_max_unavailable_percentage(policy.max_unavailable_percentage)
        .build()
}

pub(super) fn update_config_from_sdk(policy: &NodegroupUpdateConfig) -> UpdateConfig {
    UpdateConfig {
        max_unavailable: policy.max_unavailable(),
        max_unavailable_percentage: policy.max_unavailable_percentage(),
    }
}

pub(super) fn to_sdk(taint: &TaintSpec) -> Taint {
    Taint::builder()
        .key(&taint.key)
        .set_value(taint.value.clone())
        .effect(TaintEffect::from(taint.effect.as_str()))
        .build()
}

pub(super) fn taint_from_sdk(taint: &Taint) -> TaintSpec {
    TaintSpec {
        key: taint.key().unwrap_or_default().to_string(),
        value: taint.value().map(str::to_string),
        effect: taint.effect().map_or("", TaintEffect::as_str).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{described, labels, spec, taint};
    use super::*;
    use serde_json::json;

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
}
