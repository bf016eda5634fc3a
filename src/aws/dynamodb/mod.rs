//! DynamoDB resource kinds, one per file. Tables are tagged by ARN (TagResource /
//! UntagResource / ListTagsOfResource); DescribeTable leaves tags out.

mod table;

use crate::aws::{sdk_error, AwsContext};
use crate::kinds::{KindError, KindResult, Registry, TagApi, Tags};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::Tag;
use aws_sdk_dynamodb::Client;
use std::sync::Arc;

/// Registers the DynamoDB kinds, sharing `aws`'s one DynamoDB client.
pub fn register(registry: &mut Registry, aws: &Arc<AwsContext>) {
    registry.add(table::TableKind, aws);
}

/// DynamoDB tags for CreateTable or TagResource; `None` when there is nothing to tag.
fn sdk_tags(call: &str, tags: &Tags) -> KindResult<Option<Vec<Tag>>> {
    crate::aws::common::sdk_tags(call, tags, |key, value| {
        Tag::builder().key(key).value(value).build()
    })
}

/// The tags of the resource `arn`, every page of them.
async fn tags_of(ddb: &Client, arn: &str) -> KindResult<Tags> {
    let (mut tags, mut token) = (Tags::new(), None);
    loop {
        let request = ddb.list_tags_of_resource().resource_arn(arn);
        let page = request.set_next_token(token).send().await;
        let page = page.map_err(|e| sdk_error("dynamodb:ListTagsOfResource", e))?;
        let pairs = page.tags().iter();
        tags.extend(pairs.map(|t| (t.key().to_string(), t.value().to_string())));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(tags);
        }
    }
}

/// TagResource / UntagResource / ListTagsOfResource, by ARN.
struct ByArn(Client);

#[async_trait]
impl TagApi for ByArn {
    async fn tag(&self, arn: &str, tags: &Tags) -> KindResult<()> {
        let call = "dynamodb:TagResource";
        let request = self.0.tag_resource().resource_arn(arn);
        let sent = request.set_tags(sdk_tags(call, tags)?).send().await;
        sent.map_err(|e| sdk_error(call, e))?;
        Ok(())
    }

    async fn untag(&self, arn: &str, keys: &[String]) -> KindResult<()> {
        let request = self.0.untag_resource().resource_arn(arn);
        let sent = request.set_tag_keys(Some(keys.to_vec())).send().await;
        sent.map_err(|e| sdk_error("dynamodb:UntagResource", e))?;
        Ok(())
    }

    async fn list(&self, arn: &str) -> KindResult<Tags> {
        tags_of(&self.0, arn).await
    }
}

/// A request that cannot be built (a required field missing) as an error of `call`.
fn unbuildable(call: &str, err: impl std::fmt::Display) -> KindError {
    KindError::local(call, format!("request cannot be built: {err}"))
}
