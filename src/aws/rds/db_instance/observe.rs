//! What a read of a DB instance reports: its outputs and observed attributes.

use crate::aws::common::{observed, outputs, string_or_null};
use crate::kinds::{Attrs, Live};
use aws_sdk_rds::types::DbInstance;
use serde_json::Value;

pub(super) fn to_live(instance: &DbInstance) -> Option<Live> {
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
    Some(Live::observed(
        instance.db_instance_identifier()?.to_string(),
        outputs,
        observed_attrs(instance),
    ))
}

/// The blueprint attributes DescribeDBInstances reports as the blueprint has them (the
/// layer adds `tags`), with a
/// modification still pending (one not applied immediately) counted as made: it is what
/// the last apply asked for.
///
/// The subnet group and the maintenance window come back in lower case (their attributes
/// compare without case) and the security groups in AWS's order (compared as a set).
///
/// Left out: what RDS rewrites or changes by itself (`identifier` in lower case, a
/// force-new attribute a new instance is not worth for a case change; `kms_key_id` as an
/// ARN; `engine_version` after automatic minor upgrades, which cannot be undone;
/// `allocated_storage` while storage autoscaling may grow it, which cannot shrink);
/// replace-forcing values a read replica takes from its source (`db_name`,
/// `master_username`, `replicate_source_db` as id or ARN); and what only a call holds
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
            "db_subnet_group_name",
            string_or_null(
                pending.and_then(|p| p.db_subnet_group_name()).or(instance
                    .db_subnet_group()
                    .and_then(|g| g.db_subnet_group_name())),
            ),
        ),
        (
            "preferred_maintenance_window",
            string_or_null(instance.preferred_maintenance_window()),
        ),
        (
            "availability_zone",
            string_or_null(instance.availability_zone()),
        ),
        (
            "vpc_security_group_ids",
            Value::from(
                instance
                    .vpc_security_groups()
                    .iter()
                    .filter_map(|g| g.vpc_security_group_id())
                    .collect::<Vec<_>>(),
            ),
        ),
        (
            "db_parameter_group_name",
            string_or_null(
                instance
                    .db_parameter_groups()
                    .first()
                    .and_then(|g| g.db_parameter_group_name()),
            ),
        ),
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
    use super::super::{tags, SCHEMA};
    use super::*;

    use crate::kinds::AwsItem;
    use aws_sdk_rds::types::PendingModifiedValues;
    use serde_json::json;

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
        assert!(!attrs.contains_key("tags"), "the layer adds them");
        let carried = AwsItem::tags(&primary).unwrap();
        assert_eq!(tags::to_map(primary.tag_list()), carried);
        assert_eq!(carried.len(), 2, "the user's and innovate's");
        for name in attrs.keys() {
            let attr = SCHEMA.attr(name).unwrap();
            assert!(
                !attr.sensitive && !attr.force_new
                    || name == "storage_encrypted"
                    || name == "engine"
                    // Moves only through a new instance; a single-AZ instance never moves
                    // by itself (AWS refuses a zone for Multi-AZ ones).
                    || name == "availability_zone",
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
    fn rds_case_and_order_are_not_differences() {
        let attr = |name| SCHEMA.attr(name).unwrap();
        let window = attr("preferred_maintenance_window");
        assert!(window.same(&json!("Sun:05:00-Sun:06:00"), &json!("sun:05:00-sun:06:00")));
        assert!(!window.same(&json!("sun:05:00-sun:06:00"), &json!("mon:03:00-mon:04:00")));
        let group = attr("db_subnet_group_name");
        assert!(group.same(&json!("Prod-DB"), &json!("prod-db")));
        let groups = attr("vpc_security_group_ids");
        assert!(groups.same(&json!(["sg-1", "sg-2"]), &json!(["sg-2", "sg-1"])));
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
