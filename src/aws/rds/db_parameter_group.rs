//! `rds.db_parameter_group`: engine parameters for DB instances (`rds.force_ssl: "1"`).
//!
//! Parameters are reconciled against the group's user-set parameters in AWS: changed and new
//! ones are modified, dropped ones reset to the engine default. Dynamic parameters apply
//! `immediate` (as in the console: no reboot needed); static ones `pending-reboot`, the only
//! method AWS accepts for them, as does any parameter whose type AWS did not report.

use super::{delete_group, describe_named, lower, natural_id, tags};
use crate::aws::common::{missing, observed, outputs, string_or_null};
use crate::aws::{aws_call, sdk_error, AwsContext, Cx};
use crate::kinds::{
    AttrType, Attrs, AwsItem, AwsKind, Change, KindResult, Live, Schema, Tagging, Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_rds::types::{ApplyMethod, DbParameterGroup, Parameter};
use aws_sdk_rds::Client;
use std::collections::{BTreeMap, HashMap};

crate::spec! {
    pub(super) struct Spec with tags {
        name: String = required(AttrType::String).force_new(),
        family: String = required(AttrType::String).force_new(),
        description: String = optional(AttrType::String)
            .default("\"Managed by innovate\"")
            .force_new(),
        parameters: BTreeMap<String, String> = optional(AttrType::StringMap).default("{}"),
    }
}

const SCHEMA: Schema =
    Schema::new("rds.db_parameter_group", Tier::Database, Spec::ATTRS).outputs(&["arn"]);

const NOT_FOUND: &str = "DBParameterGroupNotFound";

/// ModifyDBParameterGroup and ResetDBParameterGroup take at most 20 parameters a call.
const PARAMETERS_PER_CALL: usize = 20;

/// Parameters RDS refuses to change one without the other: each group goes in one call
/// (terraform-provider-aws's `parameterChunksForModify`, after CloudFormation's RDS handlers).
const CHANGED_TOGETHER: &[&[&str]] = &[
    &["collation_server", "character_set_server"],
    &["gtid-mode", "enforce_gtid_consistency"],
    &["password_encryption", "rds.accepted_password_auth_method"],
    &["ssl_max_protocol_version", "ssl_min_protocol_version"],
    &["rds.change_data_capture_streaming", "binlog_format"],
    &[
        "aurora_enhanced_binlog",
        "binlog_backup",
        "binlog_replication_globaldb",
    ],
];

/// Parameter name -> its ApplyType ("static" or "dynamic").
type ApplyTypes = HashMap<String, String>;

#[async_trait]
impl AwsItem for DbParameterGroup {
    type Client = AwsContext;
    const DESCRIBE: &'static str = "rds:DescribeDBParameterGroups";
    const NOT_FOUND: &'static [&'static str] = &[NOT_FOUND];

    async fn describe(aws: &AwsContext, names: &[String]) -> KindResult<Vec<DbParameterGroup>> {
        describe(aws.rds().await, &lower(names)).await
    }

    async fn tagging(&self, aws: &AwsContext, _id: &str) -> KindResult<Option<Tagging>> {
        Ok(Some(tags::by_arn(aws, group_arn(self)?).await))
    }
}

pub(super) struct DbParameterGroupKind;

#[async_trait]
impl AwsKind for DbParameterGroupKind {
    type Spec = Spec;
    type Item = DbParameterGroup;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        let rds = cx.aws.rds().await;
        let request = rds
            .create_db_parameter_group()
            .db_parameter_group_name(&spec.name)
            .db_parameter_group_family(&spec.family)
            .description(&spec.description)
            .set_tags(tags::at_creation(tags));
        let created = aws_call("rds:CreateDBParameterGroup", request.send()).await?;
        let name = created
            .db_parameter_group()
            .and_then(DbParameterGroup::db_parameter_group_name);
        let name =
            name.ok_or_else(|| missing("rds:CreateDBParameterGroup", "DBParameterGroupName"))?;
        let changes = parameter_changes(&BTreeMap::new(), &spec.parameters);
        apply(rds, name, &changes).await?;
        Ok(name.to_string())
    }

    fn natural_id(&self, spec: &Spec) -> Option<String> {
        natural_id(&spec.name)
    }

    fn conflict_codes(&self) -> &'static [&'static str] {
        &["DBParameterGroupAlreadyExists"]
    }

    // DescribeDBParameterGroups reports no tags: listing by tag would take a
    // ListTagsForResource per group, so groups are not listed.

    async fn identity_of(&self, aws: &AwsContext, live: &Live) -> KindResult<Tags> {
        tags::identity_of(aws.rds().await, live).await
    }

    fn live(&self, _: &AwsContext, group: &DbParameterGroup) -> Option<Live> {
        to_live(group)
    }

    /// Parameters are reconciled against what the group holds (the layer syncs the tags).
    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        let rds = cx.aws.rds().await;
        let current = user_parameters(rds, change.id()).await?;
        let changes = parameter_changes(&current, &change.desired.parameters);
        apply(rds, change.id(), &changes).await?;
        Ok(())
    }

    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let rds = cx.aws.rds().await;
        delete_group("InvalidDBParameterGroupState", || async {
            let request = rds
                .delete_db_parameter_group()
                .db_parameter_group_name(&live.id);
            aws_call("rds:DeleteDBParameterGroup", request.send()).await?;
            Ok(())
        })
        .await
    }
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
    Some(
        // DescribeDBParameterGroups has no tags: `identity_of` asks for them.
        Live::observed(
            group.db_parameter_group_name()?.to_string(),
            outputs([("arn", group.db_parameter_group_arn().map(str::to_string))]),
            observed_attrs(group),
        ),
    )
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
    for chunk in modify_calls(&changes.set) {
        let batch = chunk
            .into_iter()
            .map(|(param, value)| parameter(param, Some(value), &types));
        let request = rds
            .modify_db_parameter_group()
            .db_parameter_group_name(name)
            .set_parameters(Some(batch.collect()));
        aws_call("rds:ModifyDBParameterGroup", request.send()).await?;
    }
    for chunk in changes.reset.chunks(PARAMETERS_PER_CALL) {
        let batch = chunk.iter().map(|param| parameter(param, None, &types));
        let request = rds
            .reset_db_parameter_group()
            .db_parameter_group_name(name)
            .set_parameters(Some(batch.collect()));
        aws_call("rds:ResetDBParameterGroup", request.send()).await?;
    }
    Ok(())
}

/// `set` split into ModifyDBParameterGroup calls of at most [`PARAMETERS_PER_CALL`]: each
/// group of [`CHANGED_TOGETHER`] first, in a call of its own, then the rest.
fn modify_calls(set: &[(String, String)]) -> Vec<Vec<&(String, String)>> {
    let group_of = |name: &str| CHANGED_TOGETHER.iter().position(|g| g.contains(&name));
    let mut groups: Vec<Vec<&(String, String)>> = vec![Vec::new(); CHANGED_TOGETHER.len()];
    let mut rest = Vec::new();
    for change in set {
        match group_of(&change.0) {
            Some(group) => groups[group].push(change),
            None => rest.push(change),
        }
    }
    let chunked = rest.chunks(PARAMETERS_PER_CALL).map(<[_]>::to_vec);
    groups
        .into_iter()
        .filter(|g| !g.is_empty())
        .chain(chunked)
        .collect()
}

/// The ARN a described group carries: what RDS tags by.
fn group_arn(group: &DbParameterGroup) -> KindResult<&str> {
    group
        .db_parameter_group_arn()
        .ok_or_else(|| missing("rds:DescribeDBParameterGroups", "DBParameterGroupArn"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_changed_together_share_a_call_and_no_call_exceeds_twenty() {
        // 19 ordinary parameters sorting before the pair, so that in name order the pair
        // would straddle the 20th place.
        let mut set: Vec<(String, String)> = (0..19)
            .map(|i| (format!("a_param_{i:02}"), "1".to_string()))
            .collect();
        set.push(("ssl_max_protocol_version".into(), "TLSv1.3".into()));
        set.push(("ssl_min_protocol_version".into(), "TLSv1.2".into()));
        set.push(("work_mem".into(), "4096".into()));
        let calls = modify_calls(&set);
        let names = |call: &Vec<&(String, String)>| -> Vec<String> {
            call.iter().map(|(name, _)| name.clone()).collect()
        };
        assert_eq!(
            names(&calls[0]),
            ["ssl_max_protocol_version", "ssl_min_protocol_version"]
        );
        assert!(calls.iter().all(|call| call.len() <= PARAMETERS_PER_CALL));
        let sent: usize = calls.iter().map(Vec::len).sum();
        assert_eq!(sent, set.len(), "every parameter sent once");
    }

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
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
