//! IAM resource kinds, one per file.

use crate::aws::AwsContext;
use crate::kinds::Registry;
use std::sync::Arc;

pub fn register(_registry: &mut Registry, _aws: &Arc<AwsContext>) {}
