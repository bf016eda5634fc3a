//! CloudWatch Logs resource kinds, one per file.

use crate::aws::AwsContext;
use crate::kinds::Registry;
use std::sync::Arc;

/// Registers the CloudWatch Logs kinds, sharing `aws`'s one CloudWatch Logs client.
pub fn register(registry: &mut Registry, aws: &Arc<AwsContext>) {
    let _ = (registry, aws);
}
