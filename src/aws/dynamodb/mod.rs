//! DynamoDB resource kinds, one per file.

use crate::aws::AwsContext;
use crate::kinds::Registry;
use std::sync::Arc;

/// Registers the DynamoDB kinds, sharing `aws`'s one DynamoDB client.
pub fn register(registry: &mut Registry, aws: &Arc<AwsContext>) {
    let _ = (registry, aws);
}
