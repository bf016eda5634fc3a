use super::*;
use crate::aws::common::parse_spec;
use crate::kinds::StepCx;
use aws_sdk_eks::types::{AddonHealth, AddonIssue, AddonIssueCode};
use serde_json::json;

fn parse(extra: serde_json::Value) -> KindResult<Spec> {
    let mut attrs = json!({"cluster_name": "prod", "name": "vpc-cni"});
    let map = attrs.as_object_mut().unwrap();
    map.extend(extra.as_object().unwrap().clone());
    let spec: Spec = parse_spec(&SCHEMA, map)?;
    spec.check().map(|()| spec)
}

fn spec(extra: serde_json::Value) -> Spec {
    parse(extra).unwrap()
}

fn current() -> Addon {
    Addon::builder()
        .cluster_name("prod")
        .addon_name("vpc-cni")
        .addon_version("v1.19.0-eksbuild.1")
        .configuration_values(r#"{"env": {"A": "1"}, "b": 2}"#)
        .build()
}

#[test]
fn nothing_changes_when_aws_matches_the_spec() {
    let wanted = spec(json!({
        "version": "v1.19.0-eksbuild.1",
        "configuration_values": r#"{"b":2,"env":{"A":"1"}}"#
    }));
    assert!(AddonUpdate::between(&current(), &wanted).is_empty());
    // No version in the blueprint: whatever AWS installed stays.
    let unpinned = spec(json!({"configuration_values": r#"{"b":2,"env":{"A":"1"}}"#}));
    assert!(AddonUpdate::between(&current(), &unpinned).is_empty());
}

#[test]
fn changed_fields_are_sent_and_removed_ones_as_empty_strings() {
    let wanted = spec(json!({
        "version": "v1.19.2-eksbuild.1",
        "service_account_role_arn": "arn:aws:iam::1:role/cni"
    }));
    assert_eq!(
        AddonUpdate::between(&current(), &wanted),
        AddonUpdate {
            version: Some("v1.19.2-eksbuild.1".into()),
            service_account_role_arn: Some("arn:aws:iam::1:role/cni".into()),
            configuration_values: Some(String::new()),
        }
    );
    let with_role = Addon::builder()
        .service_account_role_arn("arn:aws:iam::1:role/cni")
        .build();
    let change = AddonUpdate::between(&with_role, &spec(json!({})));
    assert_eq!(change.service_account_role_arn.as_deref(), Some(""));
    assert_eq!(change.configuration_values, None);
}

#[test]
fn configuration_compares_as_json_and_falls_back_to_text() {
    assert!(same_configuration(
        Some(r#"{"a": 1}"#),
        Some(r#"{ "a":1 }"#)
    ));
    assert!(!same_configuration(
        Some(r#"{"a": 1}"#),
        Some(r#"{"a": 2}"#)
    ));
    assert!(same_configuration(Some(""), None));
    assert!(same_configuration(Some("a: 1"), Some("a: 1")));
    assert!(!same_configuration(Some("a: 1"), None));
}

#[test]
fn resolve_conflicts_is_checked() {
    let err = parse(json!({"resolve_conflicts": "FORCE"})).unwrap_err();
    assert!(err.message.contains("OVERWRITE"), "{}", err.message);
    let resolve = spec(json!({})).resolve_conflicts();
    assert_eq!(resolve, ResolveConflicts::Overwrite);
}

fn addon(status: AddonStatus) -> Addon {
    let issue = AddonIssue::builder()
        .code(AddonIssueCode::InsufficientNumberOfReplicas)
        .message("no nodes")
        .build();
    Addon::builder()
        .cluster_name("prod")
        .addon_name("coredns")
        .addon_arn("arn:aws:eks:us-east-1:1:addon/prod/coredns/u")
        .status(status)
        .health(AddonHealth::builder().issues(issue).build())
        .build()
}

#[tokio::test]
async fn a_degraded_add_on_is_still_creating_and_create_failed_reports_its_issues() {
    assert_eq!(
        to_live(&addon(AddonStatus::Active)).unwrap().id,
        "prod:coredns"
    );
    let fast = ACTIVE.with_backoff(crate::aws::Backoff::FAST.within(Duration::from_secs(1)));
    let mut looks = vec![
        addon(AddonStatus::CreateFailed),
        addon(AddonStatus::Degraded),
        addon(AddonStatus::Creating),
    ];
    let look = || {
        let next = looks.pop();
        async move { Ok(next) }
    };
    let err = fast
        .wait(&StepCx::silent("dns"), look, Addon::seen)
        .await
        .unwrap_err();
    assert!(
        looks.is_empty(),
        "CREATING and DEGRADED were waited through"
    );
    assert_eq!(err.call, "eks:DescribeAddon");
    assert_eq!(err.code.as_deref(), Some("CREATE_FAILED"));
    assert_eq!(err.message, "InsufficientNumberOfReplicas: no nodes");
}
