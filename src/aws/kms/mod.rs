//! KMS resource kinds, one per file: customer-managed keys and their aliases. [`tags`]
//! converts and syncs key tags. KMS has no batch describe: keys are read one DescribeKey
//! each, a few at once; aliases come from one ListAliases listing for any number of names.

mod alias;
mod key;
mod tags;

use crate::aws::AwsContext;
use crate::kinds::{KindResult, Registry, Typed};
use futures::stream::{self, StreamExt, TryStreamExt};
use std::future::Future;
use std::sync::Arc;

/// Registers the KMS kinds, sharing `aws`'s one KMS client.
pub fn register(registry: &mut Registry, aws: &Arc<AwsContext>) {
    registry.register(Arc::new(Typed(key::KeyKind(aws.clone()))));
    registry.register(Arc::new(Typed(alias::AliasKind(aws.clone()))));
}

/// KMS's code for a key or alias it does not know.
const NOT_FOUND: &str = "NotFoundException";

/// Keys read at once: each read is four calls, and KMS's shared request quota is per
/// account (DescribeKey and the other read calls share it).
const READ_CONCURRENCY: usize = 8;

/// Runs `reads` (one key each) a few at once and keeps the keys still there. The futures
/// are built by the caller, so the stream stays `Send` for async_trait.
async fn each_found<T, Read>(reads: Vec<Read>) -> KindResult<Vec<T>>
where
    Read: Future<Output = KindResult<Option<T>>>,
{
    let found: Vec<Option<T>> = stream::iter(reads)
        .buffer_unordered(READ_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}
