//! CloudWatch Logs resource kinds, one per file. Log groups are tagged by ARN
//! (TagResource / UntagResource / ListTagsForResource); DescribeLogGroups leaves tags out.

mod log_group;

use crate::aws::{sdk_error, AwsContext};
use crate::kinds::{KindResult, Registry, TagApi, Tags};
use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::Client;
use std::sync::Arc;

/// Registers the CloudWatch Logs kinds, sharing `aws`'s one CloudWatch Logs client.
pub fn register(registry: &mut Registry, aws: &Arc<AwsContext>) {
    registry.add(log_group::LogGroupKind, aws);
}

/// CloudWatch Logs' code for a log group it does not know.
const NOT_FOUND: &str = "ResourceNotFoundException";

/// The tags of the resource `arn`.
async fn tags_of(logs: &Client, arn: &str) -> KindResult<Tags> {
    let listed = logs.list_tags_for_resource().resource_arn(arn).send().await;
    let listed = listed.map_err(|e| sdk_error("logs:ListTagsForResource", e))?;
    Ok(listed
        .tags()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect())
}

/// TagResource / UntagResource / ListTagsForResource, by ARN.
struct ByArn(Client);

#[async_trait]
impl TagApi for ByArn {
    async fn tag(&self, arn: &str, tags: &Tags) -> KindResult<()> {
        let pairs = tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let sent = self
            .0
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(pairs));
        sent.send()
            .await
            .map_err(|e| sdk_error("logs:TagResource", e))?;
        Ok(())
    }

    async fn untag(&self, arn: &str, keys: &[String]) -> KindResult<()> {
        let request = self.0.untag_resource().resource_arn(arn);
        let sent = request.set_tag_keys(Some(keys.to_vec())).send().await;
        sent.map_err(|e| sdk_error("logs:UntagResource", e))?;
        Ok(())
    }

    async fn list(&self, arn: &str) -> KindResult<Tags> {
        tags_of(&self.0, arn).await
    }
}
