//! The price models of the kinds that cost money, over an instance's attributes. A kind
//! names its model (or `Free`) in its schema; see [`crate::kinds::Price`].

use super::prices::*;
use crate::blueprint::template::contains_unknown;
use crate::kinds::Attrs;
use serde_json::Value;

pub use crate::kinds::Pricing;

/// The price models kinds name in their schema ([`crate::kinds::Price::Model`]).
pub mod models {
    use super::*;

    pub fn eks_cluster(_: &Attrs) -> Pricing {
        super::eks_cluster()
    }

    pub fn nat_gateway(_: &Attrs) -> Pricing {
        super::nat_gateway()
    }

    pub fn elastic_ip(_: &Attrs) -> Pricing {
        super::elastic_ip()
    }

    pub fn kms_key(_: &Attrs) -> Pricing {
        super::kms_key()
    }

    pub fn nodegroup(attrs: &Attrs) -> Pricing {
        super::nodegroup(attrs).unwrap_or_else(Pricing::NotPriced)
    }

    pub fn db_instance(attrs: &Attrs) -> Pricing {
        super::db_instance(attrs).unwrap_or_else(Pricing::NotPriced)
    }

    pub fn vpc_endpoint(attrs: &Attrs) -> Pricing {
        super::vpc_endpoint(attrs).unwrap_or_else(Pricing::NotPriced)
    }

    pub fn s3_bucket(_: &Attrs) -> Pricing {
        super::storage("S3 Standard storage", S3_STANDARD_GB_MONTH)
    }

    pub fn ecr_repository(_: &Attrs) -> Pricing {
        super::storage("ECR image storage", ECR_GB_MONTH)
    }

    pub fn log_group(_: &Attrs) -> Pricing {
        super::log_group()
    }

    pub fn dynamodb_table(attrs: &Attrs) -> Pricing {
        super::dynamodb_table(attrs).unwrap_or_else(Pricing::NotPriced)
    }
}

fn hourly(rate: f64, what: &str) -> Pricing {
    Pricing::Priced {
        monthly: rate * HOURS_PER_MONTH,
        detail: format!("{what}, {HOURS_PER_MONTH} h × ${}", usd(rate)),
    }
}

fn eks_cluster() -> Pricing {
    hourly(EKS_CLUSTER_HOURLY, "EKS control plane")
}

fn nat_gateway() -> Pricing {
    let Pricing::Priced { monthly, detail } = hourly(NAT_GATEWAY_HOURLY, "NAT gateway") else {
        unreachable!("hourly always prices")
    };
    Pricing::Priced {
        monthly,
        detail: format!(
            "{detail} (+ ${}/GB processed, not estimated)",
            usd(NAT_GATEWAY_PER_GB)
        ),
    }
}

fn elastic_ip() -> Pricing {
    hourly(PUBLIC_IPV4_HOURLY, "public IPv4 address")
}

/// A key costs the same whatever its spec or rotation; its requests are billed apart.
fn kms_key() -> Pricing {
    Pricing::Priced {
        monthly: KMS_KEY_MONTHLY,
        detail: format!(
            "customer-managed KMS key, ${}/month (requests not estimated)",
            usd(KMS_KEY_MONTHLY)
        ),
    }
}

/// Storage billed by the GB-month: nothing a blueprint says tells the size, so the
/// estimate is 0 a month and the detail gives the rate.
fn storage(what: &str, per_gb_month: f64) -> Pricing {
    Pricing::Priced {
        monthly: 0.0,
        detail: format!(
            "{what}, ${}/GB-month (size not known: not estimated)",
            usd(per_gb_month)
        ),
    }
}

/// Desired size × the first instance type (the one an on-demand group launches first; for
/// spot a stand-in for the pool mix) + one gp3 root volume per node.
fn nodegroup(attrs: &Attrs) -> Result<Pricing, String> {
    let nodes = known_int(attrs, "scaling", Some("desired_size"))?;
    let types = known(attrs, "instance_types", None)?;
    let first = types
        .as_array()
        .and_then(|t| t.first())
        .and_then(Value::as_str)
        .ok_or("instance_types is empty")?;
    let rate = ec2_hourly(first)
        .ok_or_else(|| format!("instance type {first} is not in the price table"))?;
    let spot = known(attrs, "capacity_type", None)?.as_str() == Some("SPOT");
    let (rate, market) = if spot {
        (rate * (1.0 - SPOT_DISCOUNT), "spot")
    } else {
        (rate, "on-demand")
    };
    let disk = known_int(attrs, "disk_size", None)?;
    let compute = nodes as f64 * rate * HOURS_PER_MONTH;
    let storage = (nodes * disk) as f64 * EBS_GP3_GB_MONTH;
    let more = match types.as_array().map(Vec::len).unwrap_or(0) {
        0 | 1 => String::new(),
        n => format!(" (first of {n} types)"),
    };
    Ok(Pricing::Priced {
        monthly: compute + storage,
        detail: format!(
            "{nodes} × {first}{more} {market} at ${}/h; {nodes} × {disk} GB gp3 at ${}/GB",
            usd(rate),
            usd(EBS_GP3_GB_MONTH)
        ),
    })
}

/// Instance hours + allocated storage, both doubled for a Multi-AZ standby.
fn db_instance(attrs: &Attrs) -> Result<Pricing, String> {
    let engine = known_str(attrs, "engine")?;
    let class = known_str(attrs, "instance_class")?;
    let rate = rds_hourly(&engine, &class)
        .ok_or_else(|| format!("RDS {engine} {class} is not in the price table"))?;
    let multi_az = known(attrs, "multi_az", None)?.as_bool() == Some(true);
    let storage_type = known_str(attrs, "storage_type")?;
    let gb_rate = rds_storage_gb_month(&storage_type)
        .ok_or_else(|| format!("RDS storage type {storage_type} is not in the price table"))?;
    let gb = known_int(attrs, "allocated_storage", None)?;
    let copies = if multi_az { 2.0 } else { 1.0 };
    let monthly = copies * (rate * HOURS_PER_MONTH + gb as f64 * gb_rate);
    let az = if multi_az { "Multi-AZ" } else { "single-AZ" };
    Ok(Pricing::Priced {
        monthly,
        detail: format!(
            "{class} {az} at ${}/h; {gb} GB {storage_type} at ${}/GB",
            usd(copies * rate),
            usd(copies * gb_rate)
        ),
    })
}

/// Gateway endpoints are free; an interface endpoint is billed per availability zone (one
/// network interface per subnet) and hour, its traffic per GB on top.
fn vpc_endpoint(attrs: &Attrs) -> Result<Pricing, String> {
    if known_str(attrs, "vpc_endpoint_type")? != "Interface" {
        return Ok(Pricing::Free);
    }
    // The subnets' ids may be known only after apply; their number is known now.
    let subnets = attrs.get("subnet_ids").and_then(Value::as_array);
    let zones = subnets.ok_or("subnet_ids is not a known list")?.len();
    Ok(Pricing::Priced {
        monthly: zones as f64 * INTERFACE_ENDPOINT_AZ_HOURLY * HOURS_PER_MONTH,
        detail: format!(
            "interface endpoint in {zones} AZ × ${}/h (+ ${}/GB processed, not estimated)",
            usd(INTERFACE_ENDPOINT_AZ_HOURLY),
            usd(INTERFACE_ENDPOINT_PER_GB)
        ),
    })
}

/// A log group costs what is ingested and stored, which the blueprint does not say: $0 a
/// month here, with the unit prices in the detail.
fn log_group() -> Pricing {
    Pricing::Priced {
        monthly: 0.0,
        detail: format!(
            "CloudWatch Logs: ${}/GB ingested, ${}/GB-month stored (volume not estimated)",
            usd(LOGS_INGESTED_PER_GB),
            usd(LOGS_STORED_GB_MONTH)
        ),
    }
}

/// On-demand tables cost per request and per GB stored, which the blueprint does not say
/// ($0 a month, unit prices in the detail); provisioned ones their capacity by the hour.
fn dynamodb_table(attrs: &Attrs) -> Result<Pricing, String> {
    let storage = format!(
        "storage ${}/GB-month (first 25 GB free), point-in-time recovery ${}/GB-month, \
         not estimated",
        usd(DYNAMODB_STORED_GB_MONTH),
        usd(DYNAMODB_PITR_GB_MONTH)
    );
    // Absent: the schema's default, on-demand.
    let provisioned = match attrs.get("billing_mode") {
        None | Some(Value::Null) => false,
        Some(_) => known_str(attrs, "billing_mode")? == "PROVISIONED",
    };
    if !provisioned {
        return Ok(Pricing::Priced {
            monthly: 0.0,
            detail: format!(
                "on-demand: ${}/million writes, ${}/million reads; {storage}",
                usd(DYNAMODB_WRITES_PER_MILLION),
                usd(DYNAMODB_READS_PER_MILLION)
            ),
        });
    }
    let (reads, writes) = (
        known_int(attrs, "read_capacity", None)?,
        known_int(attrs, "write_capacity", None)?,
    );
    let hourly = reads as f64 * DYNAMODB_RCU_HOURLY + writes as f64 * DYNAMODB_WCU_HOURLY;
    Ok(Pricing::Priced {
        monthly: hourly * HOURS_PER_MONTH,
        detail: format!(
            "{reads} RCU × ${}/h + {writes} WCU × ${}/h; {storage}",
            usd(DYNAMODB_RCU_HOURLY),
            usd(DYNAMODB_WCU_HOURLY)
        ),
    })
}

/// The attribute (or one field of an object attribute), refusing unknown values: a price
/// built on "(known after apply)" would be a guess.
fn known(attrs: &Attrs, name: &str, field: Option<&str>) -> Result<Value, String> {
    let path = match field {
        Some(f) => format!("{name}.{f}"),
        None => name.to_string(),
    };
    let value = attrs.get(name).and_then(|v| match field {
        Some(f) => v.get(f),
        None => Some(v),
    });
    match value {
        None | Some(Value::Null) => Err(format!("{path} is not set")),
        Some(v) if contains_unknown(v) => Err(format!("{path} is known only after apply")),
        Some(v) => Ok(v.clone()),
    }
}

fn known_int(attrs: &Attrs, name: &str, field: Option<&str>) -> Result<u64, String> {
    let value = known(attrs, name, field)?;
    value.as_u64().ok_or_else(|| {
        let path = field.map_or(name.to_string(), |f| format!("{name}.{f}"));
        format!("{path} is not a whole number: {value}")
    })
}

fn known_str(attrs: &Attrs, name: &str) -> Result<String, String> {
    let value = known(attrs, name, None)?;
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{name} is not a string: {value}"))
}

/// A unit price: cents at least, up to four decimals (`0.10`, `0.045`, `0.0416`).
pub fn usd(x: f64) -> String {
    let text = format!("{x:.4}");
    let trimmed = text.trim_end_matches('0');
    match trimmed.split_once('.') {
        Some((_, decimals)) if decimals.len() < 2 => format!("{x:.2}"),
        _ => trimmed.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blueprint::UNKNOWN;
    use serde_json::json;

    /// The price of `kind` as the estimate finds it: through the model its schema names.
    fn price(kind: &str, attrs: &Attrs) -> Pricing {
        let registry = crate::aws::registry(crate::aws::AwsContext::new(None));
        crate::cost::price(&registry, kind, attrs)
    }

    fn attrs(value: Value) -> Attrs {
        value.as_object().unwrap().clone()
    }

    fn monthly(p: &Pricing) -> f64 {
        match p {
            Pricing::Priced { monthly, .. } => (monthly * 100.0).round() / 100.0,
            other => panic!("not priced: {other:?}"),
        }
    }

    fn nodegroup_attrs(types: Value, capacity: &str, desired: Value) -> Attrs {
        attrs(json!({
            "instance_types": types, "capacity_type": capacity, "disk_size": 20,
            "scaling": { "min_size": 1, "desired_size": desired, "max_size": 5 }
        }))
    }

    #[test]
    fn hourly_kinds_cost_730_hours() {
        assert_eq!(monthly(&price("eks.cluster", &Attrs::new())), 73.0);
        assert_eq!(monthly(&price("ec2.nat_gateway", &Attrs::new())), 32.85);
        assert_eq!(monthly(&price("ec2.elastic_ip", &Attrs::new())), 3.65);
    }

    #[test]
    fn buckets_and_repositories_cost_nothing_without_a_size_and_say_their_rate() {
        for (kind, rate) in [
            ("s3.bucket", "$0.023/GB-month"),
            ("ecr.repository", "$0.10/GB-month"),
        ] {
            let Pricing::Priced { monthly, detail } = price(kind, &Attrs::new()) else {
                panic!("{kind} is not priced");
            };
            assert_eq!(monthly, 0.0, "{kind}");
            assert!(detail.contains(rate), "{kind}: {detail}");
        }
    }

    #[test]
    fn a_kms_key_costs_a_dollar_a_month_and_an_alias_nothing() {
        assert_eq!(monthly(&price("kms.key", &Attrs::new())), 1.0);
        assert_eq!(price("kms.alias", &Attrs::new()), Pricing::Free);
    }

    #[test]
    fn a_node_group_costs_desired_nodes_and_their_disks() {
        let on_demand = nodegroup_attrs(json!(["t3.medium"]), "ON_DEMAND", json!(2));
        // 2 × 0.0416 × 730 + 2 × 20 × 0.08
        assert_eq!(monthly(&price("eks.nodegroup", &on_demand)), 63.94);
        let spot = nodegroup_attrs(json!(["m7g.large", "c7g.xlarge"]), "SPOT", json!(1));
        // 0.0816 × 0.4 × 730 + 20 × 0.08
        assert_eq!(monthly(&price("eks.nodegroup", &spot)), 25.43);
        let Pricing::Priced { detail, .. } = price("eks.nodegroup", &spot) else {
            unreachable!()
        };
        assert!(
            detail.contains("m7g.large (first of 2 types) spot"),
            "{detail}"
        );
    }

    #[test]
    fn multi_az_doubles_instance_and_storage() {
        let db = |multi_az: bool| {
            attrs(json!({
                "engine": "postgres", "instance_class": "db.t4g.medium", "multi_az": multi_az,
                "storage_type": "gp3", "allocated_storage": 100
            }))
        };
        // 0.065 × 730 + 100 × 0.115
        assert_eq!(monthly(&price("rds.db_instance", &db(false))), 58.95);
        assert_eq!(monthly(&price("rds.db_instance", &db(true))), 117.9);
    }

    #[test]
    fn unknown_attributes_and_missing_entries_are_not_priced() {
        let unknown = nodegroup_attrs(json!(["t3.medium"]), "ON_DEMAND", json!(UNKNOWN));
        assert_eq!(
            price("eks.nodegroup", &unknown),
            Pricing::NotPriced("scaling.desired_size is known only after apply".into())
        );
        let exotic = nodegroup_attrs(json!(["z1d.large"]), "ON_DEMAND", json!(1));
        assert_eq!(
            price("eks.nodegroup", &exotic),
            Pricing::NotPriced("instance type z1d.large is not in the price table".into())
        );
        assert!(matches!(
            price("ec2.transit_gateway", &Attrs::new()),
            Pricing::NotPriced(_)
        ));
    }

    #[test]
    fn unit_prices_print_with_cents_and_no_trailing_zeros() {
        assert_eq!(usd(0.1), "0.10");
        assert_eq!(usd(0.045), "0.045");
        assert_eq!(usd(0.0816 * 0.4), "0.0326");
    }

    #[test]
    fn usage_priced_kinds_cost_nothing_fixed_and_say_their_unit_prices() {
        let Pricing::Priced {
            monthly: fixed,
            detail,
        } = price("logs.log_group", &Attrs::new())
        else {
            panic!("a log group is priced by usage")
        };
        assert_eq!(fixed, 0.0);
        assert!(detail.contains("$0.50/GB ingested"), "{detail}");
        let on_demand = attrs(json!({"billing_mode": "PAY_PER_REQUEST"}));
        let Pricing::Priced {
            monthly: fixed,
            detail,
        } = price("dynamodb.table", &on_demand)
        else {
            panic!("an on-demand table is priced by usage")
        };
        assert_eq!(fixed, 0.0);
        assert!(detail.contains("$0.625/million writes"), "{detail}");
        let provisioned =
            attrs(json!({"billing_mode": "PROVISIONED", "read_capacity": 10, "write_capacity": 5}));
        // (10 × 0.00013 + 5 × 0.00065) × 730
        assert_eq!(monthly(&price("dynamodb.table", &provisioned)), 3.32);
        assert_eq!(price("ec2.flow_log", &Attrs::new()), Pricing::Free);
    }

    #[test]
    fn network_and_identity_kinds_are_free() {
        assert_eq!(price("ec2.subnet", &Attrs::new()), Pricing::Free);
        assert_eq!(price("iam.role", &Attrs::new()), Pricing::Free);
    }
}
