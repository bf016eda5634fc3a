//! `rds.db_instance`: an RDS DB instance (PostgreSQL for Innovate), or a read replica of one
//! when `replicate_source_db` is set.
//!
//! innovate never takes a password: the schema has no password attribute, and RDS keeps the
//! master password in Secrets Manager (`manage_master_user_password`). Only the secret's ARN
//! is an output. Creates and modifies wait until the instance is `available` (default
//! 60 minutes, the blueprint's `timeouts` win); calls RDS refuses while the instance is busy
//! (InvalidDBInstanceState) are retried within the same bound.

use super::{lower, tags};
use crate::aws::common::{
    carries_all, changed, ignore_gone, in_order, missing, observed, outputs, parse_spec,
    string_or_null, user_tags, value_or_default, with_tags, TAGS,
};
use crate::aws::wait::{self, Status};
use crate::aws::{retry_while, sdk_error, AwsContext, Backoff};
use crate::kinds::{
    identity_tags, Attr, AttrType, Attrs, KindError, KindResult, Live, Price, ResourceKind, Schema,
    StepCx, Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_rds::operation::create_db_instance::builders::CreateDBInstanceFluentBuilder;
use aws_sdk_rds::operation::create_db_instance_read_replica::builders::CreateDBInstanceReadReplicaFluentBuilder;
use aws_sdk_rds::operation::modify_db_instance::builders::ModifyDBInstanceFluentBuilder;
use aws_sdk_rds::types::{DbInstance, Filter, PendingModifiedValues};
use aws_sdk_rds::Client;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

static SCHEMA: Schema = Schema {
    name: "rds.db_instance",
    attrs: &[
        Attr::required("identifier", AttrType::String).force_new(),
        Attr::required("engine", AttrType::String).force_new(),
        Attr::optional("engine_version", AttrType::String),
        // Sent with a new engine_version; a major upgrade is refused without it.
        Attr::optional("allow_major_version_upgrade", AttrType::Bool).default("false"),
        Attr::required("instance_class", AttrType::String),
        Attr::optional("allocated_storage", AttrType::Int),
        Attr::optional("max_allocated_storage", AttrType::Int),
        Attr::optional("storage_type", AttrType::String).default("\"gp3\""),
        Attr::optional("iops", AttrType::Int),
        Attr::optional("storage_encrypted", AttrType::Bool)
            .default("true")
            .force_new(),
        Attr::optional("kms_key_id", AttrType::String).force_new(),
        Attr::optional("multi_az", AttrType::Bool).default("false"),
        Attr::optional("backup_retention_period", AttrType::Int).default("7"),
        Attr::optional("preferred_backup_window", AttrType::String),
        Attr::optional("preferred_maintenance_window", AttrType::String),
        Attr::optional("deletion_protection", AttrType::Bool).default("false"),
        Attr::optional("copy_tags_to_snapshot", AttrType::Bool).default("true"),
        Attr::optional("publicly_accessible", AttrType::Bool).default("false"),
        Attr::optional("vpc_security_group_ids", AttrType::List(&AttrType::String)).unordered(),
        Attr::optional("db_subnet_group_name", AttrType::String).force_new(),
        Attr::optional("db_parameter_group_name", AttrType::String),
        Attr::optional("performance_insights_enabled", AttrType::Bool).default("false"),
        Attr::optional("db_name", AttrType::String).force_new(),
        Attr::optional("master_username", AttrType::String)
            .default("\"postgres\"")
            .force_new(),
        Attr::optional("manage_master_user_password", AttrType::Bool).default("true"),
        // Read at delete time from what was last applied.
        Attr::optional("skip_final_snapshot", AttrType::Bool).default("false"),
        Attr::optional("final_snapshot_identifier", AttrType::String),
        Attr::optional("replicate_source_db", AttrType::String).force_new(),
        Attr::optional("apply_immediately", AttrType::Bool).default("true"),
        TAGS,
    ],
    outputs: &[
        "arn",
        "endpoint",
        "port",
        "resource_id",
        "master_user_secret_arn",
    ],
    taggable: true,
    tier: Tier::Database,
    price: Price::Model(crate::cost::models::db_instance),
};

const NOT_FOUND: &str = "DBInstanceNotFound";
/// RDS's answer while an instance is creating, modifying or backing up.
const BUSY: &str = "InvalidDBInstanceState";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// Statuses an instance does not leave by itself: waiting for `available` is pointless.
const STUCK: [&str; 7] = [
    "failed",
    "inaccessible-encryption-credentials",
    "incompatible-network",
    "incompatible-option-group",
    "incompatible-parameters",
    "incompatible-restore",
    "restore-error",
];

/// Attributes ModifyDBInstance changes in place, named as in the schema.
const UPDATABLE: [&str; 17] = [
    "engine_version",
    "instance_class",
    "allocated_storage",
    "max_allocated_storage",
    "storage_type",
    "iops",
    "multi_az",
    "backup_retention_period",
    "preferred_backup_window",
    "preferred_maintenance_window",
    "deletion_protection",
    "copy_tags_to_snapshot",
    "publicly_accessible",
    "vpc_security_group_ids",
    "db_parameter_group_name",
    "performance_insights_enabled",
    "manage_master_user_password",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    identifier: String,
    engine: String,
    engine_version: Option<String>,
    allow_major_version_upgrade: bool,
    instance_class: String,
    allocated_storage: Option<i32>,
    max_allocated_storage: Option<i32>,
    storage_type: String,
    iops: Option<i32>,
    storage_encrypted: bool,
    kms_key_id: Option<String>,
    multi_az: bool,
    backup_retention_period: i32,
    preferred_backup_window: Option<String>,
    preferred_maintenance_window: Option<String>,
    deletion_protection: bool,
    copy_tags_to_snapshot: bool,
    publicly_accessible: bool,
    vpc_security_group_ids: Option<Vec<String>>,
    db_subnet_group_name: Option<String>,
    db_parameter_group_name: Option<String>,
    performance_insights_enabled: bool,
    db_name: Option<String>,
    master_username: String,
    manage_master_user_password: bool,
    skip_final_snapshot: bool,
    final_snapshot_identifier: Option<String>,
    replicate_source_db: Option<String>,
    apply_immediately: bool,
}

pub(super) struct DbInstanceKind(pub(super) Arc<AwsContext>);

#[async_trait]
impl ResourceKind for DbInstanceKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        let rds = self.0.rds().await;
        let bound = cx.timeout_or(DEFAULT_TIMEOUT);
        let id = match &spec.replicate_source_db {
            Some(source) => create_replica(rds, &spec, source, tags, bound).await?,
            None => create_primary(rds, &spec, tags).await?,
        };
        let instance = wait_available(cx, rds, &id, false, bound).await?;
        to_live(&instance).ok_or_else(|| missing("rds:DescribeDBInstances", "DBInstanceIdentifier"))
    }

    fn natural_id(&self, desired: &Attrs) -> Option<String> {
        crate::aws::common::text_attr(desired, "identifier")
    }

    fn conflict_codes(&self) -> &'static [&'static str] {
        &["DBInstanceAlreadyExists"]
    }

    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        let ids = lower(ids);
        let instances = describe(self.0.rds().await, &ids).await?;
        Ok(in_order(
            &ids,
            instances.iter().filter_map(to_live).collect(),
        ))
    }

    /// DescribeDBInstances has no tag filter but reports each instance's tags: every
    /// instance of the account is listed, a page at a time, and checked here.
    async fn list_tagged(&self, tags: &Tags) -> KindResult<Option<Vec<Live>>> {
        let instances: Vec<DbInstance> = self
            .0
            .rds()
            .await
            .describe_db_instances()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("rds:DescribeDBInstances", e))?;
        let tagged = instances
            .iter()
            .filter(|instance| carries_all(&tags::to_map(instance.tag_list()), tags))
            .filter_map(to_live);
        Ok(Some(tagged.collect()))
    }

    async fn update(
        &self,
        cx: &StepCx,
        live: &Live,
        prior: &Attrs,
        desired: &Attrs,
        tags: &Tags,
    ) -> KindResult<Live> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        let rds = self.0.rds().await;
        let id = live.id.as_str();
        let bound = cx.timeout_or(DEFAULT_TIMEOUT);
        let current = describe_one(rds, id).await?.ok_or_else(|| gone(id))?;
        // One adopted mid-create is still `creating`, with no endpoint yet: wait for it to be
        // available, so what is recorded (and what dependents read) is complete.
        // (Other busy states are left to the retries of ModifyDBInstance below.)
        let current = match current.db_instance_status() {
            Some("creating") => wait_available(cx, rds, id, false, bound).await?,
            _ => current,
        };
        let fields = modified_fields(prior, desired);
        check_modification(&fields, &spec, current.engine_version())?;
        check_final_snapshot(&spec)?;
        let instance = if fields.is_empty() {
            current
        } else {
            let request = rds
                .modify_db_instance()
                .db_instance_identifier(id)
                .apply_immediately(spec.apply_immediately);
            let request = modify_request(request, &fields, &spec);
            retry_while(&[BUSY], busy_backoff(bound), || async {
                let answer = request.clone().send().await;
                answer.map_err(|e| sdk_error("rds:ModifyDBInstance", e))
            })
            .await?;
            // Changes deferred to the maintenance window stay pending: only wait for them
            // when they were asked to apply now.
            wait_available(cx, rds, id, spec.apply_immediately, bound).await?
        };
        let arn = instance
            .db_instance_arn()
            .ok_or_else(|| missing("rds:DescribeDBInstances", "DBInstanceArn"))?;
        tags::sync(rds, arn, tags).await?;
        let updated = to_live(&instance)
            .ok_or_else(|| missing("rds:DescribeDBInstances", "DBInstanceIdentifier"))?;
        Ok(with_tags(updated, tags))
    }

    fn delete_refusal(&self, prior: &Attrs) -> Option<String> {
        let protected = prior.get("deletion_protection") == Some(&Value::Bool(true));
        protected.then(|| {
            "protected by deletion_protection: true (set it to false and apply first to delete it)"
                .to_string()
        })
    }

    async fn delete(&self, cx: &StepCx, live: &Live, prior: &Attrs) -> KindResult<()> {
        let rds = self.0.rds().await;
        let id = live.id.as_str();
        let bound = cx.timeout_or(DEFAULT_TIMEOUT);
        let Some(current) = describe_one(rds, id).await? else {
            return Ok(());
        };
        if current.deletion_protection() == Some(true) {
            return Err(protected(id));
        }
        if current.db_instance_status() != Some("deleting") {
            let replica = current
                .read_replica_source_db_instance_identifier()
                .is_some();
            let snapshot = final_snapshot(prior, id, replica, unix_now());
            let deleted = retry_while(&[BUSY], busy_backoff(bound), || async {
                rds.delete_db_instance()
                    .db_instance_identifier(id)
                    .skip_final_snapshot(snapshot.is_none())
                    .set_final_db_snapshot_identifier(snapshot.clone())
                    .send()
                    .await
                    .map_err(|e| sdk_error("rds:DeleteDBInstance", e))?;
                Ok(())
            })
            .await;
            ignore_gone(deleted, &[NOT_FOUND])?;
        }
        wait_gone(cx, rds, id, bound).await
    }
}

fn gone(id: &str) -> KindError {
    KindError::new(
        "rds:DescribeDBInstances",
        Some(NOT_FOUND.into()),
        format!("DB instance {id} no longer exists"),
    )
}

fn protected(id: &str) -> KindError {
    KindError::local(
        "rds:DeleteDBInstance",
        format!(
            "DB instance {id} has deletion protection on; set `deletion_protection: false` \
             in the blueprint and apply it, then delete again"
        ),
    )
}

/// Sends CreateDBInstance; answers the new instance's identifier.
async fn create_primary(rds: &Client, spec: &Spec, tags: &Tags) -> KindResult<String> {
    refuse_password_management_off(spec)?;
    check_final_snapshot(spec)?;
    let created = primary_request(rds.create_db_instance(), spec, tags)
        .send()
        .await
        .map_err(|e| sdk_error("rds:CreateDBInstance", e))?;
    let id = created.db_instance.and_then(|i| i.db_instance_identifier);
    id.ok_or_else(|| missing("rds:CreateDBInstance", "DBInstanceIdentifier"))
}

/// Sends CreateDBInstanceReadReplica; answers the new replica's identifier.
async fn create_replica(
    rds: &Client,
    spec: &Spec,
    source: &str,
    tags: &Tags,
    bound: Duration,
) -> KindResult<String> {
    let request = replica_request(rds.create_db_instance_read_replica(), spec, source, tags);
    // The source refuses while it is busy (a backup right after its own creation).
    let created = retry_while(&[BUSY], busy_backoff(bound), || async {
        let answer = request.clone().send().await;
        answer.map_err(|e| sdk_error("rds:CreateDBInstanceReadReplica", e))
    })
    .await?;
    let id = created.db_instance.and_then(|i| i.db_instance_identifier);
    id.ok_or_else(|| missing("rds:CreateDBInstanceReadReplica", "DBInstanceIdentifier"))
}

/// Without a password attribute, a new primary instance needs RDS to manage its password.
fn refuse_password_management_off(spec: &Spec) -> KindResult<()> {
    if spec.manage_master_user_password {
        return Ok(());
    }
    Err(KindError::local(
        SCHEMA.name,
        "innovate never takes a master password: set `manage_master_user_password: true` \
         so that RDS keeps it in Secrets Manager",
    ))
}

/// A final snapshot name RDS would refuse fails the apply that sets it, not a later delete.
fn check_final_snapshot(spec: &Spec) -> KindResult<()> {
    let Some(name) = spec.final_snapshot_identifier.as_deref() else {
        return Ok(());
    };
    let valid = name.len() <= 255
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--");
    if valid || spec.skip_final_snapshot {
        return Ok(());
    }
    Err(KindError::local(
        SCHEMA.name,
        format!(
            "final_snapshot_identifier {name:?} is no valid snapshot name: up to 255 letters, \
             digits and single hyphens, starting with a letter and not ending with a hyphen"
        ),
    ))
}

/// Waits for retries of calls RDS refuses while the instance is busy, within `bound`.
fn busy_backoff(bound: Duration) -> Backoff {
    Backoff {
        first: Duration::from_secs(5),
        max_delay: Duration::from_secs(30),
        bound,
    }
}

/// Waits for a state (available, deleted) within `bound`: looks start a second apart and
/// stretch with the wait (`Backoff::pause_after`).
fn wait_backoff(bound: Duration) -> Backoff {
    Backoff {
        first: Duration::from_secs(1),
        max_delay: Duration::from_secs(30),
        bound,
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn primary_request(
    request: CreateDBInstanceFluentBuilder,
    spec: &Spec,
    tags: &Tags,
) -> CreateDBInstanceFluentBuilder {
    request
        .db_instance_identifier(&spec.identifier)
        .engine(&spec.engine)
        .set_engine_version(spec.engine_version.clone())
        .db_instance_class(&spec.instance_class)
        .set_allocated_storage(spec.allocated_storage)
        .set_max_allocated_storage(spec.max_allocated_storage)
        .storage_type(&spec.storage_type)
        .set_iops(spec.iops)
        .storage_encrypted(spec.storage_encrypted)
        .set_kms_key_id(spec.kms_key_id.clone())
        .multi_az(spec.multi_az)
        .backup_retention_period(spec.backup_retention_period)
        .set_preferred_backup_window(spec.preferred_backup_window.clone())
        .set_preferred_maintenance_window(spec.preferred_maintenance_window.clone())
        .deletion_protection(spec.deletion_protection)
        .copy_tags_to_snapshot(spec.copy_tags_to_snapshot)
        .publicly_accessible(spec.publicly_accessible)
        .set_vpc_security_group_ids(spec.vpc_security_group_ids.clone())
        .set_db_subnet_group_name(spec.db_subnet_group_name.clone())
        .set_db_parameter_group_name(spec.db_parameter_group_name.clone())
        .enable_performance_insights(spec.performance_insights_enabled)
        .set_db_name(spec.db_name.clone())
        .master_username(&spec.master_username)
        .manage_master_user_password(true)
        .set_tags(tags::at_creation(tags))
}

/// A replica inherits engine, version, storage encryption, database name, master user and
/// password from its source; backups and windows are the source's business too.
fn replica_request(
    request: CreateDBInstanceReadReplicaFluentBuilder,
    spec: &Spec,
    source: &str,
    tags: &Tags,
) -> CreateDBInstanceReadReplicaFluentBuilder {
    request
        .db_instance_identifier(&spec.identifier)
        .source_db_instance_identifier(source)
        .db_instance_class(&spec.instance_class)
        .set_allocated_storage(spec.allocated_storage)
        .set_max_allocated_storage(spec.max_allocated_storage)
        .storage_type(&spec.storage_type)
        .set_iops(spec.iops)
        // Only for a replica in another region than its source.
        .set_kms_key_id(spec.kms_key_id.clone())
        .multi_az(spec.multi_az)
        .deletion_protection(spec.deletion_protection)
        .copy_tags_to_snapshot(spec.copy_tags_to_snapshot)
        .publicly_accessible(spec.publicly_accessible)
        .set_vpc_security_group_ids(spec.vpc_security_group_ids.clone())
        .set_db_subnet_group_name(spec.db_subnet_group_name.clone())
        .set_db_parameter_group_name(spec.db_parameter_group_name.clone())
        .enable_performance_insights(spec.performance_insights_enabled)
        .set_tags(tags::at_creation(tags))
}

/// The updatable attributes that differ between what was applied and what is wanted.
fn modified_fields(prior: &Attrs, desired: &Attrs) -> Vec<&'static str> {
    UPDATABLE
        .into_iter()
        .filter(|name| changed(&SCHEMA, prior, desired, name))
        .collect()
}

/// Refuses modifications RDS would refuse or that need a decision innovate cannot make.
fn check_modification(
    fields: &[&str],
    spec: &Spec,
    current_version: Option<&str>,
) -> KindResult<()> {
    if fields.contains(&"manage_master_user_password") && !spec.manage_master_user_password {
        return Err(KindError::local(
            SCHEMA.name,
            "turning manage_master_user_password off needs a new master password, and \
             innovate never takes one; keep it true",
        ));
    }
    let upgrade = fields
        .contains(&"engine_version")
        .then_some(())
        .and(current_version.zip(spec.engine_version.as_deref()));
    if let Some((from, to)) = upgrade {
        let major = major_version(&spec.engine, from) != major_version(&spec.engine, to);
        if major && !spec.allow_major_version_upgrade {
            return Err(KindError::local(
                SCHEMA.name,
                format!(
                    "engine_version {from} -> {to} is a major version upgrade: set \
                     `allow_major_version_upgrade: true` to go ahead"
                ),
            ));
        }
    }
    Ok(())
}

/// The part of a version that names the major version: "16" of PostgreSQL 16.3 (10 and
/// later), "9.6" of 9.6.22, "8.0" of MySQL 8.0.35.
fn major_version<'a>(engine: &str, version: &'a str) -> Vec<&'a str> {
    let parts: Vec<&str> = version.split('.').collect();
    let single = engine.contains("postgres") && parts[0].parse::<u32>().is_ok_and(|n| n >= 10);
    parts.into_iter().take(if single { 1 } else { 2 }).collect()
}

/// ModifyDBInstance carrying exactly `fields`.
fn modify_request(
    mut request: ModifyDBInstanceFluentBuilder,
    fields: &[&str],
    spec: &Spec,
) -> ModifyDBInstanceFluentBuilder {
    for field in fields {
        request = match *field {
            "engine_version" => request
                .set_engine_version(spec.engine_version.clone())
                .allow_major_version_upgrade(spec.allow_major_version_upgrade),
            "instance_class" => request.db_instance_class(&spec.instance_class),
            "allocated_storage" => request.set_allocated_storage(spec.allocated_storage),
            "max_allocated_storage" => {
                request.set_max_allocated_storage(spec.max_allocated_storage)
            }
            "storage_type" => request.storage_type(&spec.storage_type),
            "iops" => request.set_iops(spec.iops),
            "multi_az" => request.multi_az(spec.multi_az),
            "backup_retention_period" => {
                request.backup_retention_period(spec.backup_retention_period)
            }
            "preferred_backup_window" => {
                request.set_preferred_backup_window(spec.preferred_backup_window.clone())
            }
            "preferred_maintenance_window" => {
                request.set_preferred_maintenance_window(spec.preferred_maintenance_window.clone())
            }
            "deletion_protection" => request.deletion_protection(spec.deletion_protection),
            "copy_tags_to_snapshot" => request.copy_tags_to_snapshot(spec.copy_tags_to_snapshot),
            "publicly_accessible" => request.publicly_accessible(spec.publicly_accessible),
            "vpc_security_group_ids" => {
                request.set_vpc_security_group_ids(spec.vpc_security_group_ids.clone())
            }
            "db_parameter_group_name" => {
                request.set_db_parameter_group_name(spec.db_parameter_group_name.clone())
            }
            "performance_insights_enabled" => {
                request.enable_performance_insights(spec.performance_insights_enabled)
            }
            "manage_master_user_password" => {
                request.manage_master_user_password(spec.manage_master_user_password)
            }
            // UPDATABLE lists exactly the names above (a test holds them together).
            _ => request,
        };
    }
    request
}

/// The final snapshot to take, from what was last applied: none when skipped, and none for
/// a read replica (RDS takes no final snapshot of one).
fn final_snapshot(prior: &Attrs, id: &str, replica: bool, now: u64) -> Option<String> {
    let applied = |name: &str| {
        SCHEMA
            .attr(name)
            .map_or(Value::Null, |attr| value_or_default(attr, prior))
    };
    if replica || applied("skip_final_snapshot") == Value::Bool(true) {
        return None;
    }
    let named = applied("final_snapshot_identifier")
        .as_str()
        .map(str::to_string);
    Some(named.unwrap_or_else(|| format!("{id}-final-{now}")))
}

/// One look at an instance while waiting for it to become available.
#[derive(Debug, PartialEq)]
enum Readiness {
    Ready,
    Pending(String),
    Stuck(String),
}

/// `changes_pending`: the instance still reports modifications it was asked to apply now
/// (right after ModifyDBInstance it may read `available` before it turns `modifying`).
fn readiness(status: Option<&str>, changes_pending: bool) -> Readiness {
    match status {
        Some("available") if changes_pending => {
            Readiness::Pending("available with changes pending".into())
        }
        Some("available") => Readiness::Ready,
        Some(status) if STUCK.contains(&status) => Readiness::Stuck(status.into()),
        Some(status) => Readiness::Pending(status.into()),
        None => Readiness::Pending("not visible yet".into()),
    }
}

fn has_pending_changes(instance: &DbInstance) -> bool {
    instance
        .pending_modified_values()
        .is_some_and(|pending| *pending != PendingModifiedValues::builder().build())
}

async fn wait_available(
    cx: &StepCx,
    rds: &Client,
    id: &str,
    require_applied: bool,
    bound: Duration,
) -> KindResult<DbInstance> {
    wait::until(
        cx,
        "rds:DescribeDBInstances",
        "available",
        wait_backoff(bound),
        || async move {
            let Some(instance) = describe_one(rds, id).await? else {
                return Ok(Status::Pending("not visible yet".into()));
            };
            let pending = require_applied && has_pending_changes(&instance);
            match readiness(instance.db_instance_status(), pending) {
                Readiness::Ready => Ok(Status::Ready(instance)),
                Readiness::Pending(state) => Ok(Status::Pending(state)),
                Readiness::Stuck(state) => Err(KindError::local(
                    "rds:DescribeDBInstances",
                    format!("DB instance {id} is {state} and will not become available by itself"),
                )),
            }
        },
    )
    .await
}

async fn wait_gone(cx: &StepCx, rds: &Client, id: &str, bound: Duration) -> KindResult<()> {
    wait::until(
        cx,
        "rds:DescribeDBInstances",
        "deletion",
        wait_backoff(bound),
        || async move {
            Ok(match describe_one(rds, id).await? {
                None => Status::Ready(()),
                Some(instance) => {
                    Status::Pending(instance.db_instance_status().unwrap_or("deleting").into())
                }
            })
        },
    )
    .await
}

/// All of `ids` in one paged call; the filter leaves out ids that no longer exist rather
/// than failing the call.
async fn describe(rds: &Client, ids: &[String]) -> KindResult<Vec<DbInstance>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let filter = Filter::builder()
        .name("db-instance-id")
        .set_values(Some(ids.to_vec()))
        .build();
    rds.describe_db_instances()
        .filters(filter)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("rds:DescribeDBInstances", e))
}

async fn describe_one(rds: &Client, id: &str) -> KindResult<Option<DbInstance>> {
    Ok(describe(rds, &[id.to_lowercase()]).await?.pop())
}

fn to_live(instance: &DbInstance) -> Option<Live> {
    let endpoint = instance.endpoint();
    let secret = instance.master_user_secret();
    let mut outputs = outputs([
        ("arn", instance.db_instance_arn().map(str::to_string)),
        (
            "endpoint",
            endpoint.and_then(|e| e.address()).map(str::to_string),
        ),
        (
            "resource_id",
            instance.dbi_resource_id().map(str::to_string),
        ),
        (
            "master_user_secret_arn",
            secret.and_then(|s| s.secret_arn()).map(str::to_string),
        ),
    ]);
    if let Some(port) = endpoint.and_then(|e| e.port()) {
        outputs.insert("port".into(), Value::from(port));
    }
    Some(Live {
        attrs: Some(observed_attrs(instance)),
        id: instance.db_instance_identifier()?.to_string(),
        outputs,
        identity: identity_tags(&tags::to_map(instance.tag_list())),
    })
}

/// The blueprint attributes DescribeDBInstances reports as the blueprint has them, with a
/// modification still pending (one not applied immediately) counted as made: it is what
/// the last apply asked for.
///
/// Left out: what RDS rewrites or changes by itself (`identifier` and
/// `db_subnet_group_name` in lower case, `kms_key_id` as an ARN, the maintenance window in
/// lower case, `engine_version` after automatic minor upgrades, `allocated_storage` while
/// storage autoscaling may grow it); replace-forcing values a read replica takes from its
/// source (`db_name`, `master_username`, `replicate_source_db` as id or ARN); lists whose
/// order the blueprint chooses (`vpc_security_group_ids`); and what only a call holds
/// (`apply_immediately`, `allow_major_version_upgrade`, the final snapshot settings). A
/// replica's backups and its password belong to its source, so they are left out for one.
fn observed_attrs(instance: &DbInstance) -> Attrs {
    let pending = instance.pending_modified_values();
    let int = |now: Option<i32>, later: Option<i32>| later.or(now).map_or(Value::Null, Value::from);
    let mut attrs = observed([
        ("engine", string_or_null(instance.engine())),
        (
            "instance_class",
            string_or_null(
                pending
                    .and_then(|p| p.db_instance_class())
                    .or(instance.db_instance_class()),
            ),
        ),
        (
            "max_allocated_storage",
            int(instance.max_allocated_storage(), None),
        ),
        (
            "storage_type",
            string_or_null(
                pending
                    .and_then(|p| p.storage_type())
                    .or(instance.storage_type()),
            ),
        ),
        ("iops", int(instance.iops(), pending.and_then(|p| p.iops()))),
        (
            "db_parameter_group_name",
            string_or_null(
                instance
                    .db_parameter_groups()
                    .first()
                    .and_then(|g| g.db_parameter_group_name()),
            ),
        ),
        ("tags", user_tags(&tags::to_map(instance.tag_list()))),
    ]);
    // A flag missing from the answer is unknown, not off: it is left out.
    let flags = [
        ("storage_encrypted", instance.storage_encrypted()),
        (
            "multi_az",
            pending.and_then(|p| p.multi_az()).or(instance.multi_az()),
        ),
        ("deletion_protection", instance.deletion_protection()),
        ("copy_tags_to_snapshot", instance.copy_tags_to_snapshot()),
        ("publicly_accessible", instance.publicly_accessible()),
        (
            "performance_insights_enabled",
            instance.performance_insights_enabled(),
        ),
    ];
    for (name, flag) in flags {
        if let Some(on) = flag {
            attrs.insert(name.into(), Value::Bool(on));
        }
    }
    if instance.max_allocated_storage().is_none() {
        let storage = int(
            instance.allocated_storage(),
            pending.and_then(|p| p.allocated_storage()),
        );
        attrs.insert("allocated_storage".into(), storage);
    }
    if instance
        .read_replica_source_db_instance_identifier()
        .is_none()
    {
        attrs.extend(observed([
            (
                "backup_retention_period",
                int(
                    instance.backup_retention_period(),
                    pending.and_then(|p| p.backup_retention_period()),
                ),
            ),
            (
                "preferred_backup_window",
                string_or_null(instance.preferred_backup_window()),
            ),
            (
                "manage_master_user_password",
                Value::Bool(instance.master_user_secret().is_some()),
            ),
        ]));
    }
    attrs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spec_fits_schema() {
        crate::aws::common::testing::assert_spec_fits_schema::<Spec>(&SCHEMA);
    }

    fn attrs(value: Value) -> Attrs {
        value.as_object().unwrap().clone()
    }

    fn base() -> Value {
        json!({"identifier": "db", "engine": "postgres", "instance_class": "db.t4g.micro",
            "engine_version": "15.5", "allocated_storage": 20})
    }

    fn spec(value: Value) -> Spec {
        parse_spec(&SCHEMA, &attrs(value)).unwrap()
    }

    fn offline_client() -> Client {
        let config = aws_sdk_rds::Config::builder()
            .behavior_version(aws_sdk_rds::config::BehaviorVersion::latest())
            .region(aws_sdk_rds::config::Region::new("us-east-1"))
            .build();
        Client::from_conf(config)
    }

    #[test]
    fn observed_attrs_count_pending_modifications_and_leave_replica_backups_out() {
        let pending = PendingModifiedValues::builder()
            .backup_retention_period(30)
            .db_instance_class("db.t4g.small")
            .build();
        let primary = DbInstance::builder()
            .db_instance_identifier("db")
            .engine("postgres")
            .db_instance_class("db.t4g.micro")
            .allocated_storage(20)
            .backup_retention_period(7)
            .pending_modified_values(pending)
            .master_user_secret(aws_sdk_rds::types::MasterUserSecret::builder().build())
            .tag_list(
                aws_sdk_rds::types::Tag::builder()
                    .key("Team")
                    .value("data")
                    .build(),
            )
            .tag_list(
                aws_sdk_rds::types::Tag::builder()
                    .key("innovate:env")
                    .value("prod")
                    .build(),
            )
            .build();
        let attrs = observed_attrs(&primary);
        assert_eq!(attrs["backup_retention_period"], json!(30));
        assert_eq!(attrs["instance_class"], json!("db.t4g.small"));
        assert_eq!(attrs["allocated_storage"], json!(20));
        assert_eq!(attrs["manage_master_user_password"], json!(true));
        assert_eq!(attrs["tags"], json!({"Team": "data"}));
        for name in attrs.keys() {
            let attr = SCHEMA.attr(name).unwrap();
            assert!(
                !attr.sensitive && !attr.force_new
                    || name == "storage_encrypted"
                    || name == "engine",
                "{name}"
            );
        }

        let replica = DbInstance::builder()
            .db_instance_identifier("db-replica")
            .read_replica_source_db_instance_identifier("db")
            .backup_retention_period(0)
            .max_allocated_storage(100)
            .allocated_storage(23)
            .build();
        let attrs = observed_attrs(&replica);
        assert!(!attrs.contains_key("backup_retention_period"));
        assert!(!attrs.contains_key("manage_master_user_password"));
        assert!(
            !attrs.contains_key("allocated_storage"),
            "autoscaling grows it"
        );
        assert_eq!(attrs["max_allocated_storage"], json!(100));
    }

    #[test]
    fn only_changed_updatable_fields_are_modified() {
        let prior = attrs(base());
        let mut desired = base();
        desired["backup_retention_period"] = json!(30);
        desired["deletion_protection"] = json!(false);
        desired["skip_final_snapshot"] = json!(true);
        desired["tags"] = json!({"Team": "data"});
        assert_eq!(
            modified_fields(&prior, &attrs(desired)),
            vec!["backup_retention_period"],
            "defaults count as unchanged; delete-time and tag attributes are no modification"
        );
    }

    #[test]
    fn every_updatable_field_reaches_the_request() {
        let rds = offline_client();
        let full = spec(json!({
            "identifier": "db", "engine": "postgres", "engine_version": "16.3",
            "instance_class": "db.m7g.large", "allocated_storage": 100,
            "max_allocated_storage": 500, "iops": 3000, "preferred_backup_window": "03:00-04:00",
            "preferred_maintenance_window": "sun:05:00-sun:06:00",
            "vpc_security_group_ids": ["sg-1"], "db_parameter_group_name": "pg"
        }));
        let empty = rds.modify_db_instance().db_instance_identifier("db");
        for field in UPDATABLE {
            let request = modify_request(empty.clone(), &[field], &full);
            assert_ne!(
                request.as_input(),
                empty.as_input(),
                "{field} is not sent by modify_request"
            );
        }
        let one = modify_request(empty.clone(), &["backup_retention_period"], &full);
        let input = one.as_input();
        assert_eq!(input.get_backup_retention_period(), &Some(7));
        assert_eq!(input.get_multi_az(), &None);
        assert_eq!(input.get_db_instance_class(), &None);
    }

    #[test]
    fn a_major_upgrade_needs_allow_major_version_upgrade() {
        let mut wanted = base();
        wanted["engine_version"] = json!("16.3");
        let err = check_modification(&["engine_version"], &spec(wanted.clone()), Some("15.5"))
            .unwrap_err();
        assert!(
            err.message.contains("allow_major_version_upgrade"),
            "{}",
            err.message
        );
        wanted["allow_major_version_upgrade"] = json!(true);
        assert!(check_modification(&["engine_version"], &spec(wanted), Some("15.5")).is_ok());
        let mut minor = base();
        minor["engine_version"] = json!("15.7");
        assert!(check_modification(&["engine_version"], &spec(minor), Some("15.5")).is_ok());
        let request = modify_request(
            offline_client().modify_db_instance(),
            &["engine_version"],
            &spec(base()),
        );
        assert_eq!(
            request.as_input().get_allow_major_version_upgrade(),
            &Some(false)
        );
    }

    #[test]
    fn major_versions_follow_each_engine_numbering() {
        assert_eq!(major_version("postgres", "16.3"), vec!["16"]);
        assert_eq!(major_version("postgres", "16"), vec!["16"]);
        assert_eq!(major_version("postgres", "9.6.22"), vec!["9", "6"]);
        assert_eq!(major_version("mysql", "8.0.35"), vec!["8", "0"]);
        assert_ne!(
            major_version("mysql", "8.0.35"),
            major_version("mysql", "8.4.3")
        );
    }

    #[test]
    fn password_management_is_never_turned_off() {
        let mut off = base();
        off["manage_master_user_password"] = json!(false);
        assert!(refuse_password_management_off(&spec(off.clone())).is_err());
        assert!(refuse_password_management_off(&spec(base())).is_ok());
        let err = check_modification(&["manage_master_user_password"], &spec(off), None);
        assert!(err.is_err());
    }

    #[test]
    fn create_requests_never_carry_a_password() {
        let rds = offline_client();
        let tags: Tags = [("innovate:address".to_string(), "db".to_string())].into();
        let primary = primary_request(rds.create_db_instance(), &spec(base()), &tags);
        let input = primary.as_input();
        assert_eq!(input.get_master_user_password(), &None);
        assert_eq!(input.get_manage_master_user_password(), &Some(true));
        assert_eq!(input.get_storage_encrypted(), &Some(true));
        assert_eq!(input.get_storage_type().as_deref(), Some("gp3"));
        assert_eq!(input.get_tags().as_ref().map(Vec::len), Some(1));
        let replica = replica_request(
            rds.create_db_instance_read_replica(),
            &spec(base()),
            "primary",
            &tags,
        );
        let input = replica.as_input();
        assert_eq!(
            input.get_source_db_instance_identifier().as_deref(),
            Some("primary")
        );
        assert_eq!(
            input.get_db_instance_class().as_deref(),
            Some("db.t4g.micro")
        );
    }

    #[test]
    fn final_snapshot_is_named_skipped_or_defaulted() {
        let now = 1_700_000_000;
        assert_eq!(
            final_snapshot(&attrs(base()), "db", false, now),
            Some("db-final-1700000000".into())
        );
        let mut named = base();
        named["final_snapshot_identifier"] = json!("db-last");
        assert_eq!(
            final_snapshot(&attrs(named), "db", false, now),
            Some("db-last".into())
        );
        let mut skipped = base();
        skipped["skip_final_snapshot"] = json!(true);
        assert_eq!(final_snapshot(&attrs(skipped), "db", false, now), None);
        assert_eq!(final_snapshot(&attrs(base()), "db", true, now), None);
    }

    #[test]
    fn final_snapshot_names_are_checked_unless_skipped() {
        let mut named = base();
        named["final_snapshot_identifier"] = json!("db-last-2024");
        assert!(check_final_snapshot(&spec(named.clone())).is_ok());
        for bad in ["1db", "db--last", "db-", "db_last"] {
            named["final_snapshot_identifier"] = json!(bad);
            assert!(check_final_snapshot(&spec(named.clone())).is_err(), "{bad}");
        }
        named["skip_final_snapshot"] = json!(true);
        assert!(check_final_snapshot(&spec(named)).is_ok());
    }

    #[test]
    fn readiness_waits_for_pending_changes_and_stops_on_stuck_states() {
        assert_eq!(readiness(Some("available"), false), Readiness::Ready);
        assert!(matches!(
            readiness(Some("available"), true),
            Readiness::Pending(_)
        ));
        assert_eq!(
            readiness(Some("modifying"), false),
            Readiness::Pending("modifying".into())
        );
        assert_eq!(
            readiness(Some("backing-up"), false),
            Readiness::Pending("backing-up".into())
        );
        assert_eq!(
            readiness(Some("incompatible-parameters"), false),
            Readiness::Stuck("incompatible-parameters".into())
        );
        assert!(matches!(readiness(None, false), Readiness::Pending(_)));
    }

    #[test]
    fn pending_changes_are_seen() {
        let idle = DbInstance::builder()
            .pending_modified_values(PendingModifiedValues::builder().build())
            .build();
        assert!(!has_pending_changes(&idle));
        assert!(!has_pending_changes(&DbInstance::builder().build()));
        let busy = DbInstance::builder()
            .pending_modified_values(PendingModifiedValues::builder().multi_az(true).build())
            .build();
        assert!(has_pending_changes(&busy));
    }

    #[test]
    fn outputs_hold_arns_and_endpoint_but_no_password() {
        let instance = DbInstance::builder()
            .db_instance_identifier("db")
            .db_instance_arn("arn:aws:rds:us-east-1:123456789012:db:db")
            .endpoint(
                aws_sdk_rds::types::Endpoint::builder()
                    .address("db.x.us-east-1.rds.amazonaws.com")
                    .port(5432)
                    .build(),
            )
            .master_user_secret(
                aws_sdk_rds::types::MasterUserSecret::builder()
                    .secret_arn("arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1")
                    .build(),
            )
            .build();
        let live = to_live(&instance).unwrap();
        assert_eq!(live.outputs["port"], json!(5432));
        assert_eq!(
            live.outputs["endpoint"],
            json!("db.x.us-east-1.rds.amazonaws.com")
        );
        assert!(live.outputs["master_user_secret_arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:secretsmanager:"));
        assert!(!Value::Object(live.outputs).to_string().contains("password"));
    }
}
