//! `iam.role`: a role with its trust policy, attached managed policies and inline policies.
//! Updates reconcile against what IAM reports (not only against state), so a policy changed
//! outside innovate is put back; documents are compared by meaning, since IAM returns them
//! URL-encoded and reformatted.

mod policies;

use super::{get_each, policy, tags, unless_gone, NOT_FOUND};
use crate::aws::common::{ignore_gone, missing, observed, outputs, string_or_null};
use crate::aws::{aws_call, retry_while, sdk_error, AwsContext, Backoff, Cx};
use crate::kinds::retry_when;
use crate::kinds::wait::{until, Status};
use crate::kinds::{
    AttrType, Attrs, AwsItem, AwsKind, Change, KindError, KindResult, Live, Schema, StepCx,
    Tagging, Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_iam::types::Role;
use aws_sdk_iam::Client;
use policies::{attached_policies, inline_policies, sync_inline, sync_managed};
use serde_json::Value;
use std::collections::BTreeMap;

crate::spec! {
    pub(super) struct Spec with tags {
        name: String = required(AttrType::String).force_new(),
        path: String = optional(AttrType::String).default("\"/\"").force_new(),
        description: Option<String> = optional(AttrType::String),
        assume_role_policy: Value = required(AttrType::Json),
        managed_policy_arns: Vec<String> = optional(AttrType::List(&AttrType::String))
            .default("[]")
            .unordered(),
        /// Policy name -> policy document.
        inline_policies: Value = optional(AttrType::Json).default("{}"),
        /// IAM's bounds: one to twelve hours.
        max_session_duration: i32 = optional(AttrType::Int).default("3600").range(3600, 43200),
        permissions_boundary: Option<String> = optional(AttrType::String),
    }
}

const SCHEMA: Schema =
    Schema::new("iam.role", Tier::Identity, Spec::ATTRS).outputs(&["arn", "unique_id"]);

/// The policy documents of a spec, parsed.
struct Documents {
    trust: Value,
    inline: BTreeMap<String, Value>,
}

fn documents(spec: &Spec) -> KindResult<Documents> {
    let local = |message| KindError::local(SCHEMA.name, message);
    let trust = policy::document("assume_role_policy", &spec.assume_role_policy).map_err(local)?;
    let inline = policy::documents("inline_policies", &spec.inline_policies).map_err(local)?;
    Ok(Documents { trust, inline })
}

#[async_trait]
impl AwsItem for Role {
    type Client = AwsContext;
    const DESCRIBE: &'static str = "iam:GetRole";
    const NOT_FOUND: &'static [&'static str] = &[NOT_FOUND];

    async fn describe(aws: &AwsContext, names: &[String]) -> KindResult<Vec<Role>> {
        let iam = aws.iam().await;
        get_each(names.iter().map(|name| get_role(iam, name)).collect()).await
    }

    fn tags(&self) -> Option<Tags> {
        Some(tags::to_map(Role::tags(self)))
    }

    async fn tagging(&self, aws: &AwsContext, id: &str) -> KindResult<Option<Tagging>> {
        let api = tags::Roles(aws.iam().await.clone());
        Ok(Some(Tagging::new(api, id)))
    }
}

pub(super) struct RoleKind;

#[async_trait]
impl AwsKind for RoleKind {
    type Spec = Spec;
    type Item = Role;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        let docs = documents(spec)?;
        let iam = cx.aws.iam().await;
        let sdk_tags = tags::at_creation("iam:CreateRole", tags)?;
        let created = retry_when(principal_not_ready, Backoff::CONSISTENCY, || async {
            let request = iam
                .create_role()
                .role_name(&spec.name)
                .path(&spec.path)
                .set_description(spec.description.clone())
                .assume_role_policy_document(policy::render(&docs.trust))
                .max_session_duration(spec.max_session_duration)
                .set_permissions_boundary(spec.permissions_boundary.clone())
                .set_tags(sdk_tags.clone());
            aws_call("iam:CreateRole", request.send()).await
        })
        .await?;
        let role = created
            .role()
            .ok_or_else(|| missing("iam:CreateRole", "Role"))?;
        let name = role.role_name();
        sync_managed(iam, name, &[], &spec.managed_policy_arns).await?;
        sync_inline(iam, name, &BTreeMap::new(), &docs.inline).await?;
        wait_for_arn(cx, iam, name).await?;
        Ok(name.to_string())
    }

    fn natural_id(&self, spec: &Spec) -> Option<String> {
        Some(spec.name.clone())
    }

    fn conflict_codes(&self) -> &'static [&'static str] {
        &["EntityAlreadyExists"]
    }

    // IAM has no call that lists roles with their tags (ListRoles leaves tags out): listing
    // by tag would take a GetRole per role in the account, so roles are not listed.

    fn live(&self, _: &AwsContext, role: &Role) -> Option<Live> {
        Some(to_live(role))
    }

    /// Reconciles against what IAM holds (not only against state), so a policy changed
    /// outside innovate is put back.
    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        let (spec, role) = (change.desired, change.current);
        let docs = documents(spec)?;
        let iam = cx.aws.iam().await;
        let name = change.id();
        if trust_changed(role.assume_role_policy_document(), &docs.trust)? {
            let trust = policy::render(&docs.trust);
            retry_when(principal_not_ready, Backoff::CONSISTENCY, || async {
                let request = iam.update_assume_role_policy().role_name(name);
                let sent = request.policy_document(&trust).send().await.map(drop);
                sent.map_err(|e| sdk_error("iam:UpdateAssumeRolePolicy", e))
            })
            .await?;
        }
        if settings_changed(role, spec) {
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
        sync_inline(iam, name, &inline, &docs.inline).await
    }

    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        delete_role(cx.aws.iam().await, &live.id).await
    }
}

fn to_live(role: &Role) -> Live {
    Live::observed(
        role.role_name().to_string(),
        outputs([
            ("arn", Some(role.arn().to_string())),
            ("unique_id", Some(role.role_id().to_string())),
        ]),
        observed_attrs(role),
    )
}

/// The blueprint attributes GetRole reports (the layer adds `tags`). Left out: the managed
/// and inline policies (more calls per role: ListAttachedRolePolicies, ListRolePolicies and
/// a GetRolePolicy per policy) and `assume_role_policy` (IAM keeps a document of its own
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
    ])
}

/// The role, or `None` when IAM does not know it.
/// Right after CreateRole, GetRole may give the role's unique id (`AROA...`) as its ARN for
/// a moment; dependents take the `arn` output from the read that follows the create, so the
/// create waits until IAM gives the real one (terraform-provider-aws's
/// `waitRoleARNIsNotUniqueID`).
async fn wait_for_arn(cx: &StepCx, iam: &Client, name: &str) -> KindResult<()> {
    until(
        cx,
        "iam:GetRole",
        "its ARN",
        Backoff::CONSISTENCY,
        || async {
            Ok(match get_role(iam, name).await? {
                Some(role) if role.arn().starts_with("arn:") => Status::Ready(()),
                Some(_) => Status::Pending("known by its unique id only".into()),
                None => Status::Pending("not visible yet".into()),
            })
        },
    )
    .await
}

async fn get_role(iam: &Client, name: &str) -> KindResult<Option<Role>> {
    let answer = iam.get_role().role_name(name).send().await;
    let answer = unless_gone(answer.map_err(|e| sdk_error("iam:GetRole", e)))?;
    Ok(answer.and_then(|found| found.role))
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
            let request = iam
                .put_role_permissions_boundary()
                .role_name(name)
                .permissions_boundary(arn);
            aws_call("iam:PutRolePermissionsBoundary", request.send()).await?;
            Ok(())
        }
        None => {
            let request = iam.delete_role_permissions_boundary().role_name(name);
            aws_call("iam:DeleteRolePermissionsBoundary", request.send()).await?;
            Ok(())
        }
    }
}

/// IAM refuses to delete a role that still has policies or sits in an instance profile, so
/// those go first.
/// IAM refuses a trust policy naming a principal created seconds ago (the OIDC provider
/// behind an IRSA role, a role another role trusts) with MalformedPolicyDocument "Invalid
/// principal in policy" until the principal has propagated, as terraform-provider-aws's
/// role create retries.
fn principal_not_ready(err: &KindError) -> bool {
    err.code.as_deref() == Some("MalformedPolicyDocument")
        && err.message.contains("Invalid principal in policy")
}

async fn delete_role(iam: &Client, name: &str) -> KindResult<()> {
    policies::remove_all(iam, name).await?;
    let profiles: Vec<_> = iam
        .list_instance_profiles_for_role()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("iam:ListInstanceProfilesForRole", e))?;
    // A profile deleted meanwhile answers NoSuchEntity: the role is out of it already.
    for profile in profiles {
        let request = iam.remove_role_from_instance_profile().role_name(name);
        let request = request.instance_profile_name(profile.instance_profile_name());
        let sent = request.send().await.map(drop);
        let call = "iam:RemoveRoleFromInstanceProfile";
        ignore_gone(sent.map_err(|e| sdk_error(call, e)), &[NOT_FOUND])?;
    }
    // IAM may still count a just-removed attachment for a moment.
    retry_while(&["DeleteConflict"], Backoff::CONSISTENCY, || async {
        aws_call("iam:DeleteRole", iam.delete_role().role_name(name).send()).await?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::kinds::parse_spec;

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
                "permissions_boundary": null})
        );
        let carried = crate::kinds::tag_map(&[("Team", "platform"), ("innovate:env", "prod")]);
        assert_eq!(
            AwsItem::tags(&described),
            Some(carried),
            "the layer splits them"
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
}
