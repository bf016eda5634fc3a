//! The one list of every resource kind innovate knows.

use super::{
    dynamodb, ec2, ecr, eks, iam, kms, logs, organizations, rds, s3, AssumeRole, AwsContext,
};
use crate::kinds::Registry;
use std::sync::Arc;

/// Every resource kind, acting in the caller's account and, through `account_role`, in
/// the member accounts that resources are placed in (one context per account, cached).
pub fn placing_registry(aws: Arc<AwsContext>, account_role: &str) -> Registry {
    let opener = Arc::new(AssumeRole::new(aws.clone(), account_role));
    registry(aws).with_accounts(opener)
}

/// Every resource kind innovate knows, sharing one [`AwsContext`].
pub fn registry(aws: Arc<AwsContext>) -> Registry {
    let mut registry = Registry::default();
    dynamodb::register(&mut registry, &aws);
    ec2::register(&mut registry, &aws);
    ecr::register(&mut registry, &aws);
    eks::register(&mut registry, &aws);
    iam::register(&mut registry, &aws);
    kms::register(&mut registry, &aws);
    logs::register(&mut registry, &aws);
    organizations::register(&mut registry, &aws);
    rds::register(&mut registry, &aws);
    s3::register(&mut registry, &aws);
    registry
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind's spec struct reads what its schema allows: the one check `spec!` cannot
    /// make at compile time, made here once for every registered kind.
    #[test]
    fn every_registered_spec_fits_its_schema() {
        let aws = AwsContext::with_config(aws_config::SdkConfig::builder().build());
        let kinds = registry(aws);
        let names: Vec<&str> = kinds.names().collect();
        assert_eq!(names.len(), 28, "registered kinds: {names:?}");
        let misfits: Vec<String> = names
            .iter()
            .filter_map(|name| kinds.get(name)?.spec_fits_schema().err())
            .collect();
        assert!(misfits.is_empty(), "{misfits:#?}");
    }
}
