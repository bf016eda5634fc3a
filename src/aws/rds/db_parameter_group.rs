//! `rds.db_parameter_group`: engine parameters for DB instances (`rds.force_ssl: "1"`).
//!
//! Parameters are reconciled against the group's user-set parameters in AWS: changed and new
//! ones are modified, dropped ones reset to the engine default. Dynamic parameters apply
//! `immediate` (as in the console: no reboot needed); static ones `pending-reboot`, the only
//! method AWS accepts for them, as does any parameter whose type AWS did not report.

use super::{describe_named, lower, tags};
use crate::aws::common::{
    ignore_gone, in_order, missing, observed, outputs, parse_spec, string_or_null, TAGS,
};
use crate::aws::{retry_while, sdk_error, AwsContext, Backoff};
use crate::kinds::{
    Attr, AttrType, Attrs, KindError, KindResult, Live, Price, ResourceKind, Schema, StepCx, Tags,
    Tier,
};
use async_trait::async_trait;
use aws_sdk_rds::types::{ApplyMethod, DbParameterGroup, Parameter};
use aws_sdk_rds::Client;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

static SCHEMA: Schema = Schema {
    name: "rds.db_parameter_group",
    attrs: &[
        Attr::required("name", AttrType::String).force_new(),
        Attr::required("family", AttrType::String).force_new(),
        Attr::optional("description", AttrType::String)
            .default("\"Managed by innovate\"")
            .force_new(),
        Attr::optional("parameters", AttrType::StringMap).default("{}"),
        TAGS,
    ],
    outputs: &["arn"],
    taggable: true,
    tier: Tier::Database,
    price: Price::Free,
};

const NOT_FOUND: &str = "DBParameterGroupNotFound";

/// ModifyDBParameterGroup and ResetDBParameterGroup take at most 20 parameters a call.
const PARAMETERS_PER_CALL: usize = 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    name: String,
    family: String,
    description: String,
    parameters: BTreeMap<String, String>,
}

/// Parameter name -> its ApplyType ("static" or "dynamic").
type ApplyTypes = HashMap<String, String>;

pub(super) struct DbParameterGroupKind(pub(super) Arc<AwsContext>);

#[async_trait]
impl ResourceKind for DbParameterGroupKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, _cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        let rds = self.0.rds().await;
        let created = rds
            .create_db_parameter_group()
            .db_parameter_group_name(&spec.name)
            .db_parameter_group_family(&spec.family)
            .description(&spec.description)
            .set_tags(tags::at_creation(tags))
            .send()
            .await
            .map_err(|e| sdk_error("rds:CreateDBParameterGroup", e))?;
        let live = created
            .db_parameter_group()
            .and_then(to_live)
            .ok_or_else(|| missing("rds:CreateDBParameterGroup", "DBParameterGroup"))?;
        let changes = parameter_changes(&BTreeMap::new(), &spec.parameters);
        apply(rds, &live.id, &changes).await?;
        Ok(live)
    }

    fn natural_id(&self, desired: &Attrs) -> Option<String> {
        crate::aws::common::text_attr(desired, "name")
    }

    fn conflict_codes(&self) -> &'static [&'static str] {
        &["DBParameterGroupAlreadyExists"]
    }

    async fn identity_of(&self, live: &Live) -> KindResult<Tags> {
        tags::identity_of(self.0.rds().await, live).await
    }

    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        let ids = lower(ids);
        let groups = describe(self.0.rds().await, &ids).await?;
        Ok(in_order(&ids, groups.iter().filter_map(to_live).collect()))
    }

    // DescribeDBParameterGroups reports no tags: listing by tag would take a
    // ListTagsForResource per group, so groups are not listed.

    async fn update(
        &self,
        _cx: &StepCx,
        live: &Live,
        _prior: &Attrs,
        desired: &Attrs,
        tags: &Tags,
    ) -> KindResult<Live> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        let rds = self.0.rds().await;
        let group = describe(rds, std::slice::from_ref(&live.id))
            .await?
            .pop()
            .ok_or_else(|| gone(&live.id))?;
        let current = user_parameters(rds, &live.id).await?;
        apply(
            rds,
            &live.id,
            &parameter_changes(&current, &spec.parameters),
        )
        .await?;
        let arn = group
            .db_parameter_group_arn()
            .ok_or_else(|| missing("rds:DescribeDBParameterGroups", "DBParameterGroupArn"))?;
        tags::sync(rds, arn, tags).await?;
        to_live(&group)
            .ok_or_else(|| missing("rds:DescribeDBParameterGroups", "DBParameterGroupName"))
    }

    async fn delete(&self, _cx: &StepCx, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let rds = self.0.rds().await;
        let id = live.id.as_str();
        // A group stays in use while the DB instances using it are being deleted.
        let deleted = retry_while(
            &["InvalidDBParameterGroupState"],
            Backoff::DEPENDENCIES,
            || async move {
                rds.delete_db_parameter_group()
                    .db_parameter_group_name(id)
                    .send()
                    .await
                    .map_err(|e| sdk_error("rds:DeleteDBParameterGroup", e))?;
                Ok(())
            },
        )
        .await;
        ignore_gone(deleted, &[NOT_FOUND])
    }
}

fn gone(name: &str) -> KindError {
    KindError::new(
        "rds:DescribeDBParameterGroups",
        Some(NOT_FOUND.into()),
        format!("DB parameter group {name} no longer exists"),
    )
}

async fn describe(rds: &Client, names: &[String]) -> KindResult<Vec<DbParameterGroup>> {
    describe_named(names, NOT_FOUND, |name| async move {
        rds.describe_db_parameter_groups()
            .set_db_parameter_group_name(name)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("rds:DescribeDBParameterGroups", e))
    })
    .await
}

/// The blueprint attributes DescribeDBParameterGroups reports as the blueprint has them.
/// Left out: `name` (RDS keeps it in lower case; it cannot change anyway), `parameters` (a
/// DescribeDBParameters per group) and `tags` (a ListTagsForResource per group).
fn observed_attrs(group: &DbParameterGroup) -> Attrs {
    observed([
        ("family", string_or_null(group.db_parameter_group_family())),
        ("description", string_or_null(group.description())),
    ])
}

fn to_live(group: &DbParameterGroup) -> Option<Live> {
    Some(Live {
        attrs: Some(observed_attrs(group)),
        id: group.db_parameter_group_name()?.to_string(),
        outputs: outputs([("arn", group.db_parameter_group_arn().map(str::to_string))]),
        // DescribeDBParameterGroups has no tags: `identity_of` asks for them.
        identity: Tags::new(),
    })
}

/// The group's parameters of `source` ("user": set by someone; `None`: all of them).
async fn parameters(rds: &Client, name: &str, source: Option<&str>) -> KindResult<Vec<Parameter>> {
    rds.describe_db_parameters()
        .db_parameter_group_name(name)
        .set_source(source.map(str::to_string))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("rds:DescribeDBParameters", e))
}

/// Name -> value of what is set in the group, as opposed to engine defaults.
async fn user_parameters(rds: &Client, name: &str) -> KindResult<BTreeMap<String, String>> {
    let set = parameters(rds, name, Some("user")).await?;
    let pairs = set.iter().filter_map(|p| {
        Some((
            p.parameter_name()?.to_string(),
            p.parameter_value()?.to_string(),
        ))
    });
    Ok(pairs.collect())
}

async fn apply_types(rds: &Client, name: &str) -> KindResult<ApplyTypes> {
    let all = parameters(rds, name, None).await?;
    let pairs = all
        .iter()
        .filter_map(|p| Some((p.parameter_name()?.to_string(), p.apply_type()?.to_string())));
    Ok(pairs.collect())
}

/// What turns the group's user-set parameters into the wanted ones.
#[derive(Debug, Default, PartialEq)]
struct ParameterChanges {
    /// New parameters and parameters with a new value.
    set: Vec<(String, String)>,
    /// Parameters no longer wanted: back to the engine default.
    reset: Vec<String>,
}

impl ParameterChanges {
    fn is_empty(&self) -> bool {
        self.set.is_empty() && self.reset.is_empty()
    }
}

fn parameter_changes(
    current: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
) -> ParameterChanges {
    let set = desired
        .iter()
        .filter(|(name, value)| current.get(*name) != Some(value))
        .map(|(name, value)| (name.clone(), value.clone()));
    let reset = current.keys().filter(|name| !desired.contains_key(*name));
    ParameterChanges {
        set: set.collect(),
        reset: reset.cloned().collect(),
    }
}

/// `immediate` only where AWS says the parameter is dynamic; it refuses it for static ones.
fn apply_method(apply_type: Option<&str>) -> ApplyMethod {
    match apply_type {
        Some(kind) if kind.eq_ignore_ascii_case("dynamic") => ApplyMethod::Immediate,
        _ => ApplyMethod::PendingReboot,
    }
}

fn parameter(name: &str, value: Option<&str>, types: &ApplyTypes) -> Parameter {
    let method = apply_method(types.get(name).map(String::as_str));
    Parameter::builder()
        .parameter_name(name)
        .set_parameter_value(value.map(str::to_string))
        .apply_method(method)
        .build()
}

/// Sends `changes`, 20 parameters a call. Apply types are looked up only when needed.
async fn apply(rds: &Client, name: &str, changes: &ParameterChanges) -> KindResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let types = apply_types(rds, name).await?;
    for chunk in changes.set.chunks(PARAMETERS_PER_CALL) {
        let batch = chunk
            .iter()
            .map(|(param, value)| parameter(param, Some(value), &types));
        rds.modify_db_parameter_group()
            .db_parameter_group_name(name)
            .set_parameters(Some(batch.collect()))
            .send()
            .await
            .map_err(|e| sdk_error("rds:ModifyDBParameterGroup", e))?;
    }
    for chunk in changes.reset.chunks(PARAMETERS_PER_CALL) {
        let batch = chunk.iter().map(|param| parameter(param, None, &types));
        rds.reset_db_parameter_group()
            .db_parameter_group_name(name)
            .set_parameters(Some(batch.collect()))
            .send()
            .await
            .map_err(|e| sdk_error("rds:ResetDBParameterGroup", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn spec_fits_schema() {
        crate::aws::common::testing::assert_spec_fits_schema::<Spec>(&SCHEMA);
    }

    #[test]
    fn changed_and_new_parameters_are_set_and_dropped_ones_reset() {
        let current = params(&[("rds.force_ssl", "1"), ("work_mem", "4096"), ("gone", "x")]);
        let desired = params(&[("rds.force_ssl", "1"), ("work_mem", "8192"), ("new", "y")]);
        assert_eq!(
            parameter_changes(&current, &desired),
            ParameterChanges {
                set: vec![
                    ("new".into(), "y".into()),
                    ("work_mem".into(), "8192".into())
                ],
                reset: vec!["gone".into()],
            }
        );
        assert!(parameter_changes(&desired, &desired).is_empty());
    }

    #[test]
    fn only_dynamic_parameters_apply_immediately() {
        assert_eq!(apply_method(Some("dynamic")), ApplyMethod::Immediate);
        assert_eq!(apply_method(Some("static")), ApplyMethod::PendingReboot);
        assert_eq!(apply_method(None), ApplyMethod::PendingReboot);
        let types: ApplyTypes = [("work_mem".to_string(), "dynamic".to_string())].into();
        let reset = parameter("work_mem", None, &types);
        assert_eq!(reset.apply_method(), Some(&ApplyMethod::Immediate));
        assert_eq!(reset.parameter_value(), None);
        let set = parameter("shared_buffers", Some("1024"), &types);
        assert_eq!(set.apply_method(), Some(&ApplyMethod::PendingReboot));
        assert_eq!(set.parameter_value(), Some("1024"));
    }
}
