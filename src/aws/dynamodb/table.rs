//! `dynamodb.table`: a DynamoDB table (the Vault storage backend's). Its name and keys force
//! a new table; billing, capacity, encryption, point-in-time recovery and deletion
//! protection change in place, one UpdateTable at a time, each waited for until the table
//! is ACTIVE again. DynamoDB has no batch describe: tables are read one DescribeTable (with
//! DescribeContinuousBackups and ListTagsOfResource) each, eight at once.

use super::{sdk_tags, tags_of, unbuildable, ByArn};
use crate::aws::common::{missing, observed, outputs, string_or_null, unless_gone};
use crate::aws::iam::get_each;
use crate::aws::{aws_call, retry_while, sdk_error, AwsContext, Backoff, Cx};
use crate::kinds::wait::{until, Status};
use crate::kinds::{
    parse_spec, retry_when, AttrType, Attrs, AwsItem, AwsKind, Change, KindError, KindResult, Live,
    Schema, Seen, StepCx, Tagging, Tags, Tier, Waiter,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_table::builders::UpdateTableFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    PointInTimeRecoveryStatus, ProvisionedThroughput, ScalarAttributeType, SseSpecification,
    SseType, TableDescription,
};
use aws_sdk_dynamodb::Client;
use serde_json::Value;
use std::time::Duration;

const KEY_TYPES: &[&str] = &["S", "N", "B"];
const PROVISIONED: &str = "PROVISIONED";

crate::spec! {
    pub(super) struct Spec with tags {
        name: String = required(AttrType::String).force_new(),
        billing_mode: String = optional(AttrType::String)
            .default("\"PAY_PER_REQUEST\"")
            .one_of(&["PAY_PER_REQUEST", PROVISIONED]),
        /// Capacity units, for PROVISIONED billing only.
        read_capacity: Option<i64> = optional(AttrType::Int).range(1, 40000),
        write_capacity: Option<i64> = optional(AttrType::Int).range(1, 40000),
        hash_key: String = required(AttrType::String).force_new(),
        hash_key_type: String = optional(AttrType::String)
            .default("\"S\"")
            .force_new()
            .one_of(KEY_TYPES),
        range_key: Option<String> = optional(AttrType::String).force_new(),
        range_key_type: String = optional(AttrType::String)
            .default("\"S\"")
            .force_new()
            .one_of(KEY_TYPES),
        point_in_time_recovery: bool = optional(AttrType::Bool).default("true"),
        /// A customer-managed KMS key's ARN; absent: a key AWS owns.
        kms_key_arn: Option<String> = optional(AttrType::String),
        deletion_protection: bool = optional(AttrType::Bool).default("false"),
    }
}

const SCHEMA: Schema = Schema::new("dynamodb.table", Tier::Database, Spec::ATTRS)
    .outputs(&["arn", "name"])
    .priced(crate::cost::models::dynamodb_table);

const DESCRIBE: &str = "dynamodb:DescribeTable";
const BACKUPS: &str = "dynamodb:DescribeContinuousBackups";
/// DescribeTable's code for an unknown table; the backup calls answer the second.
const NOT_FOUND: &[&str] = &["ResourceNotFoundException", "TableNotFoundException"];
/// A change refused while the table is still being created or updated.
const IN_USE: &str = "ResourceInUseException";

/// A table takes seconds to minutes to become ACTIVE after CreateTable and UpdateTable
/// (terraform-provider-aws waits 30 minutes; deletes 10).
const ACTIVE: Waiter = Waiter::until(DESCRIBE, &["ACTIVE"], &[UNUSABLE_KEY], LOOKS);
const UNUSABLE_KEY: &str = "INACCESSIBLE_ENCRYPTION_CREDENTIALS";
const LOOKS: Backoff = Backoff {
    first: Duration::from_millis(500),
    max_delay: Duration::from_secs(10),
    bound: Duration::from_secs(30 * 60),
};
const DELETED: Waiter = ACTIVE.gone(&[UNUSABLE_KEY], LOOKS.within(Duration::from_secs(10 * 60)));

/// A table with what DescribeTable leaves out: point-in-time recovery and tags.
pub(super) struct Table {
    table: TableDescription,
    pitr: bool,
    tags: Tags,
}

#[async_trait]
impl AwsItem for Table {
    type Client = AwsContext;
    const DESCRIBE: &'static str = DESCRIBE;
    const NOT_FOUND: &'static [&'static str] = NOT_FOUND;

    async fn describe(aws: &AwsContext, names: &[String]) -> KindResult<Vec<Table>> {
        let ddb = aws.dynamodb().await;
        get_each(names.iter().map(|name| read(ddb, name)).collect()).await
    }

    fn tags(&self) -> Option<Tags> {
        Some(self.tags.clone())
    }

    async fn tagging(&self, aws: &AwsContext, _name: &str) -> KindResult<Option<Tagging>> {
        let api = ByArn(aws.dynamodb().await.clone());
        Ok(Some(Tagging::new(api, arn(&self.table)?)))
    }
}

pub(super) struct TableKind;

#[async_trait]
impl AwsKind for TableKind {
    type Spec = Spec;
    type Item = Table;
    const SCHEMA: &'static Schema = &SCHEMA;

    /// CreateTable has no client token; the name is unique in the account and region, so
    /// a lost answer is settled by it (`natural_id`) and the owner tags the layer checks.
    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        let call = "dynamodb:CreateTable";
        let ddb = cx.aws.dynamodb().await;
        let (attributes, keys) = key_schema(spec)?;
        let throughput = throughput(spec)?;
        let sdk_tags = sdk_tags(call, tags)?;
        retry_when(too_many_at_once, Backoff::DEPENDENCIES, || async {
            let request = ddb.create_table().table_name(&spec.name);
            let request = request
                .billing_mode(BillingMode::from(spec.billing_mode.as_str()))
                .set_provisioned_throughput(throughput.clone())
                .set_attribute_definitions(Some(attributes.clone()))
                .set_key_schema(Some(keys.clone()))
                .set_sse_specification(spec.kms_key_arn.as_deref().map(customer_key))
                .deletion_protection_enabled(spec.deletion_protection)
                .set_tags(sdk_tags.clone());
            aws_call(call, request.send()).await
        })
        .await?;
        active(cx, ddb, &spec.name).await?;
        if spec.point_in_time_recovery {
            set_pitr(cx, ddb, &spec.name, true).await?;
        }
        Ok(spec.name.clone())
    }

    fn natural_id(&self, spec: &Spec) -> Option<String> {
        Some(spec.name.clone())
    }

    /// CreateTable of a name taken: ResourceInUseException "Table already exists".
    fn conflict_codes(&self) -> &'static [&'static str] {
        &[IN_USE]
    }

    fn live(&self, _: &AwsContext, table: &Table) -> Option<Live> {
        to_live(table)
    }

    /// Compared with what AWS holds, so drift is put back too. A table adopted after a
    /// lost create answer may still be CREATING: every change waits for ACTIVE first.
    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        let (spec, current, name) = (change.desired, change.current, change.id());
        let ddb = cx.aws.dynamodb().await;
        active(cx, ddb, name).await?;
        for request in table_updates(ddb, spec, &current.table)? {
            let call = "dynamodb:UpdateTable";
            let sent = retry_when(busy, Backoff::DEPENDENCIES, || async {
                let sent = request.clone().table_name(name).send().await;
                sent.map(drop).map_err(|e| sdk_error(call, e))
            });
            sent.await?;
            active(cx, ddb, name).await?;
        }
        if current.pitr != spec.point_in_time_recovery {
            set_pitr(cx, ddb, name, spec.point_in_time_recovery).await?;
        }
        Ok(())
    }

    /// A table still being created or updated refuses the delete (ResourceInUseException)
    /// until it is ACTIVE; one already gone answers ResourceNotFoundException, which the
    /// layer counts as deleted.
    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let ddb = cx.aws.dynamodb().await;
        let name = live.id.as_str();
        retry_when(busy, Backoff::DEPENDENCIES, || async {
            let sent = ddb.delete_table().table_name(name).send().await;
            sent.map(drop)
                .map_err(|e| sdk_error("dynamodb:DeleteTable", e))
        })
        .await?;
        let look = || async move { described(ddb, name).await };
        DELETED.wait(cx, look, seen).await.map(drop)
    }

    fn delete_refusal(&self, prior: &Attrs) -> Option<String> {
        let recorded = parse_spec::<Spec>(&SCHEMA, prior).ok()?;
        recorded.deletion_protection.then(|| {
            "deletion_protection is on: set `deletion_protection: false` and apply before \
             deleting the table"
                .to_string()
        })
    }
}

/// AWS creates, updates and deletes only so many tables at once in an account
/// (LimitExceededException "... can be created, updated, or deleted simultaneously").
fn too_many_at_once(err: &KindError) -> bool {
    err.has_code_in(&["LimitExceededException"]) && err.message.contains("simultaneously")
}

/// An update or delete refused while the table is still being created or updated
/// (ResourceInUseException), or while too many tables change at once: both pass.
fn busy(err: &KindError) -> bool {
    err.has_code_in(&[IN_USE]) || too_many_at_once(err)
}

/// The UpdateTable calls (without the table name) that bring `table` to `spec`, one change
/// each: AWS refuses some combinations in one call, and each is waited for.
fn table_updates(
    ddb: &Client,
    spec: &Spec,
    table: &TableDescription,
) -> KindResult<Vec<UpdateTableFluentBuilder>> {
    let mut updates = Vec::new();
    let wanted = (spec.read_capacity, spec.write_capacity);
    let provisioned = spec.billing_mode == PROVISIONED;
    if billing_mode(table) != spec.billing_mode || provisioned && capacity(table) != wanted {
        let mode = BillingMode::from(spec.billing_mode.as_str());
        let request = ddb.update_table().billing_mode(mode);
        updates.push(request.set_provisioned_throughput(throughput(spec)?));
    }
    if kms_key(table) != spec.kms_key_arn.as_deref() {
        let sse = match spec.kms_key_arn.as_deref() {
            Some(key) => customer_key(key),
            None => SseSpecification::builder().enabled(false).build(),
        };
        updates.push(ddb.update_table().sse_specification(sse));
    }
    if table.deletion_protection_enabled().unwrap_or(false) != spec.deletion_protection {
        let request = ddb.update_table();
        updates.push(request.deletion_protection_enabled(spec.deletion_protection));
    }
    Ok(updates)
}

fn customer_key(key: &str) -> SseSpecification {
    let sse = SseSpecification::builder()
        .enabled(true)
        .sse_type(SseType::Kms);
    sse.kms_master_key_id(key).build()
}

/// The attribute definitions and key schema of the hash key and the range key, if any.
fn key_schema(spec: &Spec) -> KindResult<(Vec<AttributeDefinition>, Vec<KeySchemaElement>)> {
    let call = "dynamodb:CreateTable";
    let hash = Some((&spec.hash_key, &spec.hash_key_type, KeyType::Hash));
    let range = spec.range_key.as_ref();
    let range = range.map(|key| (key, &spec.range_key_type, KeyType::Range));
    let (mut attributes, mut keys) = (Vec::new(), Vec::new());
    for (name, ty, key_type) in hash.into_iter().chain(range) {
        let attribute = AttributeDefinition::builder().attribute_name(name);
        let attribute = attribute.attribute_type(ScalarAttributeType::from(ty.as_str()));
        attributes.push(attribute.build().map_err(|e| unbuildable(call, e))?);
        let key = KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type);
        keys.push(key.build().map_err(|e| unbuildable(call, e))?);
    }
    Ok((attributes, keys))
}

/// The provisioned capacity PROVISIONED billing needs (refused before any call when
/// missing); `None` for on-demand, which takes none.
fn throughput(spec: &Spec) -> KindResult<Option<ProvisionedThroughput>> {
    if spec.billing_mode != PROVISIONED {
        return Ok(None);
    }
    let (Some(read), Some(write)) = (spec.read_capacity, spec.write_capacity) else {
        let message = "billing_mode PROVISIONED needs read_capacity and write_capacity";
        return Err(KindError::local(SCHEMA.name, message));
    };
    let built = ProvisionedThroughput::builder().read_capacity_units(read);
    let built = built.write_capacity_units(write).build();
    built
        .map(Some)
        .map_err(|e| unbuildable("dynamodb:UpdateTable", e))
}

/// AWS leaves BillingModeSummary out for tables that were always PROVISIONED.
fn billing_mode(table: &TableDescription) -> &str {
    let summary = table.billing_mode_summary().and_then(|s| s.billing_mode());
    summary.map_or(PROVISIONED, BillingMode::as_str)
}

/// The read and write capacity units the table has.
fn capacity(table: &TableDescription) -> (Option<i64>, Option<i64>) {
    let held = table.provisioned_throughput();
    let units = held.map(|p| (p.read_capacity_units(), p.write_capacity_units()));
    units.unwrap_or_default()
}

fn arn(table: &TableDescription) -> KindResult<&str> {
    table
        .table_arn()
        .ok_or_else(|| missing(DESCRIBE, "TableArn"))
}

/// The customer key of a table encrypted with one (an AWS-owned key reports none).
fn kms_key(table: &TableDescription) -> Option<&str> {
    table
        .sse_description()
        .and_then(|sse| sse.kms_master_key_arn())
}

/// Waits until the table is ACTIVE (from CREATING or UPDATING).
async fn active(cx: &StepCx, ddb: &Client, name: &str) -> KindResult<()> {
    let look = || async move { described(ddb, name).await };
    ACTIVE.wait(cx, look, seen).await.map(drop)
}

/// The table's status; an ACTIVE table whose encryption is still changing (ENABLING,
/// UPDATING, DISABLING) is not done yet either.
fn seen(table: &TableDescription) -> Seen {
    let status = table.table_status().map_or("unknown", |s| s.as_str());
    let sse = table
        .sse_description()
        .and_then(|d| d.status())
        .map(|s| s.as_str());
    match sse {
        Some(sse @ ("ENABLING" | "UPDATING" | "DISABLING")) if status == "ACTIVE" => {
            Seen::new(format!("encryption {sse}"))
        }
        _ => Seen::new(status),
    }
}

/// Turns point-in-time recovery on or off and waits until DescribeContinuousBackups shows
/// it: the call returning is not the setting being on. Right after CreateTable, AWS
/// answers ContinuousBackupsUnavailableException ("Backups are being enabled for the
/// table") for up to 20 minutes, as terraform-provider-aws allows.
async fn set_pitr(cx: &StepCx, ddb: &Client, name: &str, on: bool) -> KindResult<()> {
    let call = "dynamodb:UpdateContinuousBackups";
    let wanted = PointInTimeRecoverySpecification::builder().point_in_time_recovery_enabled(on);
    let wanted = wanted.build().map_err(|e| unbuildable(call, e))?;
    let not_yet = ["ContinuousBackupsUnavailableException"];
    retry_while(&not_yet, Backoff::DEPENDENCIES, || async {
        let request = ddb.update_continuous_backups().table_name(name);
        let sent = request
            .point_in_time_recovery_specification(wanted.clone())
            .send();
        sent.await.map(drop).map_err(|e| sdk_error(call, e))
    })
    .await?;
    let look = || async {
        Ok(match pitr(ddb, name).await? == on {
            true => Status::Ready(()),
            false => Status::Pending("changing".into()),
        })
    };
    until(
        cx,
        BACKUPS,
        "point-in-time recovery",
        Backoff::CONSISTENCY,
        look,
    )
    .await
}

/// Whether point-in-time recovery is on (ENABLED; ENABLING and DISABLED are not).
async fn pitr(ddb: &Client, name: &str) -> KindResult<bool> {
    let request = ddb.describe_continuous_backups().table_name(name);
    let described = request.send().await.map_err(|e| sdk_error(BACKUPS, e))?;
    let status = described
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status());
    Ok(status == Some(&PointInTimeRecoveryStatus::Enabled))
}

/// The table's description; `None` when DynamoDB does not know it.
async fn described(ddb: &Client, name: &str) -> KindResult<Option<TableDescription>> {
    let answer = ddb.describe_table().table_name(name).send().await;
    let answer = unless_gone(answer.map_err(|e| sdk_error(DESCRIBE, e)), NOT_FOUND)?;
    Ok(answer.and_then(|a| a.table))
}

/// The table with its backups setting and tags; `None` when it is gone (also between the
/// calls).
async fn read(ddb: &Client, name: &str) -> KindResult<Option<Table>> {
    let Some(table) = described(ddb, name).await? else {
        return Ok(None);
    };
    let Some(pitr) = unless_gone(pitr(ddb, name).await, NOT_FOUND)? else {
        return Ok(None);
    };
    let Some(tags) = unless_gone(tags_of(ddb, arn(&table)?).await, NOT_FOUND)? else {
        return Ok(None);
    };
    Ok(Some(Table { table, pitr, tags }))
}

fn to_live(item: &Table) -> Option<Live> {
    let table = &item.table;
    let name = table.table_name()?.to_string();
    let outputs = outputs([
        ("arn", table.table_arn().map(str::to_string)),
        ("name", Some(name.clone())),
    ]);
    let protected = table.deletion_protection_enabled().unwrap_or(false);
    let mut attrs = observed([
        ("name", name.clone().into()),
        ("billing_mode", billing_mode(table).into()),
        ("point_in_time_recovery", item.pitr.into()),
        ("kms_key_arn", string_or_null(kms_key(table))),
        ("deletion_protection", protected.into()),
    ]);
    attrs.extend(key_attrs(table));
    if billing_mode(table) == PROVISIONED {
        let (read, write) = capacity(table);
        attrs.insert("read_capacity".into(), read.into());
        attrs.insert("write_capacity".into(), write.into());
    }
    Some(Live::observed(name, outputs, attrs))
}

/// `hash_key`, `range_key` and their types from the key schema and attribute definitions.
fn key_attrs(table: &TableDescription) -> Attrs {
    let type_of = |name: &str| {
        let mut defined = table.attribute_definitions().iter();
        let found = defined.find(|d| d.attribute_name() == name);
        found.map_or(Value::Null, |d| d.attribute_type().as_str().into())
    };
    let mut attrs = Attrs::new();
    for key in table.key_schema() {
        let name = key.attribute_name();
        let prefix = if key.key_type() == &KeyType::Hash {
            "hash_key"
        } else {
            "range_key"
        };
        attrs.insert(prefix.into(), name.into());
        attrs.insert(format!("{prefix}_type"), type_of(name));
    }
    attrs.entry("range_key").or_insert(Value::Null);
    attrs
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::{BillingModeSummary, SseDescription};
    use serde_json::json;

    fn spec(attrs: Value) -> Spec {
        parse_spec(&SCHEMA, attrs.as_object().unwrap()).unwrap()
    }

    fn table() -> TableDescription {
        let key = |name: &str, ty| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(ty)
        };
        let def = |name: &str| {
            let def = AttributeDefinition::builder().attribute_name(name);
            def.attribute_type(ScalarAttributeType::S).build().unwrap()
        };
        TableDescription::builder()
            .table_name("vault")
            .key_schema(key("Path", KeyType::Hash).build().unwrap())
            .key_schema(key("Key", KeyType::Range).build().unwrap())
            .attribute_definitions(def("Path"))
            .attribute_definitions(def("Key"))
            .billing_mode_summary(
                BillingModeSummary::builder()
                    .billing_mode(BillingMode::PayPerRequest)
                    .build(),
            )
            .build()
    }

    #[test]
    fn keys_are_read_back_from_the_key_schema() {
        let attrs = key_attrs(&table());
        assert_eq!(
            Value::Object(attrs),
            json!({"hash_key": "Path", "hash_key_type": "S", "range_key": "Key",
                "range_key_type": "S"})
        );
        let wanted = spec(json!({"name": "vault", "hash_key": "Path", "range_key": "Key"}));
        let (attributes, keys) = key_schema(&wanted).unwrap();
        assert_eq!((attributes.len(), keys.len()), (2, 2));
        assert_eq!(keys[1].key_type(), &KeyType::Range);
        let key = "arn:aws:kms:us-east-1:111122223333:key/k1";
        let encrypted = TableDescription::builder()
            .sse_description(SseDescription::builder().kms_master_key_arn(key).build())
            .build();
        assert_eq!(kms_key(&encrypted), Some(key));
        assert_eq!(billing_mode(&table()), "PAY_PER_REQUEST");
        assert_eq!(
            billing_mode(&encrypted),
            PROVISIONED,
            "no summary: provisioned"
        );
    }

    #[test]
    fn provisioned_billing_needs_capacity_and_protection_refuses_the_delete() {
        let bare = spec(json!({"name": "t", "hash_key": "k", "billing_mode": "PROVISIONED"}));
        assert!(throughput(&bare).is_err());
        let sized = spec(
            json!({"name": "t", "hash_key": "k", "billing_mode": "PROVISIONED",
            "read_capacity": 5, "write_capacity": 2}),
        );
        let units = throughput(&sized).unwrap().unwrap();
        assert_eq!(
            (units.read_capacity_units(), units.write_capacity_units()),
            (5, 2)
        );
        let kind = TableKind;
        let protected = json!({"name": "t", "hash_key": "k", "deletion_protection": true});
        let refusal = kind.delete_refusal(protected.as_object().unwrap()).unwrap();
        assert!(refusal.contains("deletion_protection"), "{refusal}");
        assert_eq!(kind.delete_refusal(&Attrs::new()), None);
    }
}
