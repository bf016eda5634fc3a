//! The one list of every resource kind innovate knows.

use super::{ec2, eks, iam, organizations, rds, AssumeRole, AwsContext};
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
    ec2::register(&mut registry, &aws);
    eks::register(&mut registry, &aws);
    iam::register(&mut registry, &aws);
    organizations::register(&mut registry, &aws);
    rds::register(&mut registry, &aws);
    registry
}
