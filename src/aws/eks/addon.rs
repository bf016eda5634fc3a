//! `eks.addon`: an EKS add-on (vpc-cni, coredns, kube-proxy, eks-pod-identity-agent ...)
//! installed on a cluster. Its version, IRSA role and configuration change in place with
//! UpdateAddon; every change, like creation and deletion, is waited for.

use super::{
    compound_id, describe_issues, found, one_of, read_each, split_id, tags, wait_backoff, NOT_FOUND,
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
use aws_sdk_eks::types::{Addon, AddonStatus, ResolveConflicts};
use aws_sdk_eks::Client;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

static SCHEMA: Schema = Schema {
    name: "eks.addon",
    attrs: &[
        Attr::required("cluster_name", AttrType::String).force_new(),
        Attr::required("name", AttrType::String).force_new(),
        Attr::optional("version", AttrType::String),
        Attr::optional("service_account_role_arn", AttrType::String),
        // How a create or update treats settings changed outside EKS; no state of its own.
        Attr::optional("resolve_conflicts", AttrType::String).default("\"OVERWRITE\""),
        // JSON text, checked by AWS against the add-on's configuration schema.
        Attr::optional("configuration_values", AttrType::String),
        TAGS,
    ],
    outputs: &["arn"],
    taggable: true,
    tier: Tier::Compute,
    price: Price::Free,
};

/// Default bounds of the waits; the blueprint's `timeouts` override them.
const CREATE_WAIT: Duration = Duration::from_secs(20 * 60);
const UPDATE_WAIT: Duration = Duration::from_secs(20 * 60);
const DELETE_WAIT: Duration = Duration::from_secs(20 * 60);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    cluster_name: String,
    name: String,
    version: Option<String>,
    service_account_role_arn: Option<String>,
    resolve_conflicts: String,
    configuration_values: Option<String>,
}

impl Spec {
    fn parse(desired: &Attrs) -> KindResult<Spec> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        let allowed = ResolveConflicts::values();
        one_of(
            SCHEMA.name,
            "resolve_conflicts",
            &spec.resolve_conflicts,
            allowed,
        )?;
        Ok(spec)
    }

    fn resolve_conflicts(&self) -> ResolveConflicts {
        ResolveConflicts::from(self.resolve_conflicts.as_str())
    }
}

pub(super) struct AddonKind(pub(super) Arc<AwsContext>);

#[async_trait]
impl ResourceKind for AddonKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live> {
        let spec = Spec::parse(desired)?;
        let eks = self.0.eks().await;
        create_addon(eks, &spec, tags).await?;
        let (cluster, name) = (spec.cluster_name.as_str(), spec.name.as_str());
        let created = wait_active(cx, eks, cluster, name, "eks:CreateAddon", CREATE_WAIT);
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
                Some(addon) => to_live(&addon).map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    /// Listing by tag would take a ListAddons per cluster and a DescribeAddon per add-on
    /// (only Describe reports tags): a call per resource.
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
            Some(AddonStatus::Active) => current,
            _ => wait_active(cx, eks, cluster, name, "eks:DescribeAddon", UPDATE_WAIT).await?,
        };
        let change = Change::between(&current, &spec);
        if !change.is_empty() {
            change.send(eks, &spec).await?;
            wait_active(cx, eks, cluster, name, "eks:UpdateAddon", UPDATE_WAIT).await?;
        }
        let arn = current
            .addon_arn()
            .ok_or_else(|| missing("eks:DescribeAddon", "addonArn"))?;
        tags::sync(eks, arn, &tags::to_map(current.tags()), tags).await?;
        to_live(&describe(eks, cluster, name).await?)
    }

    async fn delete(&self, cx: &StepCx, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let eks = self.0.eks().await;
        let (cluster, name) = split_id(SCHEMA.name, &live.id)?;
        let deleted = eks
            .delete_addon()
            .cluster_name(cluster)
            .addon_name(name)
            .send()
            .await;
        let deleted = deleted
            .map(drop)
            .map_err(|e| sdk_error("eks:DeleteAddon", e));
        ignore_gone(deleted, &[NOT_FOUND])?;
        wait_gone(cx, eks, cluster, name).await
    }
}

/// Creates the add-on under a fresh client token, so a retried call never makes a second one.
async fn create_addon(eks: &Client, spec: &Spec, tags: &Tags) -> KindResult<()> {
    eks.create_addon()
        .cluster_name(&spec.cluster_name)
        .addon_name(&spec.name)
        .set_addon_version(spec.version.clone())
        .set_service_account_role_arn(spec.service_account_role_arn.clone())
        .resolve_conflicts(spec.resolve_conflicts())
        .set_configuration_values(spec.configuration_values.clone())
        .client_request_token(uuid::Uuid::new_v4().to_string())
        .set_tags(tags::for_create(tags))
        .send()
        .await
        .map_err(|e| sdk_error("eks:CreateAddon", e))?;
    Ok(())
}

/// What one UpdateAddon changes. AWS takes an empty string as "remove" for the role and the
/// configuration, so a removed attribute is sent as "".
#[derive(Debug, Default, PartialEq)]
struct Change {
    version: Option<String>,
    service_account_role_arn: Option<String>,
    configuration_values: Option<String>,
}

impl Change {
    fn between(current: &Addon, spec: &Spec) -> Change {
        let version = spec
            .version
            .as_ref()
            .filter(|wanted| current.addon_version() != Some(wanted.as_str()));
        let role_now = current.service_account_role_arn().filter(|r| !r.is_empty());
        let role = spec.service_account_role_arn.as_deref();
        let config_now = current.configuration_values();
        let config = spec.configuration_values.as_deref();
        Change {
            version: version.cloned(),
            service_account_role_arn: (role_now != role).then(|| role.unwrap_or("").to_string()),
            configuration_values: (!same_configuration(config_now, config))
                .then(|| config.unwrap_or("").to_string()),
        }
    }

    fn is_empty(&self) -> bool {
        *self == Change::default()
    }

    async fn send(&self, eks: &Client, spec: &Spec) -> KindResult<()> {
        eks.update_addon()
            .cluster_name(&spec.cluster_name)
            .addon_name(&spec.name)
            .set_addon_version(self.version.clone())
            .set_service_account_role_arn(self.service_account_role_arn.clone())
            .set_configuration_values(self.configuration_values.clone())
            .resolve_conflicts(spec.resolve_conflicts())
            .client_request_token(uuid::Uuid::new_v4().to_string())
            .send()
            .await
            .map_err(|e| sdk_error("eks:UpdateAddon", e))?;
        Ok(())
    }
}

/// Configuration values are JSON text: spacing and key order do not make them differ.
fn same_configuration(current: Option<&str>, desired: Option<&str>) -> bool {
    let current = current.filter(|c| !c.trim().is_empty());
    let desired = desired.filter(|d| !d.trim().is_empty());
    match (current, desired) {
        (Some(a), Some(b)) => {
            let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
            match (parse(a), parse(b)) {
                (Some(x), Some(y)) => x == y,
                _ => a == b,
            }
        }
        (a, b) => a == b,
    }
}

async fn describe(eks: &Client, cluster: &str, name: &str) -> KindResult<Addon> {
    let described = eks
        .describe_addon()
        .cluster_name(cluster)
        .addon_name(name)
        .send()
        .await;
    let described = described.map_err(|e| sdk_error("eks:DescribeAddon", e))?;
    described
        .addon
        .ok_or_else(|| missing("eks:DescribeAddon", "addon"))
}

/// Waits until the add-on is ACTIVE after `operation`; a failed or degraded one ends the
/// wait with AWS's health issues.
async fn wait_active(
    cx: &StepCx,
    eks: &Client,
    cluster: &str,
    name: &str,
    operation: &str,
    default: Duration,
) -> KindResult<Addon> {
    let backoff = wait_backoff(cx, default);
    wait::until(cx, "eks:DescribeAddon", "ACTIVE", backoff, || async {
        // Just created, AWS may not list it for a moment.
        let Some(addon) = found(describe(eks, cluster, name).await)? else {
            return Ok(Status::Pending("not visible yet".to_string()));
        };
        match addon.status() {
            Some(AddonStatus::Active) => Ok(Status::Ready(addon)),
            Some(
                status @ (AddonStatus::CreateFailed
                | AddonStatus::Degraded
                | AddonStatus::UpdateFailed
                | AddonStatus::DeleteFailed),
            ) => Err(failed(&addon, status, operation)),
            Some(status) => Ok(Status::Pending(status.as_str().to_string())),
            None => Ok(Status::Pending("in no status yet".to_string())),
        }
    })
    .await
}

async fn wait_gone(cx: &StepCx, eks: &Client, cluster: &str, name: &str) -> KindResult<()> {
    let backoff = wait_backoff(cx, DELETE_WAIT);
    wait::until(cx, "eks:DescribeAddon", "deleted", backoff, || async {
        let Some(addon) = found(describe(eks, cluster, name).await)? else {
            return Ok(Status::Ready(()));
        };
        match addon.status() {
            Some(status @ AddonStatus::DeleteFailed) => {
                Err(failed(&addon, status, "eks:DeleteAddon"))
            }
            status => Ok(Status::Pending(
                status
                    .map_or("in no status", AddonStatus::as_str)
                    .to_string(),
            )),
        }
    })
    .await
}

fn failed(addon: &Addon, status: &AddonStatus, operation: &str) -> KindError {
    let issues = addon.health().map(|h| h.issues()).unwrap_or(&[]);
    let issues = issues
        .iter()
        .map(|issue| (issue.code().map(|c| c.as_str()), issue.message()));
    let name = addon.addon_name().unwrap_or("the add-on");
    let message = format!("{name} {}", describe_issues(status.as_str(), issues));
    KindError::local(operation, message)
}

fn to_live(addon: &Addon) -> KindResult<Live> {
    let call = "eks:DescribeAddon";
    let cluster = addon
        .cluster_name()
        .ok_or_else(|| missing(call, "clusterName"))?;
    let name = addon
        .addon_name()
        .ok_or_else(|| missing(call, "addonName"))?;
    Ok(Live {
        attrs: Some(observed_attrs(addon)),
        id: compound_id(cluster, name),
        outputs: outputs([("arn", addon.addon_arn().map(str::to_string))]),
        identity: identity_tags(&tags::to_map(addon.tags())),
    })
}

/// The blueprint attributes DescribeAddon reports. Left out: `configuration_values` (JSON
/// text that AWS need not return as written; equal meaning is not equal text) and
/// `resolve_conflicts` (how a call treats conflicts, nothing AWS keeps).
fn observed_attrs(addon: &Addon) -> Attrs {
    observed([
        ("cluster_name", string_or_null(addon.cluster_name())),
        ("name", string_or_null(addon.addon_name())),
        ("version", string_or_null(addon.addon_version())),
        (
            "service_account_role_arn",
            string_or_null(addon.service_account_role_arn()),
        ),
        ("tags", user_tags(&tags::to_map(addon.tags()))),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_eks::types::{AddonHealth, AddonIssue, AddonIssueCode};
    use serde_json::json;

    #[test]
    fn spec_fits_schema() {
        crate::aws::common::testing::assert_spec_fits_schema::<Spec>(&SCHEMA);
    }

    fn spec(extra: serde_json::Value) -> Spec {
        let mut attrs = json!({"cluster_name": "prod", "name": "vpc-cni"});
        attrs
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Spec::parse(attrs.as_object().unwrap()).unwrap()
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
        assert!(Change::between(&current(), &wanted).is_empty());
        // No version in the blueprint: whatever AWS installed stays.
        let unpinned = spec(json!({"configuration_values": r#"{"b":2,"env":{"A":"1"}}"#}));
        assert!(Change::between(&current(), &unpinned).is_empty());
    }

    #[test]
    fn changed_fields_are_sent_and_removed_ones_as_empty_strings() {
        let wanted = spec(json!({
            "version": "v1.19.2-eksbuild.1",
            "service_account_role_arn": "arn:aws:iam::1:role/cni"
        }));
        assert_eq!(
            Change::between(&current(), &wanted),
            Change {
                version: Some("v1.19.2-eksbuild.1".into()),
                service_account_role_arn: Some("arn:aws:iam::1:role/cni".into()),
                configuration_values: Some(String::new()),
            }
        );
        let with_role = Addon::builder()
            .service_account_role_arn("arn:aws:iam::1:role/cni")
            .build();
        let change = Change::between(&with_role, &spec(json!({})));
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
        let attrs = json!({"cluster_name": "p", "name": "n", "resolve_conflicts": "FORCE"});
        let err = Spec::parse(attrs.as_object().unwrap()).unwrap_err();
        assert!(err.message.contains("OVERWRITE"), "{}", err.message);
        assert_eq!(
            spec(json!({})).resolve_conflicts(),
            ResolveConflicts::Overwrite
        );
    }

    #[test]
    fn ids_and_failures_name_the_add_on() {
        let addon = Addon::builder()
            .cluster_name("prod")
            .addon_name("coredns")
            .addon_arn("arn:aws:eks:us-east-1:1:addon/prod/coredns/u")
            .health(
                AddonHealth::builder()
                    .issues(
                        AddonIssue::builder()
                            .code(AddonIssueCode::InsufficientNumberOfReplicas)
                            .message("no nodes")
                            .build(),
                    )
                    .build(),
            )
            .build();
        assert_eq!(to_live(&addon).unwrap().id, "prod:coredns");
        let err = failed(&addon, &AddonStatus::Degraded, "eks:CreateAddon");
        assert_eq!(err.call, "eks:CreateAddon");
        assert!(
            err.message
                .contains("DEGRADED: InsufficientNumberOfReplicas: no nodes"),
            "{}",
            err.message
        );
    }
}
