//! S3 resource kinds, one per file.

use crate::aws::AwsContext;
use crate::kinds::Registry;
use std::sync::Arc;

/// Registers the S3 kinds, sharing `aws`'s one S3 client.
pub fn register(registry: &mut Registry, aws: &Arc<AwsContext>) {
    let _ = (registry, aws);
}
