//! IAM resource kinds, one per file: roles and OIDC identity providers. [`policy`] compares
//! policy documents by meaning; [`tags`] converts tags.

mod openid_connect_provider;
pub mod policy;
mod role;
mod tags;

use crate::aws::AwsContext;
use crate::kinds::Registry;
use std::sync::Arc;

/// Registers the IAM kinds, sharing `aws`'s one IAM client.
pub fn register(registry: &mut Registry, aws: &Arc<AwsContext>) {
    registry.register(Arc::new(role::RoleKind(aws.clone())));
    registry.register(Arc::new(
        openid_connect_provider::OpenIdConnectProviderKind(aws.clone()),
    ));
}
