//! ECR resource kinds, one per file: private image repositories ([`repository`]), with
//! their lifecycle and repository policies folded in (one resource a repository, where
//! terraform has three).

mod repository;

pub(crate) use repository::name_problem as repository_name_problem;

use crate::aws::AwsContext;
use crate::kinds::Registry;
use std::sync::Arc;

/// Registers the ECR kinds, sharing `aws`'s one ECR client.
pub fn register(registry: &mut Registry, aws: &Arc<AwsContext>) {
    registry.add(repository::RepositoryKind, aws);
}
