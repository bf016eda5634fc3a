//! `rds.db_instance`: an RDS DB instance (PostgreSQL for Innovate), or a read replica of one
//! when `replicate_source_db` is set. Creating ([`create`]), changing ([`update`]), deleting
//! ([`delete`]) and waiting ([`wait`]) are a file each; [`observe`] is what a read reports.
//!
//! innovate never takes a password: the schema has no password attribute, and RDS keeps the
//! master password in Secrets Manager (`manage_master_user_password`). Only the secret's ARN
//! is an output. Creates and modifies wait until the instance is `available` (default
//! 60 minutes, the blueprint's `timeouts` win); calls RDS refuses while the instance is busy
//! (InvalidDBInstanceState) are retried within the same bound.

mod create;
mod delete;
mod observe;
mod update;
mod wait;

use super::{lower, natural_id, tags};
use crate::aws::common::missing;
use crate::aws::{sdk_error, AwsContext, Backoff, Cx};
use crate::kinds::{
    AttrType, Attrs, AwsItem, AwsKind, Change, KindResult, Live, Schema, Tagging, Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_rds::types::{DbInstance, Filter};
use aws_sdk_rds::Client;
use std::time::Duration;

/// The engines CreateDBInstance takes.
const ENGINES: &[&str] = &[
    "aurora-mysql",
    "aurora-postgresql",
    "custom-oracle-ee",
    "custom-oracle-ee-cdb",
    "custom-oracle-se2",
    "custom-oracle-se2-cdb",
    "custom-sqlserver-ee",
    "custom-sqlserver-se",
    "custom-sqlserver-web",
    "custom-sqlserver-dev",
    "db2-ae",
    "db2-se",
    "mariadb",
    "mysql",
    "oracle-ee",
    "oracle-ee-cdb",
    "oracle-se2",
    "oracle-se2-cdb",
    "postgres",
    "sqlserver-dev-ee",
    "sqlserver-ee",
    "sqlserver-se",
    "sqlserver-ex",
    "sqlserver-web",
];

crate::spec! {
    pub(super) struct Spec with tags {
        identifier: String = required(AttrType::String).force_new(),
        engine: String = required(AttrType::String).force_new().one_of(ENGINES),
        engine_version: Option<String> = optional(AttrType::String),
        /// Sent with a new engine_version; a major upgrade is refused without it.
        allow_major_version_upgrade: bool = optional(AttrType::Bool).default("false"),
        instance_class: String = required(AttrType::String),
        /// GiB: 20 is the gp2/gp3 minimum of most engines, 64 TiB the maximum.
        allocated_storage: Option<i32> = optional(AttrType::Int).range(20, 65536),
        /// The storage autoscaling ceiling: above allocated_storage's minimum.
        max_allocated_storage: Option<i32> = optional(AttrType::Int).range(21, 65536),
        storage_type: String = optional(AttrType::String)
            .default("\"gp3\"")
            .one_of(&["standard", "gp2", "gp3", "io1", "io2"]),
        iops: Option<i32> = optional(AttrType::Int),
        storage_encrypted: bool = optional(AttrType::Bool).default("true").force_new(),
        kms_key_id: Option<String> = optional(AttrType::String).force_new(),
        multi_az: bool = optional(AttrType::Bool).default("false"),
        /// Where a single-AZ instance (such as a read replica) runs; AWS refuses it for
        /// Multi-AZ. It moves only through a new instance.
        availability_zone: Option<String> = optional(AttrType::String).force_new(),
        /// Days; 0 turns automated backups off.
        backup_retention_period: i32 = optional(AttrType::Int).default("7").range(0, 35),
        preferred_backup_window: Option<String> = optional(AttrType::String),
        preferred_maintenance_window: Option<String> = optional(AttrType::String).ignore_case(),
        deletion_protection: bool = optional(AttrType::Bool).default("false"),
        copy_tags_to_snapshot: bool = optional(AttrType::Bool).default("true"),
        publicly_accessible: bool = optional(AttrType::Bool).default("false"),
        vpc_security_group_ids: Option<Vec<String>> =
            optional(AttrType::List(&AttrType::String)).unordered(),
        db_subnet_group_name: Option<String> = optional(AttrType::String).ignore_case(),
        db_parameter_group_name: Option<String> = optional(AttrType::String),
        performance_insights_enabled: bool = optional(AttrType::Bool).default("false"),
        db_name: Option<String> = optional(AttrType::String).force_new(),
        master_username: String = optional(AttrType::String)
            .default("\"postgres\"")
            .force_new(),
        manage_master_user_password: bool = optional(AttrType::Bool).default("true"),
        /// Read at delete time from what was last applied.
        skip_final_snapshot: bool = optional(AttrType::Bool).default("false"),
        final_snapshot_identifier: Option<String> = optional(AttrType::String),
        replicate_source_db: Option<String> = optional(AttrType::String).force_new(),
        apply_immediately: bool = optional(AttrType::Bool).default("true"),
    }
}

const SCHEMA: Schema = Schema::new("rds.db_instance", Tier::Database, Spec::ATTRS)
    .outputs(&[
        "arn",
        "endpoint",
        "port",
        "resource_id",
        "master_user_secret_arn",
    ])
    .priced(crate::cost::models::db_instance);

const DESCRIBE: &str = "rds:DescribeDBInstances";
const NOT_FOUND: &str = "DBInstanceNotFound";
/// RDS's answer while an instance is creating, modifying or backing up.
const BUSY: &str = "InvalidDBInstanceState";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60 * 60);

#[async_trait]
impl AwsItem for DbInstance {
    type Client = AwsContext;
    const DESCRIBE: &'static str = DESCRIBE;
    const NOT_FOUND: &'static [&'static str] = &[NOT_FOUND];

    async fn describe(aws: &AwsContext, ids: &[String]) -> KindResult<Vec<DbInstance>> {
        describe(aws.rds().await, &lower(ids)).await
    }

    /// DescribeDBInstances has no tag filter but reports each instance's tags: every
    /// instance of the account is listed, a page at a time, and the layer checks the tags.
    async fn list(aws: &AwsContext, _tags: &Tags) -> KindResult<Option<Vec<DbInstance>>> {
        let pages = aws.rds().await.describe_db_instances().into_paginator();
        let listed = pages.items().send().try_collect().await;
        Ok(Some(listed.map_err(|e| sdk_error(DESCRIBE, e))?))
    }

    fn tags(&self) -> Option<Tags> {
        Some(tags::to_map(self.tag_list()))
    }

    async fn tagging(&self, aws: &AwsContext, _id: &str) -> KindResult<Option<Tagging>> {
        Ok(Some(tags::by_arn(aws, arn_of(self)?).await))
    }
}

pub(super) struct DbInstanceKind;

#[async_trait]
impl AwsKind for DbInstanceKind {
    type Spec = Spec;
    type Item = DbInstance;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        let rds = cx.aws.rds().await;
        let id = match &spec.replicate_source_db {
            Some(source) => create::replica(cx, rds, spec, source, tags).await?,
            None => create::primary(rds, spec, tags).await?,
        };
        wait::available(cx, rds, &id, &wait::AVAILABLE, false).await?;
        Ok(id)
    }

    fn natural_id(&self, spec: &Spec) -> Option<String> {
        natural_id(&spec.identifier)
    }

    fn conflict_codes(&self) -> &'static [&'static str] {
        &["DBInstanceAlreadyExists"]
    }

    fn live(&self, _: &AwsContext, instance: &DbInstance) -> Option<Live> {
        observe::to_live(instance)
    }

    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        update::modify(cx, cx.aws.rds().await, change).await
    }

    fn delete_refusal(&self, prior: &Attrs) -> Option<String> {
        delete::refusal(prior)
    }

    async fn delete(&self, cx: &Cx<'_>, live: &Live, prior: &Attrs) -> KindResult<()> {
        delete::delete(cx, cx.aws.rds().await, &live.id, prior).await
    }
}

/// Waits for retries of calls RDS refuses while the instance is busy, within `bound`.
fn busy_backoff(bound: Duration) -> Backoff {
    Backoff {
        first: Duration::from_secs(5),
        max_delay: Duration::from_secs(30),
        bound,
    }
}

/// How many ids one DescribeDBInstances filter carries. AWS documents no limit for RDS
/// filter values; EC2's is 200, so RDS gets a conservative 100.
const IDS_PER_CALL: usize = 100;

/// `ids` in one paged call per [`IDS_PER_CALL`]; the filter leaves out ids that no longer
/// exist rather than failing the call.
async fn describe(rds: &Client, ids: &[String]) -> KindResult<Vec<DbInstance>> {
    let mut found = Vec::new();
    for chunk in ids.chunks(IDS_PER_CALL) {
        let filter = Filter::builder().name("db-instance-id");
        let filter = filter.set_values(Some(chunk.to_vec())).build();
        let pages = rds.describe_db_instances().filters(filter).into_paginator();
        let listed = pages.items().send().try_collect().await;
        let listed: Vec<DbInstance> = listed.map_err(|e| sdk_error(DESCRIBE, e))?;
        found.extend(listed);
    }
    Ok(found)
}

async fn describe_one(rds: &Client, id: &str) -> KindResult<Option<DbInstance>> {
    Ok(describe(rds, &[id.to_lowercase()]).await?.pop())
}

/// The ARN tag calls name an instance by (the layer knows its identifier).
/// The ARN a described instance carries: what RDS tags by.
fn arn_of(instance: &DbInstance) -> KindResult<&str> {
    let arn = instance.db_instance_arn();
    arn.ok_or_else(|| missing(DESCRIBE, "DBInstanceArn"))
}

/// Blueprint values and offline clients the unit tests of every part share.
#[cfg(test)]
mod testing {
    use super::*;
    use crate::kinds::parse_spec;
    use serde_json::{json, Value};

    pub(super) fn attrs(value: Value) -> Attrs {
        value.as_object().unwrap().clone()
    }

    pub(super) fn base() -> Value {
        json!({"identifier": "db", "engine": "postgres", "instance_class": "db.t4g.micro",
            "engine_version": "15.5", "allocated_storage": 20})
    }

    pub(super) fn spec(value: Value) -> Spec {
        parse_spec(&SCHEMA, &attrs(value)).unwrap()
    }

    pub(super) fn offline_client() -> Client {
        let config = aws_sdk_rds::Config::builder()
            .behavior_version(aws_sdk_rds::config::BehaviorVersion::latest())
            .region(aws_sdk_rds::config::Region::new("us-east-1"))
            .build();
        Client::from_conf(config)
    }

    #[test]
    fn the_blueprints_engine_and_storage_fit_the_rules() {
        use crate::kinds::Rule;
        let rule = |name: &str| SCHEMA.attr(name).unwrap().rule;
        let Rule::OneOf(engines) = rule("engine") else {
            panic!("engine is an enum");
        };
        assert!(engines.contains(&"postgres") && engines.contains(&"mysql"));
        assert_eq!(
            rule("allocated_storage"),
            Rule::Range {
                min: 20,
                max: 65536
            }
        );
        assert_eq!(
            rule("backup_retention_period"),
            Rule::Range { min: 0, max: 35 }
        );
    }
}
