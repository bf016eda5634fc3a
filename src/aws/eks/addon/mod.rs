//! `eks.addon`: an EKS add-on (vpc-cni, coredns, kube-proxy, eks-pod-identity-agent ...)
//! installed on a cluster. Its version, IRSA role and configuration change in place with
//! UpdateAddon, waited for by the update's id; creation and deletion are waited for too.

use super::{
    compound_id, not_found_as_such, one_of, ready_for_update, retry_iam_propagation, split_id,
    tags, wait_for_update, wait_on, waiting, EksItem, UpdateOf, IAM_PROPAGATION, NAME_TAKEN,
    NOT_FOUND,
};
use crate::aws::common::{ignore_gone, missing, observed, outputs, string_or_null};
use crate::aws::{aws_call, sdk_error, AwsContext, Cx};
use crate::kinds::{
    AttrType, Attrs, AwsKind, Change, KindResult, Live, Schema, Tags, Tier, Waiter,
};
use async_trait::async_trait;
use aws_sdk_eks::types::{Addon, AddonStatus, ResolveConflicts, Update};
use aws_sdk_eks::Client;
use std::time::Duration;

crate::spec! {
    pub(super) struct Spec with tags {
        cluster_name: String = required(AttrType::String).force_new(),
        name: String = required(AttrType::String).force_new(),
        version: Option<String> = optional(AttrType::String),
        service_account_role_arn: Option<String> = optional(AttrType::String),
        /// How a create or update treats settings changed outside EKS; no state of its own.
        resolve_conflicts: String = optional(AttrType::String)
            .default("\"OVERWRITE\"")
            .one_of(&["OVERWRITE", "NONE", "PRESERVE"]),
        /// JSON text, checked by AWS against the add-on's configuration schema.
        configuration_values: Option<String> = optional(AttrType::String),
    }
}

const SCHEMA: Schema = Schema::new("eks.addon", Tier::Compute, Spec::ATTRS).outputs(&["arn"]);

const DESCRIBE: &str = "eks:DescribeAddon";

/// Default bounds of the waits; the blueprint's `timeouts` override them.
const CREATE_WAIT: Duration = Duration::from_secs(20 * 60);
const UPDATE_WAIT: Duration = Duration::from_secs(20 * 60);
const DELETE_WAIT: Duration = Duration::from_secs(20 * 60);

/// A new (or adopted, still creating) add-on until ACTIVE. DEGRADED is still pending: on AWS
/// an add-on whose pods have no node to run on yet reports it while it is being created.
const ACTIVE: Waiter = Waiter::until(
    DESCRIBE,
    &["ACTIVE"],
    &["CREATE_FAILED", "UPDATE_FAILED", "DELETE_FAILED"],
    waiting(CREATE_WAIT),
);

const DELETED: Waiter = ACTIVE.gone(&["DELETE_FAILED"], waiting(DELETE_WAIT));

impl Spec {
    /// What AWS would reject only after minutes, caught before any change.
    fn check(&self) -> KindResult<()> {
        let value = &self.resolve_conflicts;
        one_of(SCHEMA.name, Spec::ATTRS, "resolve_conflicts", value)
    }

    fn resolve_conflicts(&self) -> ResolveConflicts {
        ResolveConflicts::from(self.resolve_conflicts.as_str())
    }
}

pub(super) struct AddonKind;

#[async_trait]
impl AwsKind for AddonKind {
    type Spec = Spec;
    type Item = Addon;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        spec.check()?;
        create_addon(cx.aws.eks().await, spec, tags).await?;
        let id = compound_id(&spec.cluster_name, &spec.name);
        wait_on::<Addon>(cx, cx.aws.eks().await, &ACTIVE, &id).await?;
        Ok(id)
    }

    // Not listable: listing by tag would take a ListAddons per cluster and a DescribeAddon
    // per add-on (only Describe reports tags), a call per resource.

    fn live(&self, _: &AwsContext, addon: &Addon) -> Option<Live> {
        to_live(addon)
    }

    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        let spec = change.desired;
        spec.check()?;
        // Compared with what AWS reports, not with state: drift gets corrected too.
        let eks = cx.aws.eks().await;
        let current = ready_for_update(cx, eks, &ACTIVE, change.current, change.id()).await?;
        let current = current.as_ref();
        let update = AddonUpdate::between(current, spec);
        if update.is_empty() {
            return Ok(());
        }
        let started = update.send(eks, spec).await?;
        let addon = UpdateOf::Addon(&spec.name);
        wait_for_update(cx, eks, &spec.cluster_name, &started, addon, UPDATE_WAIT).await
    }

    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let eks = cx.aws.eks().await;
        let (cluster, name) = split_id(SCHEMA.name, &live.id)?;
        let request = eks.delete_addon().cluster_name(cluster).addon_name(name);
        let deleted = request.send().await;
        let deleted = deleted
            .map(drop)
            .map_err(|e| not_found_as_such(sdk_error("eks:DeleteAddon", e)));
        ignore_gone(deleted, &[NOT_FOUND])?;
        wait_on::<Addon>(cx, cx.aws.eks().await, &DELETED, &live.id)
            .await
            .map(drop)
    }

    fn natural_id(&self, spec: &Spec) -> Option<String> {
        Some(compound_id(&spec.cluster_name, &spec.name))
    }

    fn conflict_codes(&self) -> &'static [&'static str] {
        NAME_TAKEN
    }
}

/// Creates the add-on under a fresh client token, so a retried call never makes a second one.
async fn create_addon(eks: &Client, spec: &Spec, tags: &Tags) -> KindResult<()> {
    // One token for every attempt: the retries while a fresh IRSA role propagates are the
    // same create, never a second add-on.
    let token = uuid::Uuid::new_v4().to_string();
    retry_iam_propagation(IAM_PROPAGATION, || async {
        let request = eks
            .create_addon()
            .cluster_name(&spec.cluster_name)
            .addon_name(&spec.name)
            .set_addon_version(spec.version.clone())
            .set_service_account_role_arn(spec.service_account_role_arn.clone())
            .resolve_conflicts(spec.resolve_conflicts())
            .set_configuration_values(spec.configuration_values.clone())
            .client_request_token(&token)
            .set_tags(tags::for_create(tags));
        aws_call("eks:CreateAddon", request.send()).await?;
        Ok(())
    })
    .await
}

/// What one UpdateAddon changes. AWS takes an empty string as "remove" for the role and the
/// configuration, so a removed attribute is sent as "".
#[derive(Debug, Default, PartialEq)]
struct AddonUpdate {
    version: Option<String>,
    service_account_role_arn: Option<String>,
    configuration_values: Option<String>,
}

impl AddonUpdate {
    fn between(current: &Addon, spec: &Spec) -> AddonUpdate {
        let version = spec
            .version
            .as_ref()
            .filter(|wanted| current.addon_version() != Some(wanted.as_str()));
        let role_now = current.service_account_role_arn().filter(|r| !r.is_empty());
        let role = spec.service_account_role_arn.as_deref();
        let config_now = current.configuration_values();
        let config = spec.configuration_values.as_deref();
        AddonUpdate {
            version: version.cloned(),
            service_account_role_arn: (role_now != role).then(|| role.unwrap_or("").to_string()),
            configuration_values: (!same_configuration(config_now, config))
                .then(|| config.unwrap_or("").to_string()),
        }
    }

    fn is_empty(&self) -> bool {
        *self == AddonUpdate::default()
    }

    /// Sends the update; AWS's answer is the update it started.
    async fn send(&self, eks: &Client, spec: &Spec) -> KindResult<Update> {
        let call = "eks:UpdateAddon";
        let request = eks
            .update_addon()
            .cluster_name(&spec.cluster_name)
            .addon_name(&spec.name)
            .set_addon_version(self.version.clone())
            .set_service_account_role_arn(self.service_account_role_arn.clone())
            .set_configuration_values(self.configuration_values.clone())
            .resolve_conflicts(spec.resolve_conflicts())
            .client_request_token(uuid::Uuid::new_v4().to_string());
        let sent = aws_call(call, request.send()).await?;
        sent.update.ok_or_else(|| missing(call, "update"))
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

#[async_trait]
impl EksItem for Addon {
    const DESCRIBE: &'static str = DESCRIBE;

    async fn describe(eks: &Client, id: &str) -> KindResult<Addon> {
        let (cluster, name) = split_id(SCHEMA.name, id)?;
        let request = eks.describe_addon().cluster_name(cluster).addon_name(name);
        let described = request.send().await;
        let described = described.map_err(|e| sdk_error(DESCRIBE, e))?;
        described.addon.ok_or_else(|| missing(DESCRIBE, "addon"))
    }

    eks_status!(AddonStatus, addon_arn);
}

fn to_live(addon: &Addon) -> Option<Live> {
    Some(Live::observed(
        compound_id(addon.cluster_name()?, addon.addon_name()?),
        outputs([("arn", addon.addon_arn().map(str::to_string))]),
        observed_attrs(addon),
    ))
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
    ])
}

#[cfg(test)]
mod tests;
