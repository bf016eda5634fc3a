//! Creating a DB instance: a primary (CreateDBInstance) or a read replica of one
//! (CreateDBInstanceReadReplica). Neither request ever carries a password.

use super::delete::check_final_snapshot;
use super::{busy_backoff, tags, Spec, BUSY, DEFAULT_TIMEOUT, SCHEMA};
use crate::aws::common::missing;
use crate::aws::{retry_while, sdk_error};
use crate::kinds::{KindError, KindResult, StepCx, Tags};
use aws_sdk_rds::operation::create_db_instance::builders::CreateDBInstanceFluentBuilder;
use aws_sdk_rds::operation::create_db_instance_read_replica::builders::CreateDBInstanceReadReplicaFluentBuilder;
use aws_sdk_rds::Client;

/// Sends CreateDBInstance; answers the new instance's identifier.
pub(super) async fn primary(rds: &Client, spec: &Spec, tags: &Tags) -> KindResult<String> {
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
pub(super) async fn replica(
    cx: &StepCx,
    rds: &Client,
    spec: &Spec,
    source: &str,
    tags: &Tags,
) -> KindResult<String> {
    let request = replica_request(rds.create_db_instance_read_replica(), spec, source, tags);
    let bound = cx.timeout_or(DEFAULT_TIMEOUT);
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
pub(super) fn refuse_password_management_off(spec: &Spec) -> KindResult<()> {
    if spec.manage_master_user_password {
        return Ok(());
    }
    Err(KindError::local(
        SCHEMA.name,
        "innovate never takes a master password: set `manage_master_user_password: true` \
         so that RDS keeps it in Secrets Manager",
    ))
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
        .set_availability_zone(spec.availability_zone.clone())
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
        .set_availability_zone(spec.availability_zone.clone())
        .deletion_protection(spec.deletion_protection)
        .copy_tags_to_snapshot(spec.copy_tags_to_snapshot)
        .publicly_accessible(spec.publicly_accessible)
        .set_vpc_security_group_ids(spec.vpc_security_group_ids.clone())
        .set_db_subnet_group_name(spec.db_subnet_group_name.clone())
        .set_db_parameter_group_name(spec.db_parameter_group_name.clone())
        .enable_performance_insights(spec.performance_insights_enabled)
        .set_tags(tags::at_creation(tags))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{base, offline_client, spec};
    use super::super::update::check_modification;
    use super::*;
    use serde_json::json;

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
        let mut in_zone = base();
        in_zone["availability_zone"] = json!("us-east-1b");
        let replica = replica_request(
            rds.create_db_instance_read_replica(),
            &spec(in_zone),
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
        assert_eq!(input.get_availability_zone().as_deref(), Some("us-east-1b"));
    }
}
