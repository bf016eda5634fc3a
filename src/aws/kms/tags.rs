//! Tags on KMS keys: set at creation (CreateKey's `Tags`), then only through TagResource /
//! UntagResource by key id; ListResourceTags reads them, since DescribeKey leaves them out.

use crate::aws::common::sdk_tags;
use crate::aws::sdk_error;
use crate::kinds::{KindResult, TagApi, Tags};
use async_trait::async_trait;
use aws_sdk_kms::types::Tag;
use aws_sdk_kms::Client;

/// KMS tags for CreateKey or TagResource; `None` when there is nothing to tag.
pub(super) fn at_creation(call: &str, tags: &Tags) -> KindResult<Option<Vec<Tag>>> {
    sdk_tags(call, tags, |key, value| {
        Tag::builder().tag_key(key).tag_value(value).build()
    })
}

/// The tags of key `id` (a key carries at most 50, ListResourceTags' largest page).
pub(super) async fn of_key(kms: &Client, id: &str) -> KindResult<Tags> {
    let request = kms.list_resource_tags().key_id(id).limit(50);
    let answer = request.send().await;
    let answer = answer.map_err(|e| sdk_error("kms:ListResourceTags", e))?;
    let pairs = answer.tags().iter();
    Ok(pairs
        .map(|tag| (tag.tag_key().to_string(), tag.tag_value().to_string()))
        .collect())
}

/// TagResource / UntagResource / ListResourceTags, by key id.
pub(super) struct Keys(pub(super) Client);

#[async_trait]
impl TagApi for Keys {
    async fn tag(&self, id: &str, tags: &Tags) -> KindResult<()> {
        let call = "kms:TagResource";
        let request = self.0.tag_resource().key_id(id);
        let sent = request.set_tags(at_creation(call, tags)?).send().await;
        sent.map_err(|e| sdk_error(call, e))?;
        Ok(())
    }

    async fn untag(&self, id: &str, keys: &[String]) -> KindResult<()> {
        let request = self.0.untag_resource().key_id(id);
        let sent = request.set_tag_keys(Some(keys.to_vec())).send().await;
        sent.map_err(|e| sdk_error("kms:UntagResource", e))?;
        Ok(())
    }

    async fn list(&self, id: &str) -> KindResult<Tags> {
        of_key(&self.0, id).await
    }
}
