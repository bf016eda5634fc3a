//! S3 resource kinds, one per file: buckets ([`bucket`]) with their lifecycle rules
//! ([`lifecycle`]). What S3 shares across a bucket's calls lives here: its "no such
//! bucket" code, tag calls (S3 replaces a bucket's whole tag set at once) and the
//! builder errors of its SDK types.

mod bucket;
mod lifecycle;

pub(crate) use bucket::name_problem as bucket_name_problem;

use crate::aws::common::{sdk_tags, unless_absent as unless};
use crate::aws::AwsContext;
use crate::kinds::{KindError, KindResult, Registry, TagApi, Tags};
use crate::send;
use async_trait::async_trait;
use aws_sdk_s3::error::BuildError;
use aws_sdk_s3::types::{Tag, Tagging};
use aws_sdk_s3::Client;
use std::sync::Arc;

/// Registers the S3 kinds, sharing `aws`'s one S3 client.
pub fn register(registry: &mut Registry, aws: &Arc<AwsContext>) {
    registry.add(bucket::BucketKind, aws);
}

/// S3's answer for a bucket that does not exist (or is not visible yet).
const NOT_FOUND: &str = "NoSuchBucket";
/// GetBucketTagging on a bucket without tags.
const NO_TAGS: &str = "NoSuchTagSet";

/// An SDK type built for `call`; a missing required field is innovate's mistake.
fn built<T>(call: &str, value: Result<T, BuildError>) -> KindResult<T> {
    value.map_err(|e| KindError::local(call, e.to_string()))
}

/// The tags bucket `name` carries (none: NoSuchTagSet).
async fn tags_of(s3: &Client, name: &str) -> KindResult<Tags> {
    let got = send!("s3:GetBucketTagging", s3.get_bucket_tagging().bucket(name));
    let got = unless(NO_TAGS, got)?;
    let pairs = got.iter().flat_map(|g| g.tag_set());
    Ok(pairs
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

/// Makes `tags` the bucket's whole tag set. `aws:` tags are S3's own and cannot be written.
async fn put_tags(s3: &Client, name: &str, tags: &Tags) -> KindResult<()> {
    let call = "s3:PutBucketTagging";
    let own: Tags = tags
        .iter()
        .filter(|(key, _)| !key.starts_with("aws:"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if own.is_empty() {
        let request = s3.delete_bucket_tagging().bucket(name);
        return send!("s3:DeleteBucketTagging", request).map(drop);
    }
    let set = sdk_tags(call, &own, |k, v| Tag::builder().key(k).value(v).build())?;
    let tagging = built(call, Tagging::builder().set_tag_set(set).build())?;
    send!(call, s3.put_bucket_tagging().bucket(name).tagging(tagging)).map(drop)
}

/// S3 has no per-key tag calls: each change reads the set and writes it back whole.
struct BucketTags(Client);

#[async_trait]
impl TagApi for BucketTags {
    async fn tag(&self, name: &str, tags: &Tags) -> KindResult<()> {
        let mut all = tags_of(&self.0, name).await?;
        all.extend(tags.clone());
        put_tags(&self.0, name, &all).await
    }

    async fn untag(&self, name: &str, keys: &[String]) -> KindResult<()> {
        let mut all = tags_of(&self.0, name).await?;
        all.retain(|key, _| !keys.contains(key));
        put_tags(&self.0, name, &all).await
    }

    async fn list(&self, name: &str) -> KindResult<Tags> {
        tags_of(&self.0, name).await
    }
}
