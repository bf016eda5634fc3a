//! `organizations.policy`: an organization policy (by default a service control policy)
//! and where it is attached: `target_ids` lists the root, OUs and accounts. Name,
//! description and content change in place (UpdatePolicy), targets by attaching and
//! detaching; only the type forces a new policy.
//!
//! `content` is written in the blueprint as a YAML map (or JSON text) and sent as JSON. It
//! is compared with what AWS holds by meaning (IAM's comparison: key order, a single value
//! versus a one-element list and the order of actions do not count), so a reformatted
//! document never causes a call.
//!
//! A policy type must be enabled on the root before a policy of it can be attached: the
//! first attachment enables it (EnablePolicyType) and waits until AWS reports it enabled.

use super::policy_document::{document, from_aws, render, same};
use super::{
    changing, for_create, found, is_ours, one_of, read_each, root, sync_tags, tags_of, SETTLING,
};
use crate::aws::common::{carries_all, missing, observed, outputs, parse_spec};
use crate::aws::common::{user_tags, TAGS};
use crate::aws::wait::{self, Status};
use crate::aws::{retry_while, sdk_error, AwsContext, Backoff};
use crate::kinds::{
    identity_tags, Attr, AttrType, Attrs, KindError, KindResult, Live, Price, ResourceKind, Schema,
    StepCx, Tags, Tier, ADDRESS_TAG,
};
use async_trait::async_trait;
use aws_sdk_organizations::types::{Policy, PolicySummary, PolicyType, PolicyTypeStatus, Root};
use aws_sdk_organizations::Client;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

static SCHEMA: Schema = Schema {
    name: "organizations.policy",
    attrs: &[
        Attr::required("name", AttrType::String),
        Attr::optional("description", AttrType::String).default("\"Managed by innovate\""),
        Attr::optional("type", AttrType::String)
            .default("\"SERVICE_CONTROL_POLICY\"")
            .force_new(),
        Attr::required("content", AttrType::Json),
        // The root, OUs and accounts the policy is attached to.
        Attr::optional("target_ids", AttrType::List(&AttrType::String))
            .default("[]")
            .unordered(),
        TAGS,
    ],
    outputs: &["arn"],
    taggable: true,
    tier: Tier::Accounts,
    price: Price::Free,
};

const NOT_FOUND: &str = "PolicyNotFoundException";
const DUPLICATE: &str = "DuplicatePolicyException";
/// DeletePolicy while still attached (detachments take a moment to count everywhere).
const IN_USE: &str = "PolicyInUseException";

/// Default bound of the wait for a policy type to be enabled on the root.
const ENABLE_WAIT: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    name: String,
    description: String,
    #[serde(rename = "type")]
    policy_type: String,
    content: Value,
    target_ids: Vec<String>,
}

/// A spec checked and with its document parsed.
#[derive(Debug)]
struct Wanted {
    spec: Spec,
    document: Value,
}

impl Wanted {
    fn parse(desired: &Attrs) -> KindResult<Wanted> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        one_of(SCHEMA.name, "type", &spec.policy_type, PolicyType::values())?;
        let document = document("content", &spec.content)
            .map_err(|message| KindError::local(SCHEMA.name, message))?;
        Ok(Wanted { spec, document })
    }

    fn policy_type(&self) -> PolicyType {
        PolicyType::from(self.spec.policy_type.as_str())
    }
}

pub(super) struct PolicyKind(pub(super) Arc<AwsContext>);

/// A policy as AWS reports it, with its targets and tags.
struct Current {
    policy: Policy,
    targets: Vec<String>,
    tags: Tags,
}

impl Current {
    fn summary(&self) -> Option<&PolicySummary> {
        self.policy.policy_summary()
    }
}

#[async_trait]
impl ResourceKind for PolicyKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live> {
        let wanted = Wanted::parse(desired)?;
        let org = self.0.organizations().await;
        let call = "organizations:CreatePolicy";
        let sdk_tags = &for_create(call, tags)?;
        let (spec, content) = (&wanted.spec, &render(&wanted.document));
        let policy_type = &wanted.policy_type();
        let created = changing(|| async move {
            org.create_policy()
                .name(&spec.name)
                .description(&spec.description)
                .r#type(policy_type.clone())
                .content(content)
                .set_tags(sdk_tags.clone())
                .send()
                .await
                .map_err(|e| sdk_error(call, e))
        })
        .await;
        let id = match created {
            Ok(created) => created
                .policy()
                .and_then(|p| p.policy_summary())
                .and_then(|s| s.id())
                .ok_or_else(|| missing(call, "Policy.PolicySummary.Id"))?
                .to_string(),
            // Policy names are unique in an organization: an interrupted run may have made
            // it. Adopted, it is brought to the spec like an update would.
            Err(err) if err.code.as_deref() == Some(DUPLICATE) => {
                adopt(org, &wanted, tags, err).await?
            }
            Err(err) => return Err(err),
        };
        let current = retry_while(&[NOT_FOUND], SETTLING, || async {
            read_one(org, &id).await?.ok_or_else(|| gone(&id))
        })
        .await?;
        converge(cx, org, &id, &wanted, &current, tags).await?;
        let current = read_one(org, &id).await?.ok_or_else(|| gone(&id))?;
        Ok(to_live(&current))
    }

    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        let org = self.0.organizations().await;
        read_each(ids.iter().cloned(), |id| async move {
            Ok(read_one(org, &id).await?.as_ref().map(to_live))
        })
        .await
    }

    /// Every customer-managed policy, of every type, carrying all of `tags`: one
    /// ListPolicies per type, one ListTagsForResource per policy, a full read per match.
    async fn list_tagged(&self, tags: &Tags) -> KindResult<Option<Vec<Live>>> {
        let org = self.0.organizations().await;
        let mut summaries = Vec::new();
        for policy_type in PolicyType::values().iter().map(|t| PolicyType::from(*t)) {
            // A type this partition (or organization) does not offer is refused as input.
            let listed = list_policies(org, &policy_type).await;
            let listed = found(listed, &["InvalidInputException"]);
            summaries.extend(listed?.unwrap_or_default());
        }
        let ours = summaries.into_iter().filter(|s| !s.aws_managed());
        let tagged = read_each(ours, |summary| async move {
            let id = summary.id().unwrap_or_default();
            let carried = found(
                tags_of(org, id).await,
                &[NOT_FOUND, "TargetNotFoundException"],
            )?;
            if !carried.is_some_and(|carried| carries_all(&carried, tags)) {
                return Ok(None);
            }
            Ok(read_one(org, id).await?.as_ref().map(to_live))
        })
        .await?;
        Ok(Some(tagged.into_iter().flatten().collect()))
    }

    async fn update(
        &self,
        cx: &StepCx,
        live: &Live,
        _prior: &Attrs,
        desired: &Attrs,
        tags: &Tags,
    ) -> KindResult<Live> {
        let wanted = Wanted::parse(desired)?;
        let org = self.0.organizations().await;
        // Compare with what AWS reports, not with state: drift gets corrected too.
        let current = read_one(org, &live.id)
            .await?
            .ok_or_else(|| gone(&live.id))?;
        converge(cx, org, &live.id, &wanted, &current, tags).await?;
        let current = read_one(org, &live.id).await?;
        Ok(to_live(&current.ok_or_else(|| gone(&live.id))?))
    }

    /// Detaches the policy from every target, then DeletePolicy.
    async fn delete(&self, _cx: &StepCx, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let org = self.0.organizations().await;
        let id = live.id.as_str();
        let Some(targets) = found(targets_of(org, id).await, &[NOT_FOUND])? else {
            return Ok(());
        };
        for target in &targets {
            detach(org, id, target).await?;
        }
        let deleted = retry_while(&[IN_USE], SETTLING, || {
            changing(|| async move {
                org.delete_policy()
                    .policy_id(id)
                    .send()
                    .await
                    .map_err(|e| sdk_error("organizations:DeletePolicy", e))
            })
        })
        .await;
        found(deleted, &[NOT_FOUND]).map(drop)
    }
}

/// Brings policy `id` from `current` to `wanted`: UpdatePolicy with what differs, attach
/// to new targets (before detaching, so no target is ever without the policy while its
/// targets change), detach from dropped ones, then the tags.
async fn converge(
    cx: &StepCx,
    org: &Client,
    id: &str,
    wanted: &Wanted,
    current: &Current,
    tags: &Tags,
) -> KindResult<()> {
    let change = Change::between(current, wanted);
    if !change.is_empty() {
        let change = &change;
        changing(|| async move {
            org.update_policy()
                .policy_id(id)
                .set_name(change.name.clone())
                .set_description(change.description.clone())
                .set_content(change.content.clone())
                .send()
                .await
                .map_err(|e| sdk_error("organizations:UpdatePolicy", e))
        })
        .await?;
    }
    let (attach, detach_from) = target_changes(&current.targets, &wanted.spec.target_ids);
    if !attach.is_empty() {
        ensure_enabled(cx, org, &wanted.policy_type()).await?;
    }
    for target in &attach {
        self::attach(org, id, target).await?;
    }
    for target in &detach_from {
        detach(org, id, target).await?;
    }
    sync_tags(org, id, &current.tags, tags).await
}

/// The fields one UpdatePolicy sends: only those that differ.
#[derive(Debug, Default, PartialEq)]
struct Change {
    name: Option<String>,
    description: Option<String>,
    content: Option<String>,
}

impl Change {
    fn between(current: &Current, wanted: &Wanted) -> Change {
        let summary = current.summary();
        let spec = &wanted.spec;
        let name_now = summary.and_then(|s| s.name());
        let description_now = summary.and_then(|s| s.description()).unwrap_or("");
        let content_same = current
            .policy
            .content()
            .and_then(|text| from_aws(text).ok())
            .is_some_and(|doc| same(&doc, &wanted.document));
        Change {
            name: (name_now != Some(spec.name.as_str())).then(|| spec.name.clone()),
            description: (description_now != spec.description).then(|| spec.description.clone()),
            content: (!content_same).then(|| render(&wanted.document)),
        }
    }

    fn is_empty(&self) -> bool {
        *self == Change::default()
    }
}

/// Targets to attach to and to detach from, each in the order given.
fn target_changes(current: &[String], desired: &[String]) -> (Vec<String>, Vec<String>) {
    let now: BTreeSet<&String> = current.iter().collect();
    let wanted: BTreeSet<&String> = desired.iter().collect();
    let mut attach: Vec<String> = Vec::new();
    for target in desired.iter().filter(|t| !now.contains(t)) {
        if !attach.contains(target) {
            attach.push(target.clone());
        }
    }
    let detach = current
        .iter()
        .filter(|t| !wanted.contains(t))
        .cloned()
        .collect();
    (attach, detach)
}

async fn attach(org: &Client, id: &str, target: &str) -> KindResult<()> {
    let attached = changing(|| async move {
        org.attach_policy()
            .policy_id(id)
            .target_id(target)
            .send()
            .await
            .map_err(|e| sdk_error("organizations:AttachPolicy", e))
    })
    .await;
    match attached {
        Err(err) if err.code.as_deref() == Some("DuplicatePolicyAttachmentException") => Ok(()),
        other => other.map(drop),
    }
}

async fn detach(org: &Client, id: &str, target: &str) -> KindResult<()> {
    let detached = changing(|| async move {
        org.detach_policy()
            .policy_id(id)
            .target_id(target)
            .send()
            .await
            .map_err(|e| sdk_error("organizations:DetachPolicy", e))
    })
    .await;
    // Already detached, or the target is gone: nothing left to detach.
    let gone = ["PolicyNotAttachedException", "TargetNotFoundException"];
    found(detached, &gone).map(drop)
}

/// Enables `policy_type` on the root unless it is, and waits until AWS reports it ENABLED.
async fn ensure_enabled(cx: &StepCx, org: &Client, policy_type: &PolicyType) -> KindResult<()> {
    let root = root(org).await?;
    let root_id = root
        .id()
        .ok_or_else(|| missing("organizations:ListRoots", "Id"))?
        .to_string();
    let status = type_status(&root, policy_type);
    if status == Some(&PolicyTypeStatus::Enabled) {
        return Ok(());
    }
    if status.is_none() {
        let root_id = root_id.as_str();
        let enabled = changing(|| async move {
            org.enable_policy_type()
                .root_id(root_id)
                .policy_type(policy_type.clone())
                .send()
                .await
                .map_err(|e| sdk_error("organizations:EnablePolicyType", e))
        })
        .await;
        match enabled {
            Ok(enabled) => {
                let now = enabled.root().and_then(|r| type_status(r, policy_type));
                if now == Some(&PolicyTypeStatus::Enabled) {
                    return Ok(());
                }
            }
            // Someone else enabled it meanwhile.
            Err(err) if err.code.as_deref() == Some("PolicyTypeAlreadyEnabledException") => {}
            Err(err) => return Err(err),
        }
    }
    let backoff = Backoff {
        first: Duration::from_secs(1),
        max_delay: Duration::from_secs(10),
        bound: cx.timeout_or(ENABLE_WAIT),
    };
    let target = format!("{} enabled", policy_type.as_str());
    wait::until(cx, "organizations:ListRoots", &target, backoff, || async {
        let root = super::root(org).await?;
        Ok(match type_status(&root, policy_type) {
            Some(PolicyTypeStatus::Enabled) => Status::Ready(()),
            Some(status) => Status::Pending(status.as_str().to_string()),
            None => Status::Pending("not enabled yet".to_string()),
        })
    })
    .await
}

fn type_status<'a>(root: &'a Root, policy_type: &PolicyType) -> Option<&'a PolicyTypeStatus> {
    root.policy_types()
        .iter()
        .find(|t| t.r#type() == Some(policy_type))
        .and_then(|t| t.status())
}

/// The policy named like the spec, when it carries this step's identity tags (made by an
/// interrupted run); otherwise the duplicate error, explained.
async fn adopt(
    org: &Client,
    wanted: &Wanted,
    tags: &Tags,
    duplicate: KindError,
) -> KindResult<String> {
    let name = wanted.spec.name.as_str();
    let listed = list_policies(org, &wanted.policy_type()).await?;
    let same_name = listed.iter().find(|p| p.name() == Some(name));
    let Some(id) = same_name.and_then(|p| p.id()) else {
        return Err(duplicate);
    };
    if is_ours(&tags_of(org, id).await?, tags) {
        return Ok(id.to_string());
    }
    let message = format!(
        "{} (policy {id} named {name:?} was not made by this blueprint's {}: import it or \
         choose another name)",
        duplicate.message,
        tags.get(ADDRESS_TAG).map_or("resource", String::as_str)
    );
    Err(KindError {
        message,
        ..duplicate
    })
}

async fn list_policies(org: &Client, policy_type: &PolicyType) -> KindResult<Vec<PolicySummary>> {
    let pages: Vec<_> = org
        .list_policies()
        .filter(policy_type.clone())
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("organizations:ListPolicies", e))?;
    Ok(pages
        .into_iter()
        .flat_map(|page| page.policies.unwrap_or_default())
        .collect())
}

async fn targets_of(org: &Client, id: &str) -> KindResult<Vec<String>> {
    let pages: Vec<_> = org
        .list_targets_for_policy()
        .policy_id(id)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("organizations:ListTargetsForPolicy", e))?;
    Ok(pages
        .iter()
        .flat_map(|page| page.targets())
        .filter_map(|target| target.target_id().map(str::to_string))
        .collect())
}

/// DescribePolicy, ListTargetsForPolicy and ListTagsForResource for one policy; `None` when
/// it no longer exists.
async fn read_one(org: &Client, id: &str) -> KindResult<Option<Current>> {
    let described = org
        .describe_policy()
        .policy_id(id)
        .send()
        .await
        .map_err(|e| sdk_error("organizations:DescribePolicy", e));
    let Some(policy) = found(described, &[NOT_FOUND])?.and_then(|d| d.policy) else {
        return Ok(None);
    };
    let read = futures::try_join!(targets_of(org, id), tags_of(org, id));
    let Some((targets, tags)) = found(read, &[NOT_FOUND, "TargetNotFoundException"])? else {
        return Ok(None);
    };
    Ok(Some(Current {
        policy,
        targets,
        tags,
    }))
}

fn gone(id: &str) -> KindError {
    KindError::new(
        "organizations:DescribePolicy",
        Some(NOT_FOUND.into()),
        format!("policy {id} no longer exists"),
    )
}

fn to_live(current: &Current) -> Live {
    let summary = current.summary();
    let text = |value: Option<&str>| value.map_or(Value::Null, |v| Value::String(v.into()));
    // The document as AWS holds it; text that is not JSON is reported as it is.
    let content = current.policy.content().map_or(Value::Null, |text| {
        from_aws(text).unwrap_or_else(|_| Value::String(text.to_string()))
    });
    let mut targets = current.targets.clone();
    targets.sort();
    Live {
        id: summary.and_then(|s| s.id()).unwrap_or_default().to_string(),
        outputs: outputs([("arn", summary.and_then(|s| s.arn()).map(str::to_string))]),
        attrs: Some(observed([
            ("name", text(summary.and_then(|s| s.name()))),
            ("description", text(summary.and_then(|s| s.description()))),
            (
                "type",
                text(summary.and_then(|s| s.r#type()).map(PolicyType::as_str)),
            ),
            ("content", content),
            (
                "target_ids",
                targets.into_iter().map(Value::String).collect(),
            ),
            ("tags", user_tags(&current.tags)),
        ])),
        identity: identity_tags(&current.tags),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spec_fits_schema() {
        crate::aws::common::testing::assert_spec_fits_schema::<Spec>(&SCHEMA);
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

    fn wanted(extra: Value) -> Wanted {
        let mut attrs = json!({"name": "guardrails", "content": guardrails()});
        attrs
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Wanted::parse(attrs.as_object().unwrap()).unwrap()
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
        let w = wanted(json!({}));
        assert_eq!(w.spec.description, "Managed by innovate");
        assert_eq!(w.policy_type(), PolicyType::ServiceControlPolicy);
        assert!(w.spec.target_ids.is_empty());
        let attrs = json!({"name": "p", "content": guardrails(), "type": "SCP"});
        let err = Wanted::parse(attrs.as_object().unwrap()).unwrap_err();
        assert!(
            err.message.contains("SERVICE_CONTROL_POLICY"),
            "{}",
            err.message
        );
        let attrs = json!({"name": "p", "content": 3});
        assert!(Wanted::parse(attrs.as_object().unwrap()).is_err());
        // JSON text is a document too.
        let text = guardrails().to_string();
        let from_text = wanted(json!({"content": text}));
        assert_eq!(from_text.document, guardrails());
    }

    #[test]
    fn a_reformatted_document_is_no_change() {
        // Reordered keys, one-element lists as scalars, actions in another order.
        let aws = r#"{"Statement":[{"Resource":"*","Action":"organizations:LeaveOrganization",
            "Effect":"Deny","Sid":"StayInTheOrganization"},{"Sid":"KeepTheTrail","Effect":"Deny",
            "Action":["cloudtrail:DeleteTrail","cloudtrail:StopLogging"],"Resource":["*"]}],
            "Version":"2012-10-17"}"#;
        let now = current("guardrails", "Managed by innovate", aws);
        assert!(Change::between(&now, &wanted(json!({}))).is_empty());
    }

    #[test]
    fn only_what_differs_is_sent() {
        let now = current("old", "Managed by innovate", &guardrails().to_string());
        let change = Change::between(&now, &wanted(json!({"description": "Guardrails"})));
        assert_eq!(change.name.as_deref(), Some("guardrails"));
        assert_eq!(change.description.as_deref(), Some("Guardrails"));
        assert_eq!(change.content, None);
        let mut allowed = guardrails();
        allowed["Statement"][1]["Effect"] = json!("Allow");
        let change = Change::between(&now, &wanted(json!({"name": "old", "content": allowed})));
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
    }

    #[test]
    fn live_reports_the_document_sorted_targets_and_user_tags() {
        let live = to_live(&current("guardrails", "", &guardrails().to_string()));
        assert_eq!(live.id, "p-abc12345");
        let attrs = live.attrs.unwrap();
        assert_eq!(attrs["content"], guardrails());
        assert_eq!(attrs["target_ids"], json!(["ou-a", "ou-b"]));
        assert_eq!(attrs["description"], "");
        assert_eq!(attrs["type"], "SERVICE_CONTROL_POLICY");
    }
}
