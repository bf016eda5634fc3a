use super::*;
use crate::aws::common::parse_spec;
use aws_sdk_eks::types::{Issue, NodegroupHealth, NodegroupIssueCode};

fn parse(attrs: &Attrs) -> KindResult<Spec> {
    let spec: Spec = parse_spec(&SCHEMA, attrs)?;
    spec.check().map(|()| spec)
}

fn attrs(extra: Value) -> Attrs {
    let mut attrs = json!({
        "cluster_name": "prod", "name": "workers", "node_role_arn": "arn:aws:iam::1:role/n",
        "subnet_ids": ["subnet-1"],
        "scaling": {"min_size": 2, "max_size": 20, "desired_size": 3}
    });
    let map = attrs.as_object_mut().unwrap();
    map.extend(extra.as_object().unwrap().clone());
    map.clone()
}

pub(super) fn spec(extra: Value) -> Spec {
    parse(&attrs(extra)).unwrap()
}

pub(super) fn taint(key: &str, value: Option<&str>, effect: &str) -> TaintSpec {
    TaintSpec {
        key: key.into(),
        value: value.map(Into::into),
        effect: effect.into(),
    }
}

pub(super) fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A node group as AWS describes one created from `spec`, but without an update policy
/// (the emulator omits it; AWS then means its default).
pub(super) fn described(spec: &Spec) -> Nodegroup {
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
        "update_config": {"max_unavailable": 1}, "version": "1.31"
    }));
    let spec = parse(&blueprint).unwrap();
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
    // Tags are the typed layer's to report, from `tags`.
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
        assert!(parse(&attrs(case.clone())).is_err(), "{case}");
    }
    let ami = SCHEMA.attr("ami_type").unwrap().rule;
    assert_eq!(ami, crate::kinds::Rule::OneOf(AMI_TYPES));
    let graviton = spec(json!({"capacity_type": "SPOT", "ami_type": "AL2023_ARM_64_STANDARD"}));
    assert_eq!(graviton.instance_types, ["t3.medium"]);
    assert_eq!(graviton.update_config, AWS_DEFAULT_UPDATE_CONFIG);
}

#[test]
fn ids_and_failures_name_the_node_group() {
    let mut nodegroup = Nodegroup::builder()
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
    nodegroup.status = Some(NodegroupStatus::CreateFailed);
    let seen = nodegroup.seen();
    assert!(ACTIVE.failed.contains(&seen.state.as_str()), "{seen:?}");
    assert_eq!(
        seen.reason.as_deref(),
        Some("AsgInstanceLaunchFailures: no capacity")
    );
}
