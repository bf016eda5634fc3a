//! KMS resource kinds, one per file: customer-managed keys and their aliases. [`tags`]
//! converts and syncs key tags. KMS has no batch describe: keys are read one DescribeKey
//! each, eight at once (IAM's `get_each`); aliases come from one ListAliases listing for
//! any number of names.

mod alias;
mod key;
mod tags;

use crate::aws::AwsContext;
use crate::kinds::Registry;
use std::sync::Arc;

/// Reads one key a call, a few at once: IAM's reader, since neither service has a batch read.
use crate::aws::iam::get_each as each_found;

/// Registers the KMS kinds, sharing `aws`'s one KMS client.
pub fn register(registry: &mut Registry, aws: &Arc<AwsContext>) {
    registry.add(key::KeyKind, aws);
    registry.add(alias::AliasKind, aws);
}

/// KMS's code for a key or alias it does not know.
const NOT_FOUND: &str = "NotFoundException";
