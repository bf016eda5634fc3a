//! Changing a DB instance in place: one ModifyDBInstance carrying exactly the attributes
//! that changed, refused up front where RDS would refuse it or a decision is innovate's to
//! make, retried while the instance is busy, then waited for.

use super::delete::check_final_snapshot;
use super::wait::{self, APPLIED, AVAILABLE};
use super::{busy_backoff, DbInstanceKind, Spec, BUSY, DEFAULT_TIMEOUT, SCHEMA};
use crate::aws::common::changed;
use crate::aws::{retry_while, sdk_error};
use crate::kinds::{Attrs, Change, KindError, KindResult, StepCx};
use aws_sdk_rds::operation::modify_db_instance::builders::ModifyDBInstanceFluentBuilder;
use aws_sdk_rds::Client;

/// Attributes ModifyDBInstance changes in place, named as in the schema.
const UPDATABLE: [&str; 18] = [
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
    // Moves the instance to the group's subnets, even into another VPC, as ModifyDBInstance
    // allows.
    "db_subnet_group_name",
    "performance_insights_enabled",
    "manage_master_user_password",
];

/// Sends the modification `change` asks for and waits for it, when it asks to apply now.
pub(super) async fn modify(
    cx: &StepCx,
    rds: &Client,
    change: &Change<'_, DbInstanceKind>,
) -> KindResult<()> {
    let (id, spec) = (change.id(), change.desired);
    // One adopted mid-create is still `creating`, with no endpoint yet: wait for it to be
    // available, so what is recorded (and what dependents read) is complete.
    // (Other busy states are left to the retries of ModifyDBInstance below.)
    if change.current.db_instance_status() == Some("creating") {
        wait::available(cx, rds, id, &AVAILABLE, false).await?;
    }
    let fields = modified_fields(change.prior_attrs, change.desired_attrs);
    check_modification(&fields, spec, change.current.engine_version())?;
    check_final_snapshot(spec)?;
    if fields.is_empty() {
        return Ok(());
    }
    let request = rds
        .modify_db_instance()
        .db_instance_identifier(id)
        .apply_immediately(spec.apply_immediately);
    let request = modify_request(request, &fields, spec);
    let bound = cx.timeout_or(DEFAULT_TIMEOUT);
    retry_while(&[BUSY], busy_backoff(bound), || async {
        let answer = request.clone().send().await;
        answer.map_err(|e| sdk_error("rds:ModifyDBInstance", e))
    })
    .await?;
    // Changes deferred to the maintenance window stay pending: only wait for them when they
    // were asked to apply now.
    wait::available(cx, rds, id, &APPLIED, spec.apply_immediately).await?;
    Ok(())
}

/// The updatable attributes that differ between what was applied and what is wanted.
fn modified_fields(prior: &Attrs, desired: &Attrs) -> Vec<&'static str> {
    UPDATABLE
        .into_iter()
        .filter(|name| changed(&SCHEMA, prior, desired, name))
        .collect()
}

/// Refuses modifications RDS would refuse or that need a decision innovate cannot make.
pub(super) fn check_modification(
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
            "db_subnet_group_name" => {
                request.set_db_subnet_group_name(spec.db_subnet_group_name.clone())
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

#[cfg(test)]
mod tests {
    use super::super::testing::{attrs, base, offline_client, spec};
    use super::*;
    use serde_json::json;

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
            "vpc_security_group_ids": ["sg-1"], "db_parameter_group_name": "pg",
            "db_subnet_group_name": "data"
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
}
