//! `organizations.policy`: an organization policy (by default a service control policy)
//! and where it is attached: `target_ids` lists the root, OUs and accounts. Name,
//! description and content change in place (UpdatePolicy), targets by attaching and
//! detaching ([`targets`]); only the type forces a new policy.
//!
//! `content` is written in the blueprint as a YAML map (or JSON text) and sent as JSON. It
//! is compared with what AWS holds by meaning (IAM's comparison: key order, a single value
//! versus a one-element list and the order of actions do not count), so a reformatted
//! document never causes a call.

mod targets;

use super::policy_document::{document, from_aws, render, same};
use super::{
    address, changing, check_one_of, explained, for_create, found, is_ours, read_found,
    tagging_by_id, tags_of, Organizations, NOT_IN_USE, SETTLING,
};
use crate::aws::common::{carries_all, missing, observed, outputs};
use crate::aws::{retry_while, sdk_error, AwsContext, Cx};
use crate::kinds::{
    AttrType, Attrs, AwsItem, AwsKind, Change, KindError, KindResult, Live, Schema, StepCx,
    Tagging, Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_organizations::types::{Policy, PolicySummary, PolicyType};
use aws_sdk_organizations::Client;
use serde_json::Value;

/// The policy types a blueprint may create, and what the operator reads while one is being
/// enabled on the root ("waiting for TAG_POLICY enabled 3s").
macro_rules! policy_types {
    ($($name:literal),* $(,)?) => {
        const POLICY_TYPES: &[&str] = &[$($name),*];
        const ENABLING: &[&str] = &[$(concat!($name, " enabled")),*];
    };
}

// Every type the SDK knows (PolicyType::values()), as the kind accepted before the typed layer.
policy_types![
    "SERVICE_CONTROL_POLICY",
    "RESOURCE_CONTROL_POLICY",
    "TAG_POLICY",
    "BACKUP_POLICY",
    "AISERVICES_OPT_OUT_POLICY",
    "CHATBOT_POLICY",
    "DECLARATIVE_POLICY_EC2",
    "BEDROCK_POLICY",
    "GUARDDUTY_POLICY",
    "INSPECTOR_POLICY",
    "NETWORK_SECURITY_DIRECTOR_POLICY",
    "S3_POLICY",
    "SECURITYHUB_POLICY",
    "UPGRADE_ROLLOUT_POLICY",
];

crate::spec! {
    pub(super) struct Spec with tags {
        name: String = required(AttrType::String),
        description: String = optional(AttrType::String).default("\"Managed by innovate\""),
        r#type: String = optional(AttrType::String)
            .default("\"SERVICE_CONTROL_POLICY\"")
            .force_new()
            .one_of(POLICY_TYPES),
        content: Value = required(AttrType::Json),
        // The root, OUs and accounts the policy is attached to.
        target_ids: Vec<String> = optional(AttrType::List(&AttrType::String))
            .default("[]")
            .unordered(),
    }
}

const SCHEMA: Schema =
    Schema::new("organizations.policy", Tier::Accounts, Spec::ATTRS).outputs(&["arn"]);

const NOT_FOUND: &str = "PolicyNotFoundException";
const DESCRIBE: &str = "organizations:DescribePolicy";
const DUPLICATE: &str = "DuplicatePolicyException";
/// DeletePolicy while still attached (detachments take a moment to count everywhere).
const IN_USE: &str = "PolicyInUseException";

#[async_trait]
impl AwsItem for Current {
    type Client = AwsContext;
    const DESCRIBE: &'static str = DESCRIBE;
    const NOT_FOUND: &'static [&'static str] = &[NOT_FOUND, NOT_IN_USE];

    async fn describe(aws: &AwsContext, ids: &[String]) -> KindResult<Vec<Current>> {
        let org = aws.organizations().await;
        let read = |id: String| async move { read_one(org, &id).await };
        read_found(ids.iter().cloned(), read).await
    }

    /// Every customer-managed policy, of every type, carrying all of `tags`: one
    /// ListPolicies per type, one ListTagsForResource per policy, a full read per match.
    async fn list(aws: &AwsContext, tags: &Tags) -> KindResult<Option<Vec<Current>>> {
        let org = aws.organizations().await;
        let mut summaries = Vec::new();
        for policy_type in POLICY_TYPES.iter().map(|t| PolicyType::from(*t)) {
            // A type this partition (or organization) does not offer is refused as input.
            let listed = list_policies(org, &policy_type).await;
            summaries.extend(found(listed, &["InvalidInputException"])?.unwrap_or_default());
        }
        let ours = summaries.into_iter().filter(|s| !s.aws_managed());
        let tagged = read_found(ours, |summary| async move {
            let id = summary.id().unwrap_or_default();
            let gone = [NOT_FOUND, "TargetNotFoundException"];
            let carried = found(tags_of(org, id).await, &gone)?;
            if !carried.is_some_and(|carried| carries_all(&carried, tags)) {
                return Ok(None);
            }
            read_one(org, id).await
        });
        Ok(Some(tagged.await?))
    }

    fn tags(&self) -> Option<Tags> {
        Some(self.tags.clone())
    }

    async fn tagging(&self, aws: &AwsContext, id: &str) -> KindResult<Option<Tagging>> {
        Ok(Some(tagging_by_id(aws, id).await))
    }
}

pub(super) struct PolicyKind;

/// A policy as AWS reports it, with its targets and tags.
pub(super) struct Current {
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
impl AwsKind for PolicyKind {
    type Spec = Spec;
    type Item = Current;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        let document = document_of(spec)?;
        let org = cx.aws.organizations().await;
        let call = "organizations:CreatePolicy";
        let sdk_tags = &for_create(call, tags)?;
        let (content, policy_type) = (&render(&document), &PolicyType::from(spec.r#type.as_str()));
        let created = changing(|| async move {
            let request = org.create_policy().name(&spec.name).content(content);
            let request = request
                .description(&spec.description)
                .r#type(policy_type.clone());
            let sent = request.set_tags(sdk_tags.clone()).send().await;
            sent.map_err(|e| sdk_error(call, e))
        })
        .await;
        let id = match created {
            Ok(created) => {
                let summary = created.policy().and_then(Policy::policy_summary);
                let id = summary.and_then(PolicySummary::id);
                id.ok_or_else(|| missing(call, "Policy.PolicySummary.Id"))?
                    .to_string()
            }
            // Policy names are unique in an organization: an interrupted run may have made
            // it. Adopted, it is brought to the spec like an update would.
            Err(err) if err.code.as_deref() == Some(DUPLICATE) => {
                adopt(org, spec, tags, err).await?
            }
            Err(err) => return Err(err),
        };
        let current = retry_while(&[NOT_FOUND], SETTLING, || async {
            let read = read_one(org, &id).await?;
            read.ok_or_else(|| crate::kinds::gone(DESCRIBE, &[NOT_FOUND], &id))
        })
        .await?;
        converge(cx, org, &id, spec, &document, &current).await?;
        Tagging::new(Organizations(org.clone()), &id)
            .sync(&current.tags, tags)
            .await?;
        Ok(id)
    }

    fn live(&self, _: &AwsContext, current: &Current) -> Option<Live> {
        to_live(current)
    }

    /// Compared with what AWS reports, not with state: drift gets corrected too.
    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        let document = document_of(change.desired)?;
        let org = cx.aws.organizations().await;
        converge(
            cx,
            org,
            change.id(),
            change.desired,
            &document,
            change.current,
        )
        .await
    }

    /// Detaches the policy from every target, then DeletePolicy.
    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let org = cx.aws.organizations().await;
        let id = live.id.as_str();
        let Some(attached) = found(targets::targets_of(org, id).await, &[NOT_FOUND])? else {
            return Ok(());
        };
        for target in &attached {
            targets::detach(org, id, target).await?;
        }
        retry_while(&[IN_USE], SETTLING, || {
            changing(|| async move {
                let sent = org.delete_policy().policy_id(id).send().await;
                sent.map(drop)
                    .map_err(|e| sdk_error("organizations:DeletePolicy", e))
            })
        })
        .await
    }
}

/// The spec's type checked and its document parsed.
fn document_of(spec: &Spec) -> KindResult<Value> {
    check_one_of(&SCHEMA, "type", &spec.r#type)?;
    document("content", &spec.content).map_err(|message| KindError::local(SCHEMA.name, message))
}

/// Brings policy `id` from `current` to the spec: UpdatePolicy with what differs, then
/// its targets. Tags are synced by the caller.
async fn converge(
    cx: &StepCx,
    org: &Client,
    id: &str,
    spec: &Spec,
    document: &Value,
    current: &Current,
) -> KindResult<()> {
    let edit = Edit::between(current, spec, document);
    if !edit.is_empty() {
        let edit = &edit;
        changing(|| async move {
            let request = org
                .update_policy()
                .policy_id(id)
                .set_name(edit.name.clone());
            let request = request.set_description(edit.description.clone());
            let sent = request.set_content(edit.content.clone()).send().await;
            sent.map(drop)
                .map_err(|e| sdk_error("organizations:UpdatePolicy", e))
        })
        .await?;
    }
    let policy_type = PolicyType::from(spec.r#type.as_str());
    targets::retarget(
        cx,
        org,
        id,
        &policy_type,
        &current.targets,
        &spec.target_ids,
    )
    .await
}

/// The fields one UpdatePolicy sends: only those that differ.
#[derive(Debug, Default, PartialEq)]
struct Edit {
    name: Option<String>,
    description: Option<String>,
    content: Option<String>,
}

impl Edit {
    fn between(current: &Current, spec: &Spec, document: &Value) -> Edit {
        let summary = current.summary();
        let name_now = summary.and_then(|s| s.name());
        let description_now = summary.and_then(|s| s.description()).unwrap_or("");
        let content_same = current
            .policy
            .content()
            .and_then(|text| from_aws(text).ok())
            .is_some_and(|doc| same(&doc, document));
        Edit {
            name: (name_now != Some(spec.name.as_str())).then(|| spec.name.clone()),
            description: (description_now != spec.description).then(|| spec.description.clone()),
            content: (!content_same).then(|| render(document)),
        }
    }

    fn is_empty(&self) -> bool {
        *self == Edit::default()
    }
}

/// The policy named like the spec, when it carries this step's identity tags (made by an
/// interrupted run); otherwise the duplicate error, explained.
async fn adopt(org: &Client, spec: &Spec, tags: &Tags, duplicate: KindError) -> KindResult<String> {
    let name = spec.name.as_str();
    let listed = list_policies(org, &PolicyType::from(spec.r#type.as_str())).await?;
    let same_name = listed.iter().find(|p| p.name() == Some(name));
    let Some(id) = same_name.and_then(|p| p.id()) else {
        return Err(duplicate);
    };
    if is_ours(&tags_of(org, id).await?, tags) {
        return Ok(id.to_string());
    }
    let why = format!(
        "policy {id} named {name:?} was not made by this blueprint's {}: import it or \
         choose another name",
        address(tags)
    );
    Err(explained(duplicate, &why))
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

/// DescribePolicy, ListTargetsForPolicy and ListTagsForResource for one policy; `None` when
/// it no longer exists.
async fn read_one(org: &Client, id: &str) -> KindResult<Option<Current>> {
    let described = org.describe_policy().policy_id(id).send().await;
    let described = described.map_err(|e| sdk_error(DESCRIBE, e));
    let Some(policy) = found(described, &[NOT_FOUND])?.and_then(|d| d.policy) else {
        return Ok(None);
    };
    let read = futures::try_join!(targets::targets_of(org, id), tags_of(org, id));
    let Some((targets, tags)) = found(read, &[NOT_FOUND, "TargetNotFoundException"])? else {
        return Ok(None);
    };
    Ok(Some(Current {
        policy,
        targets,
        tags,
    }))
}

fn to_live(current: &Current) -> Option<Live> {
    let summary = current.summary()?;
    let text = |value: Option<&str>| value.map_or(Value::Null, |v| Value::String(v.into()));
    // The document as AWS holds it; text that is not JSON is reported as it is.
    let content = current.policy.content().map_or(Value::Null, |text| {
        from_aws(text).unwrap_or_else(|_| Value::String(text.to_string()))
    });
    let mut targets = current.targets.clone();
    targets.sort();
    Some(Live::observed(
        summary.id()?.to_string(),
        outputs([("arn", summary.arn().map(str::to_string))]),
        observed([
            ("name", text(summary.name())),
            ("description", text(summary.description())),
            ("type", text(summary.r#type().map(PolicyType::as_str))),
            ("content", content),
            (
                "target_ids",
                targets.into_iter().map(Value::String).collect(),
            ),
        ]),
    ))
}

#[cfg(test)]
mod tests;
