//! ECR resource kinds, one per file.

use crate::aws::AwsContext;
use crate::kinds::Registry;
use std::sync::Arc;

/// Registers the ECR kinds, sharing `aws`'s one ECR client.
pub fn register(registry: &mut Registry, aws: &Arc<AwsContext>) {
    let _ = (registry, aws);
}
