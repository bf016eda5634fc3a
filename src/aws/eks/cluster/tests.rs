use super::*;
use crate::aws::common::parse_spec;
use aws_sdk_eks::types::{
    Certificate, ClusterHealth, ClusterIssue, ClusterIssueCode, Identity, LogSetup, LogType,
    Logging, Oidc, VpcConfigResponse,
};
use serde_json::json;

fn parse(extra: Value) -> KindResult<Spec> {
    let mut attrs = json!({
        "name": "prod", "role_arn": "arn:aws:iam::1:role/eks", "subnet_ids": ["subnet-1"]
    });
    let map = attrs.as_object_mut().unwrap();
    map.extend(extra.as_object().unwrap().clone());
    let spec: Spec = parse_spec(&SCHEMA, map)?;
    spec.check().map(|()| spec)
}

pub(super) fn spec(extra: Value) -> Spec {
    parse(extra).unwrap()
}

fn log_setup(types: &[&str], on: bool) -> LogSetup {
    LogSetup::builder()
        .set_types(Some(types.iter().map(|t| LogType::from(*t)).collect()))
        .enabled(on)
        .build()
}

/// A cluster as AWS describes one created with the schema's defaults.
pub(super) fn current(version: &str, enabled_logs: &[&str]) -> Cluster {
    let vpc = VpcConfigResponse::builder()
        .endpoint_public_access(true)
        .endpoint_private_access(false)
        .public_access_cidrs("0.0.0.0/0")
        .subnet_ids("subnet-1")
        .build();
    let disabled: Vec<&str> = LOG_TYPES
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

#[test]
fn observed_attrs_of_a_default_cluster_equal_its_blueprint_with_defaults() {
    let mut cluster = current("1.31", &[]);
    cluster.role_arn = Some("arn:aws:iam::1:role/eks".into());
    let blueprint = json!({
        "name": "prod", "version": "1.31", "role_arn": "arn:aws:iam::1:role/eks",
        "subnet_ids": ["subnet-1"], "security_group_ids": [],
        "endpoint_public_access": true, "endpoint_private_access": false,
        "public_access_cidrs": ["0.0.0.0/0"], "enabled_log_types": [],
        "encryption_kms_key_arn": null
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
    let err = parse(json!({"enabled_log_types": ["apis"]})).unwrap_err();
    assert!(err.message.contains("controllerManager"), "{}", err.message);
    assert_eq!(
        SCHEMA.attr("enabled_log_types").unwrap().rule,
        crate::kinds::Rule::OneOf(LOG_TYPES)
    );
}

#[test]
#[allow(deprecated)] // reads back `resources`, see `encryption`
fn create_sends_encryption_and_cidrs_only_when_they_apply() {
    assert!(encryption(None).is_none());
    let config = encryption(Some("arn:aws:kms:us-east-1:1:key/k")).unwrap();
    assert_eq!(config[0].resources(), ["secrets"]);
    let key = config[0].provider().and_then(Provider::key_arn);
    assert_eq!(key, Some("arn:aws:kms:us-east-1:1:key/k"));
    let private = spec(json!({"endpoint_public_access": false, "endpoint_private_access": true}));
    assert!(vpc_config(&private).public_access_cidrs().is_empty());
}

#[test]
fn outputs_include_the_oidc_issuer_and_a_failure_lists_issues() {
    let issue = ClusterIssue::builder()
        .code(ClusterIssueCode::AccessDenied)
        .message("role lacks permission")
        .build();
    let cluster = Cluster::builder()
        .name("prod")
        .arn("arn:aws:eks:us-east-1:1:cluster/prod")
        .status(ClusterStatus::Failed)
        .identity(
            Identity::builder()
                .oidc(Oidc::builder().issuer("https://oidc.eks/id/X").build())
                .build(),
        )
        .certificate_authority(Certificate::builder().data("Q0E=").build())
        .health(ClusterHealth::builder().issues(issue).build())
        .build();
    let live = to_live(&cluster).unwrap();
    assert_eq!(live.id, "prod");
    assert_eq!(live.outputs["oidc_issuer"], "https://oidc.eks/id/X");
    assert_eq!(live.outputs["oidc_provider"], "oidc.eks/id/X");
    assert_eq!(live.outputs["certificate_authority"], "Q0E=");
    assert!(!live.outputs.contains_key("endpoint"));
    let seen = cluster.seen();
    assert_eq!(seen.state, "FAILED");
    assert!(ACTIVE.failed.contains(&seen.state.as_str()));
    assert_eq!(
        seen.reason.as_deref(),
        Some("AccessDenied: role lacks permission")
    );
}

#[test]
fn a_delete_waits_out_an_update_in_progress_only() {
    let err =
        |code: &str, message: &str| KindError::new("eks:DeleteCluster", Some(code.into()), message);
    assert!(update_in_progress(&err(
        "ResourceInUseException",
        "Cannot delete because cluster prod currently has an update in progress"
    )));
    assert!(!update_in_progress(&err(
        "ResourceInUseException",
        "Cluster has nodegroups attached"
    )));
    assert!(!update_in_progress(&err(
        "InvalidParameterException",
        "in progress"
    )));
}
