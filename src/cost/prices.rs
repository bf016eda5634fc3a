//! The embedded price table: AWS public list prices for us-east-1 (Linux, on-demand), as
//! published on the AWS pricing pages on the date below. Only what innovate's kinds can
//! create is here; anything missing is reported as "not priced", never guessed.

/// When the figures below were taken from the AWS pricing pages.
pub const PRICE_TABLE_DATE: &str = "2026-06-01";
/// The region the figures are for.
pub const PRICE_REGION: &str = "us-east-1";
/// Hours in a billing month, AWS's own convention (365 × 24 / 12).
pub const HOURS_PER_MONTH: f64 = 730.0;
/// Spot price assumed as this fraction below on-demand. Spot prices float per pool and
/// hour; 60% is a conservative middle of what m/c Graviton pools in us-east-1 show.
pub const SPOT_DISCOUNT: f64 = 0.60;

/// EKS control plane, standard support (extended support is $0.60/h).
pub const EKS_CLUSTER_HOURLY: f64 = 0.10;
/// NAT gateway hour; data processing is charged on top per GB and not estimated.
pub const NAT_GATEWAY_HOURLY: f64 = 0.045;
pub const NAT_GATEWAY_PER_GB: f64 = 0.045;
/// Every public IPv4 address, in use or idle (since February 2024).
pub const PUBLIC_IPV4_HOURLY: f64 = 0.005;
/// A customer-managed KMS key, per month (prorated hourly; requests are not estimated).
pub const KMS_KEY_MONTHLY: f64 = 1.0;
/// An interface VPC endpoint, per availability zone and hour, and per GB it processes
/// (first PB a month); gateway endpoints (S3, DynamoDB) cost nothing.
pub const INTERFACE_ENDPOINT_AZ_HOURLY: f64 = 0.01;
pub const INTERFACE_ENDPOINT_PER_GB: f64 = 0.01;
/// EBS gp3 volume of a node (3,000 IOPS and 125 MB/s included).
pub const EBS_GP3_GB_MONTH: f64 = 0.08;
/// S3 Standard storage, first 50 TB (requests and transfer are billed apart).
pub const S3_STANDARD_GB_MONTH: f64 = 0.023;
/// ECR private repository storage (pulls within the region are free).
pub const ECR_GB_MONTH: f64 = 0.10;

/// CloudWatch Logs (standard class): ingestion per GB, storage per GB-month (archived).
pub const LOGS_INGESTED_PER_GB: f64 = 0.50;
pub const LOGS_STORED_GB_MONTH: f64 = 0.03;
/// DynamoDB Standard table class. On-demand: per million write / read request units.
pub const DYNAMODB_WRITES_PER_MILLION: f64 = 0.625;
pub const DYNAMODB_READS_PER_MILLION: f64 = 0.125;
/// Provisioned capacity, per write / read capacity unit and hour.
pub const DYNAMODB_WCU_HOURLY: f64 = 0.00065;
pub const DYNAMODB_RCU_HOURLY: f64 = 0.00013;
/// Table storage per GB-month (the first 25 GB of the account are free), and continuous
/// backups (point-in-time recovery) per GB-month of table size.
pub const DYNAMODB_STORED_GB_MONTH: f64 = 0.25;
pub const DYNAMODB_PITR_GB_MONTH: f64 = 0.20;

/// EC2 on-demand Linux, $ per hour.
const EC2_HOURLY: &[(&str, f64)] = &[
    // burstable, x86 and Graviton
    ("t3.micro", 0.0104),
    ("t3.small", 0.0208),
    ("t3.medium", 0.0416),
    ("t3.large", 0.0832),
    ("t3.xlarge", 0.1664),
    ("t3.2xlarge", 0.3328),
    ("t4g.micro", 0.0084),
    ("t4g.small", 0.0168),
    ("t4g.medium", 0.0336),
    ("t4g.large", 0.0672),
    ("t4g.xlarge", 0.1344),
    ("t4g.2xlarge", 0.2688),
    // general purpose
    ("m5.large", 0.096),
    ("m5.xlarge", 0.192),
    ("m5.2xlarge", 0.384),
    ("m6i.large", 0.096),
    ("m6i.xlarge", 0.192),
    ("m6i.2xlarge", 0.384),
    ("m6g.large", 0.077),
    ("m6g.xlarge", 0.154),
    ("m6g.2xlarge", 0.308),
    ("m7g.large", 0.0816),
    ("m7g.xlarge", 0.1632),
    ("m7g.2xlarge", 0.3264),
    // compute optimised
    ("c5.large", 0.085),
    ("c5.xlarge", 0.17),
    ("c5.2xlarge", 0.34),
    ("c6g.large", 0.068),
    ("c6g.xlarge", 0.136),
    ("c6g.2xlarge", 0.272),
    ("c7g.large", 0.0725),
    ("c7g.xlarge", 0.145),
    ("c7g.2xlarge", 0.29),
    // memory optimised
    ("r6g.large", 0.1008),
    ("r6g.xlarge", 0.2016),
    ("r7g.large", 0.1071),
    ("r7g.xlarge", 0.2142),
];

/// RDS for PostgreSQL, single-AZ on-demand, $ per hour. Multi-AZ (one standby) is twice.
// db.m6g.xlarge's $0.318 is a price, not an approximation of 1/π.
#[allow(clippy::approx_constant)]
const RDS_POSTGRES_HOURLY: &[(&str, f64)] = &[
    ("db.t3.micro", 0.018),
    ("db.t3.small", 0.036),
    ("db.t3.medium", 0.072),
    ("db.t3.large", 0.145),
    ("db.t4g.micro", 0.016),
    ("db.t4g.small", 0.032),
    ("db.t4g.medium", 0.065),
    ("db.t4g.large", 0.129),
    ("db.m5.large", 0.178),
    ("db.m5.xlarge", 0.356),
    ("db.m6g.large", 0.159),
    ("db.m6g.xlarge", 0.318),
    ("db.m7g.large", 0.168),
    ("db.m7g.xlarge", 0.337),
    ("db.r6g.large", 0.225),
    ("db.r6g.xlarge", 0.45),
    ("db.r7g.large", 0.239),
];

/// RDS storage, single-AZ, $ per GB-month (Multi-AZ is twice). gp3 includes 3,000 IOPS
/// and 125 MB/s below 400 GB, 12,000 IOPS and 500 MB/s from there.
const RDS_STORAGE_GB_MONTH: &[(&str, f64)] = &[("gp3", 0.115), ("gp2", 0.115)];

/// RDS engines the table has instance prices for.
pub const RDS_PRICED_ENGINES: &[&str] = &["postgres"];

fn lookup(table: &[(&str, f64)], key: &str) -> Option<f64> {
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

pub fn ec2_hourly(instance_type: &str) -> Option<f64> {
    lookup(EC2_HOURLY, instance_type)
}

pub fn rds_hourly(engine: &str, instance_class: &str) -> Option<f64> {
    if !RDS_PRICED_ENGINES.contains(&engine) {
        return None;
    }
    lookup(RDS_POSTGRES_HOURLY, instance_class)
}

pub fn rds_storage_gb_month(storage_type: &str) -> Option<f64> {
    lookup(RDS_STORAGE_GB_MONTH, storage_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_types_the_innovate_estate_uses() {
        assert_eq!(ec2_hourly("t3.medium"), Some(0.0416));
        assert_eq!(ec2_hourly("m7g.large"), Some(0.0816));
        assert_eq!(rds_hourly("postgres", "db.t4g.medium"), Some(0.065));
        assert_eq!(rds_storage_gb_month("gp3"), Some(0.115));
    }

    #[test]
    fn answers_none_for_what_it_does_not_know() {
        assert_eq!(ec2_hourly("z1d.large"), None);
        assert_eq!(rds_hourly("mysql", "db.t4g.medium"), None);
        assert_eq!(rds_storage_gb_month("io1"), None);
    }

    #[test]
    fn graviton_is_cheaper_than_its_x86_sibling() {
        // A typo in the table (a decimal place) would break this ordering.
        for (arm, x86) in [("t4g.medium", "t3.medium"), ("m6g.large", "m5.large")] {
            assert!(ec2_hourly(arm).unwrap() < ec2_hourly(x86).unwrap(), "{arm}");
        }
    }
}
