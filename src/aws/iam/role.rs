//! `iam.role`: a role with its trust policy, attached managed policies and inline policies.
//! Updates reconcile against what IAM reports (not only against state), so a policy changed
//! outside innovate is put back; documents are compared by meaning, since IAM returns them
//! URL-encoded and reformatted.

use super::{policy, tags};
use crate::aws::common::{
    has_code, ignore_gone, in_order, missing, observed, outputs, parse_spec, string_or_null,
    tag_changes, user_tags, TAGS,
};
use crate::aws::{retry_while, sdk_error, AwsContext, Backoff};
use crate::kinds::{
    identity_tags, Attr, AttrType, Attrs, KindError, KindResult, Live, Price, ResourceKind, Schema,
    StepCx, Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_iam::types::Role;
use aws_sdk_iam::Client;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

static SCHEMA: Schema = Schema {
    name: "iam.role",
    attrs: &[
        Attr::required("name", AttrType::String).force_new(),
        Attr::optional("path", AttrType::String)
            .default("\"/\"")
            .force_new(),
        Attr::optional("description", AttrType::String),
        Attr::required("assume_role_policy", AttrType::Json),
        Attr::optional("managed_policy_arns", AttrType::List(&AttrType::String))
            .default("[]")
            .unordered(),
        // Policy name -> policy document.
        Attr::optional("inline_policies", AttrType::Json).default("{}"),
        Attr::optional("max_session_duration", AttrType::Int).default("3600"),
        Attr::optional("permissions_boundary", AttrType::String),
        TAGS,
    ],
    outputs: &["arn", "unique_id"],
    taggable: true,
    tier: Tier::Identity,
    price: Price::Free,
};

const NOT_FOUND: &str = "NoSuchEntity";

/// Roles read at once: IAM has no batch read, and its request rate limits are low.
const READ_CONCURRENCY: usize = 8;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    name: String,
    path: String,
    description: Option<String>,
    assume_role_policy: Value,
    managed_policy_arns: Vec<String>,
    inline_policies: Value,
    max_session_duration: i32,
    permissions_boundary: Option<String>,
}

/// The spec with its policy documents parsed.
struct Wanted {
    spec: Spec,
    trust: Value,
    inline: BTreeMap<String, Value>,
}

fn wanted(desired: &Attrs) -> KindResult<Wanted> {
    let spec: Spec = parse_spec(&SCHEMA, desired)?;
    let local = |message| KindError::local(SCHEMA.name, message);
    let trust = policy::document("assume_role_policy", &spec.assume_role_policy).map_err(local)?;
    let inline = policy::documents("inline_policies", &spec.inline_policies).map_err(local)?;
    Ok(Wanted {
        spec,
        trust,
        inline,
    })
}

pub(super) struct RoleKind(pub(super) Arc<AwsContext>);

#[async_trait]
impl ResourceKind for RoleKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, _cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live> {
        let wanted = wanted(desired)?;
        let spec = &wanted.spec;
        let iam = self.0.iam().await;
        let created = iam
            .create_role()
            .role_name(&spec.name)
            .path(&spec.path)
            .set_description(spec.description.clone())
            .assume_role_policy_document(policy::render(&wanted.trust))
            .max_session_duration(spec.max_session_duration)
            .set_permissions_boundary(spec.permissions_boundary.clone())
            .set_tags(tags::at_creation("iam:CreateRole", tags)?)
            .send()
            .await
            .map_err(|e| sdk_error("iam:CreateRole", e))?;
        let role = created
            .role()
            .ok_or_else(|| missing("iam:CreateRole", "Role"))?;
        let name = role.role_name();
        sync_managed(iam, name, &[], &spec.managed_policy_arns).await?;
        sync_inline(iam, name, &BTreeMap::new(), &wanted.inline).await?;
        Ok(to_live(role))
    }

    fn natural_id(&self, desired: &Attrs) -> Option<String> {
        crate::aws::common::text_attr(desired, "name")
    }

    fn conflict_codes(&self) -> &'static [&'static str] {
        &["EntityAlreadyExists"]
    }

    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        let iam = self.0.iam().await;
        // The futures are built first: a closure inside the stream would not be `Send` for
        // every lifetime, which async_trait needs.
        let reads: Vec<_> = ids.iter().map(|id| get_role(iam, id)).collect();
        let roles: Vec<Option<Role>> = stream::iter(reads)
            .buffer_unordered(READ_CONCURRENCY)
            .try_collect()
            .await?;
        let found = roles.iter().flatten().map(to_live).collect();
        Ok(in_order(ids, found))
    }

    async fn update(
        &self,
        _cx: &StepCx,
        live: &Live,
        _prior: &Attrs,
        desired: &Attrs,
        tags: &Tags,
    ) -> KindResult<Live> {
        let wanted = wanted(desired)?;
        let spec = &wanted.spec;
        let iam = self.0.iam().await;
        let name = live.id.as_str();
        let role = get_role(iam, name).await?.ok_or_else(|| gone(name))?;
        if trust_changed(role.assume_role_policy_document(), &wanted.trust)? {
            iam.update_assume_role_policy()
                .role_name(name)
                .policy_document(policy::render(&wanted.trust))
                .send()
                .await
                .map_err(|e| sdk_error("iam:UpdateAssumeRolePolicy", e))?;
        }
        if settings_changed(&role, spec) {
            iam.update_role()
                .role_name(name)
                // An empty description is how IAM clears one.
                .description(spec.description.clone().unwrap_or_default())
                .max_session_duration(spec.max_session_duration)
                .send()
                .await
                .map_err(|e| sdk_error("iam:UpdateRole", e))?;
        }
        let boundary = role
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn());
        set_boundary(iam, name, boundary, spec.permissions_boundary.as_deref()).await?;
        let attached = attached_policies(iam, name).await?;
        sync_managed(iam, name, &attached, &spec.managed_policy_arns).await?;
        let inline = inline_policies(iam, name).await?;
        sync_inline(iam, name, &inline, &wanted.inline).await?;
        sync_tags(iam, name, tags).await?;
        let updated = get_role(iam, name).await?.ok_or_else(|| gone(name))?;
        Ok(to_live(&updated))
    }

    // IAM has no call that lists roles with their tags (ListRoles leaves tags out): listing
    // by tag would take a GetRole per role in the account, so roles are not listed.

    async fn delete(&self, _cx: &StepCx, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let iam = self.0.iam().await;
        ignore_gone(delete_role(iam, &live.id).await, &[NOT_FOUND])
    }
}

fn gone(name: &str) -> KindError {
    KindError::new(
        "iam:GetRole",
        Some(NOT_FOUND.into()),
        format!("role {name} no longer exists"),
    )
}

fn to_live(role: &Role) -> Live {
    Live {
        attrs: Some(observed_attrs(role)),
        id: role.role_name().to_string(),
        outputs: outputs([
            ("arn", Some(role.arn().to_string())),
            ("unique_id", Some(role.role_id().to_string())),
        ]),
        identity: identity_tags(&tags::to_map(role.tags())),
    }
}

/// The blueprint attributes GetRole (or CreateRole) reports. Left out: the managed and inline
/// policies (more calls per role: ListAttachedRolePolicies, ListRolePolicies and a
/// GetRolePolicy per policy) and `assume_role_policy` (IAM keeps a document of its own
/// rewriting: an account id as principal becomes the account's root ARN, a deleted role's
/// ARN its unique id; and the blueprint may hold the document as a map or as JSON text, so
/// an unchanged one would not always compare equal).
fn observed_attrs(role: &Role) -> Attrs {
    let boundary = role
        .permissions_boundary()
        .and_then(|b| b.permissions_boundary_arn());
    observed([
        ("name", role.role_name().into()),
        ("path", role.path().into()),
        ("description", string_or_null(role.description())),
        (
            "max_session_duration",
            role.max_session_duration().map_or(Value::Null, Value::from),
        ),
        ("permissions_boundary", string_or_null(boundary)),
        ("tags", user_tags(&tags::to_map(role.tags()))),
    ])
}

/// The role, or `None` when IAM does not know it.
async fn get_role(iam: &Client, name: &str) -> KindResult<Option<Role>> {
    match iam.get_role().role_name(name).send().await {
        Ok(answer) => Ok(answer.role),
        Err(e) => {
            let err = sdk_error("iam:GetRole", e);
            if has_code(&err, &[NOT_FOUND]) {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

/// Whether the trust policy IAM holds (`current`, URL-encoded) grants something else.
fn trust_changed(current: Option<&str>, wanted: &Value) -> KindResult<bool> {
    let Some(text) = current else {
        return Ok(true);
    };
    let current =
        policy::from_aws(text).map_err(|message| KindError::local("iam:GetRole", message))?;
    Ok(!policy::same(&current, wanted))
}

/// Whether UpdateRole is needed: IAM reports no description and an empty one alike.
fn settings_changed(role: &Role, spec: &Spec) -> bool {
    let description = role.description().unwrap_or_default();
    description != spec.description.as_deref().unwrap_or_default()
        || role.max_session_duration() != Some(spec.max_session_duration)
}

async fn set_boundary(
    iam: &Client,
    name: &str,
    current: Option<&str>,
    wanted: Option<&str>,
) -> KindResult<()> {
    match wanted {
        _ if current == wanted => Ok(()),
        Some(arn) => {
            iam.put_role_permissions_boundary()
                .role_name(name)
                .permissions_boundary(arn)
                .send()
                .await
                .map_err(|e| sdk_error("iam:PutRolePermissionsBoundary", e))?;
            Ok(())
        }
        None => {
            iam.delete_role_permissions_boundary()
                .role_name(name)
                .send()
                .await
                .map_err(|e| sdk_error("iam:DeleteRolePermissionsBoundary", e))?;
            Ok(())
        }
    }
}

/// What to add to `current` and what to take away to get `desired`.
fn set_diff(current: &[String], desired: &[String]) -> (Vec<String>, Vec<String>) {
    let added = desired.iter().filter(|d| !current.contains(d));
    let removed = current.iter().filter(|c| !desired.contains(c));
    (added.cloned().collect(), removed.cloned().collect())
}

/// Inline policies to put (new or granting something else) and names to delete.
fn inline_diff<'a>(
    current: &BTreeMap<String, Value>,
    desired: &'a BTreeMap<String, Value>,
) -> (Vec<(&'a str, &'a Value)>, Vec<String>) {
    let put = desired
        .iter()
        .filter(|(name, doc)| !current.get(*name).is_some_and(|c| policy::same(c, doc)))
        .map(|(name, doc)| (name.as_str(), doc));
    let deleted = current.keys().filter(|name| !desired.contains_key(*name));
    (put.collect(), deleted.cloned().collect())
}

async fn attached_policies(iam: &Client, name: &str) -> KindResult<Vec<String>> {
    let attached: Vec<_> = iam
        .list_attached_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("iam:ListAttachedRolePolicies", e))?;
    Ok(attached
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect())
}

async fn sync_managed(
    iam: &Client,
    name: &str,
    current: &[String],
    desired: &[String],
) -> KindResult<()> {
    let (attach, detach) = set_diff(current, desired);
    for arn in attach {
        iam.attach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| sdk_error("iam:AttachRolePolicy", e))?;
    }
    for arn in detach {
        iam.detach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| sdk_error("iam:DetachRolePolicy", e))?;
    }
    Ok(())
}

async fn inline_policy_names(iam: &Client, name: &str) -> KindResult<Vec<String>> {
    iam.list_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("iam:ListRolePolicies", e))
}

/// Name -> document of every inline policy IAM holds for the role.
async fn inline_policies(iam: &Client, name: &str) -> KindResult<BTreeMap<String, Value>> {
    let mut policies = BTreeMap::new();
    for policy_name in inline_policy_names(iam, name).await? {
        let answer = iam
            .get_role_policy()
            .role_name(name)
            .policy_name(&policy_name)
            .send()
            .await
            .map_err(|e| sdk_error("iam:GetRolePolicy", e))?;
        let doc = policy::from_aws(answer.policy_document())
            .map_err(|message| KindError::local("iam:GetRolePolicy", message))?;
        policies.insert(policy_name, doc);
    }
    Ok(policies)
}

async fn sync_inline(
    iam: &Client,
    name: &str,
    current: &BTreeMap<String, Value>,
    desired: &BTreeMap<String, Value>,
) -> KindResult<()> {
    let (put, deleted) = inline_diff(current, desired);
    for (policy_name, doc) in put {
        iam.put_role_policy()
            .role_name(name)
            .policy_name(policy_name)
            .policy_document(policy::render(doc))
            .send()
            .await
            .map_err(|e| sdk_error("iam:PutRolePolicy", e))?;
    }
    for policy_name in deleted {
        delete_inline(iam, name, &policy_name).await?;
    }
    Ok(())
}

async fn delete_inline(iam: &Client, name: &str, policy_name: &str) -> KindResult<()> {
    iam.delete_role_policy()
        .role_name(name)
        .policy_name(policy_name)
        .send()
        .await
        .map_err(|e| sdk_error("iam:DeleteRolePolicy", e))?;
    Ok(())
}

async fn sync_tags(iam: &Client, name: &str, desired: &Tags) -> KindResult<()> {
    let current: Vec<_> = iam
        .list_role_tags()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("iam:ListRoleTags", e))?;
    let changes = tag_changes(&tags::to_map(&current), desired);
    if !changes.set.is_empty() {
        iam.tag_role()
            .role_name(name)
            .set_tags(Some(tags::to_sdk("iam:TagRole", &changes.set)?))
            .send()
            .await
            .map_err(|e| sdk_error("iam:TagRole", e))?;
    }
    if !changes.removed.is_empty() {
        iam.untag_role()
            .role_name(name)
            .set_tag_keys(Some(changes.removed))
            .send()
            .await
            .map_err(|e| sdk_error("iam:UntagRole", e))?;
    }
    Ok(())
}

/// IAM refuses to delete a role that still has policies or sits in an instance profile, so
/// those go first.
async fn delete_role(iam: &Client, name: &str) -> KindResult<()> {
    let attached = attached_policies(iam, name).await?;
    sync_managed(iam, name, &attached, &[]).await?;
    for policy_name in inline_policy_names(iam, name).await? {
        delete_inline(iam, name, &policy_name).await?;
    }
    let profiles: Vec<_> = iam
        .list_instance_profiles_for_role()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("iam:ListInstanceProfilesForRole", e))?;
    for profile in profiles {
        iam.remove_role_from_instance_profile()
            .instance_profile_name(profile.instance_profile_name())
            .role_name(name)
            .send()
            .await
            .map_err(|e| sdk_error("iam:RemoveRoleFromInstanceProfile", e))?;
    }
    // IAM may still count a just-removed attachment for a moment.
    retry_while(&["DeleteConflict"], Backoff::CONSISTENCY, || async {
        iam.delete_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| sdk_error("iam:DeleteRole", e))?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spec_fits_schema() {
        crate::aws::common::testing::assert_spec_fits_schema::<Spec>(&SCHEMA);
    }

    fn eks_trust() -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    }

    #[test]
    fn an_equal_trust_policy_in_another_form_needs_no_call() {
        let from_iam = "%7B%22Statement%22%3A%5B%7B%22Action%22%3A%5B%22sts%3AAssumeRole%22%5D%2C%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%5B%22eks.amazonaws.com%22%5D%7D%7D%5D%2C%22Version%22%3A%222012-10-17%22%7D";
        assert!(!trust_changed(Some(from_iam), &eks_trust()).unwrap());
        let mut other = eks_trust();
        other["Statement"][0]["Principal"]["Service"] = json!("ec2.amazonaws.com");
        assert!(trust_changed(Some(from_iam), &other).unwrap());
        assert!(trust_changed(None, &eks_trust()).unwrap());
    }

    fn role(description: Option<&str>, max_session: i32) -> Role {
        Role::builder()
            .path("/")
            .role_name("r")
            .role_id("AROA1")
            .arn("arn:aws:iam::123456789012:role/r")
            .create_date(aws_sdk_iam::primitives::DateTime::from_secs(0))
            .set_description(description.map(str::to_string))
            .max_session_duration(max_session)
            .build()
            .unwrap()
    }

    fn spec(description: Option<&str>, max_session: i32) -> Spec {
        let attrs = json!({"name": "r", "assume_role_policy": eks_trust(),
            "description": description, "max_session_duration": max_session});
        parse_spec(&SCHEMA, attrs.as_object().unwrap()).unwrap()
    }

    #[test]
    fn observed_attrs_are_what_get_role_reports() {
        let mut described = role(Some(""), 3600);
        described.tags = Some(vec![
            aws_sdk_iam::types::Tag::builder()
                .key("Team")
                .value("platform")
                .build()
                .unwrap(),
            aws_sdk_iam::types::Tag::builder()
                .key("innovate:env")
                .value("prod")
                .build()
                .unwrap(),
        ]);
        assert_eq!(
            Value::Object(observed_attrs(&described)),
            json!({"name": "r", "path": "/", "description": null, "max_session_duration": 3600,
                "permissions_boundary": null, "tags": {"Team": "platform"}})
        );
    }

    #[test]
    fn update_role_only_when_description_or_session_differ() {
        assert!(!settings_changed(&role(None, 3600), &spec(None, 3600)));
        assert!(!settings_changed(&role(Some(""), 3600), &spec(None, 3600)));
        assert!(settings_changed(
            &role(None, 3600),
            &spec(Some("eks"), 3600)
        ));
        assert!(settings_changed(
            &role(Some("eks"), 3600),
            &spec(None, 3600)
        ));
        assert!(settings_changed(&role(None, 3600), &spec(None, 7200)));
    }

    #[test]
    fn managed_policies_attach_missing_and_detach_extra() {
        let arns = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let (attach, detach) = set_diff(&arns(&["a", "b"]), &arns(&["b", "c"]));
        assert_eq!((attach, detach), (arns(&["c"]), arns(&["a"])));
        let (attach, detach) = set_diff(&arns(&["a"]), &arns(&["a"]));
        assert!(attach.is_empty() && detach.is_empty());
    }

    #[test]
    fn inline_policies_put_changed_ones_and_delete_dropped_ones() {
        let doc = |action: &str| json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]});
        let current: BTreeMap<String, Value> = [
            ("same".to_string(), doc("s3:GetObject")),
            ("changed".to_string(), doc("s3:GetObject")),
            ("dropped".to_string(), doc("s3:GetObject")),
        ]
        .into();
        let mut same_as_list = doc("s3:GetObject");
        same_as_list["Statement"][0]["Action"] = json!(["s3:GetObject"]);
        let desired: BTreeMap<String, Value> = [
            ("same".to_string(), same_as_list),
            ("changed".to_string(), doc("s3:PutObject")),
            ("new".to_string(), doc("s3:ListBucket")),
        ]
        .into();
        let (put, deleted) = inline_diff(&current, &desired);
        let put_names: Vec<&str> = put.iter().map(|(name, _)| *name).collect();
        assert_eq!(put_names, vec!["changed", "new"]);
        assert_eq!(deleted, vec!["dropped".to_string()]);
    }
}
