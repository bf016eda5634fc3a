use super::targets::{target_changes, type_status};
use super::*;
use crate::aws::common::parse_spec;
use aws_sdk_organizations::types::{PolicyTypeStatus, Root};
use serde_json::json;

#[test]
fn raw_identifier_fields_name_their_attribute_without_r_hash() {
    // `r#type` in the spec is the attribute `type`.
    assert!(SCHEMA.attr("type").is_some_and(|a| a.force_new));
}

fn guardrails() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "StayInTheOrganization", "Effect": "Deny",
             "Action": ["organizations:LeaveOrganization"], "Resource": "*"},
            {"Sid": "KeepTheTrail", "Effect": "Deny",
             "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail"], "Resource": "*"}
        ]
    })
}

fn parse(attrs: Value) -> KindResult<(Spec, Value)> {
    let spec: Spec = parse_spec(&SCHEMA, attrs.as_object().unwrap())?;
    let document = document_of(&spec)?;
    Ok((spec, document))
}

fn wanted(extra: Value) -> (Spec, Value) {
    let mut attrs = json!({"name": "guardrails", "content": guardrails()});
    attrs
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    parse(attrs).unwrap()
}

fn edit(now: &Current, extra: Value) -> Edit {
    let (spec, document) = wanted(extra);
    Edit::between(now, &spec, &document)
}

fn current(name: &str, description: &str, content: &str) -> Current {
    Current {
        policy: Policy::builder()
            .policy_summary(
                PolicySummary::builder()
                    .id("p-abc12345")
                    .name(name)
                    .description(description)
                    .r#type(PolicyType::ServiceControlPolicy)
                    .build(),
            )
            .content(content)
            .build(),
        targets: vec!["ou-b".into(), "ou-a".into()],
        tags: Tags::new(),
    }
}

#[test]
fn defaults_and_checks() {
    let (spec, _) = wanted(json!({}));
    assert_eq!(spec.description, "Managed by innovate");
    assert_eq!(spec.r#type, "SERVICE_CONTROL_POLICY");
    assert!(spec.target_ids.is_empty());
    let err = parse(json!({"name": "p", "content": guardrails(), "type": "SCP"})).unwrap_err();
    assert!(
        err.message.contains("SERVICE_CONTROL_POLICY"),
        "{}",
        err.message
    );
    assert!(parse(json!({"name": "p", "content": 3})).is_err());
    // JSON text is a document too.
    let text = guardrails().to_string();
    let (_, from_text) = wanted(json!({"content": text}));
    assert_eq!(from_text, guardrails());
}

#[test]
fn a_reformatted_document_is_no_change() {
    // Reordered keys, one-element lists as scalars, actions in another order.
    let aws = r#"{"Statement":[{"Resource":"*","Action":"organizations:LeaveOrganization",
        "Effect":"Deny","Sid":"StayInTheOrganization"},{"Sid":"KeepTheTrail","Effect":"Deny",
        "Action":["cloudtrail:DeleteTrail","cloudtrail:StopLogging"],"Resource":["*"]}],
        "Version":"2012-10-17"}"#;
    let now = current("guardrails", "Managed by innovate", aws);
    assert!(edit(&now, json!({})).is_empty());
}

#[test]
fn only_what_differs_is_sent() {
    let now = current("old", "Managed by innovate", &guardrails().to_string());
    let change = edit(&now, json!({"description": "Guardrails"}));
    assert_eq!(change.name.as_deref(), Some("guardrails"));
    assert_eq!(change.description.as_deref(), Some("Guardrails"));
    assert_eq!(change.content, None);
    let mut allowed = guardrails();
    allowed["Statement"][1]["Effect"] = json!("Allow");
    let change = edit(&now, json!({"name": "old", "content": allowed}));
    assert_eq!(change.name, None);
    let sent: Value = serde_json::from_str(change.content.as_deref().unwrap()).unwrap();
    assert_eq!(sent, allowed);
}

#[test]
fn targets_attach_new_and_detach_dropped() {
    let current = vec!["ou-a".to_string(), "r-1".to_string()];
    let desired = vec!["ou-b".to_string(), "ou-a".to_string(), "ou-b".to_string()];
    let (attach, detach) = target_changes(&current, &desired);
    assert_eq!(attach, vec!["ou-b".to_string()]);
    assert_eq!(detach, vec!["r-1".to_string()]);
    let (attach, detach) = target_changes(&current, &current);
    assert!(attach.is_empty() && detach.is_empty());
}

#[test]
fn policy_type_status_is_read_from_the_root() {
    use aws_sdk_organizations::types::PolicyTypeSummary;
    let root = Root::builder()
        .id("r-1")
        .policy_types(
            PolicyTypeSummary::builder()
                .r#type(PolicyType::TagPolicy)
                .status(PolicyTypeStatus::PendingEnable)
                .build(),
        )
        .build();
    assert_eq!(
        type_status(&root, &PolicyType::TagPolicy),
        Some(&PolicyTypeStatus::PendingEnable)
    );
    assert_eq!(type_status(&root, &PolicyType::ServiceControlPolicy), None);
    // The operator reads which type the wait is for.
    assert_eq!(
        ENABLING[POLICY_TYPES.len() - 1],
        "UPGRADE_ROLLOUT_POLICY enabled"
    );
    assert_eq!(POLICY_TYPES.len(), ENABLING.len());
    // Every type AWS knows is accepted.
    assert_eq!(POLICY_TYPES.len(), PolicyType::values().len());
}

#[test]
fn live_reports_the_document_sorted_targets_and_user_tags() {
    let mut now = current("guardrails", "", &guardrails().to_string());
    now.tags = crate::kinds::tag_map(&[("owner", "security"), ("innovate:env", "prod")]);
    let live = to_live(&now).unwrap();
    assert_eq!(live.id, "p-abc12345");
    let attrs = live.attrs.unwrap();
    assert_eq!(attrs["content"], guardrails());
    assert_eq!(attrs["target_ids"], json!(["ou-a", "ou-b"]));
    assert_eq!(attrs["description"], "");
    assert_eq!(attrs["type"], "SERVICE_CONTROL_POLICY");
    let carried = AwsItem::tags(&now).expect("policies report their tags");
    assert_eq!(
        crate::kinds::user_tags(&carried),
        json!({"owner": "security"})
    );
}
