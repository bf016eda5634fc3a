//! IAM resource kinds, one per file: roles and OIDC identity providers. [`policy`] compares
//! policy documents by meaning; [`tags`] converts tags. What both kinds share lives here:
//! IAM has no batch read, so resources are read one call each, a few at once.

mod openid_connect_provider;
pub mod policy;
mod role;
mod tags;

use crate::aws::AwsContext;
use crate::kinds::{KindResult, Registry};
use futures::stream::{self, StreamExt, TryStreamExt};
use std::future::Future;
use std::sync::Arc;

/// Registers the IAM kinds, sharing `aws`'s one IAM client.
pub fn register(registry: &mut Registry, aws: &Arc<AwsContext>) {
    registry.add(role::RoleKind, aws);
    registry.add(openid_connect_provider::OpenIdConnectProviderKind, aws);
}

/// IAM's code for a role, provider or policy it does not know.
const NOT_FOUND: &str = "NoSuchEntity";

/// Reads at once: IAM has no batch read, and its request rate limits are low.
const READ_CONCURRENCY: usize = 8;

/// Runs `reads` (one Get* call each) a few at once and keeps what IAM still knows. The
/// futures are built by the caller: a closure inside the stream would not be `Send` for
/// every lifetime, which async_trait needs. KMS, which has no batch read either, shares it.
pub(crate) async fn get_each<T, Read>(reads: Vec<Read>) -> KindResult<Vec<T>>
where
    Read: Future<Output = KindResult<Option<T>>>,
{
    let found: Vec<Option<T>> = stream::iter(reads)
        .buffer_unordered(READ_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}

/// A Get* answer, `None` when IAM does not know the resource.
fn unless_gone<T>(answer: KindResult<T>) -> KindResult<Option<T>> {
    match answer {
        Ok(found) => Ok(Some(found)),
        Err(err) if err.has_code_in(&[NOT_FOUND]) => Ok(None),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::KindError;

    #[tokio::test]
    async fn get_each_keeps_what_iam_knows_and_fails_on_other_errors() {
        let gone = || KindError::new("iam:GetRole", Some(NOT_FOUND.into()), "gone");
        let read = |answer: KindResult<i32>| async move { unless_gone(answer) };
        let reads = vec![read(Ok(1)), read(Err(gone())), read(Ok(3))];
        let mut found = get_each(reads).await.unwrap();
        found.sort();
        assert_eq!(found, vec![1, 3]);
        let throttled = KindError::new("iam:GetRole", Some("Throttling".into()), "slow");
        let failed = get_each(vec![read(Err(throttled))]).await;
        assert_eq!(failed.unwrap_err().code.as_deref(), Some("Throttling"));
    }
}
