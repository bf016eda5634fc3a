//! Tags on RDS resources: set at creation, and by ARN after (AddTagsToResource,
//! RemoveTagsFromResource). Subnet and parameter groups' describe calls leave tags out, so
//! their tags are asked for by ListTagsForResource.

use crate::aws::{aws_call, sdk_error, AwsContext};
use crate::kinds::{identity_tags, KindResult, Live, TagApi, Tagging, Tags};
use async_trait::async_trait;
use aws_sdk_rds::types::Tag;
use aws_sdk_rds::Client;

fn to_sdk(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect()
}

/// Tags for a Create* call; `None` when there is nothing to tag.
pub(super) fn at_creation(tags: &Tags) -> Option<Vec<Tag>> {
    (!tags.is_empty()).then(|| to_sdk(tags))
}

/// A `TagList` as a map.
pub(super) fn to_map(tags: &[Tag]) -> Tags {
    tags.iter()
        .filter_map(|tag| {
            Some((
                tag.key()?.to_string(),
                tag.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// The tags of the resource `arn`.
pub(super) async fn of(rds: &Client, arn: &str) -> KindResult<Tags> {
    let request = rds.list_tags_for_resource().resource_name(arn);
    let listed = aws_call("rds:ListTagsForResource", request.send()).await?;
    Ok(to_map(listed.tag_list()))
}

/// innovate's tags on a resource whose describe call leaves tags out (subnet and parameter
/// groups): read by the ARN among its outputs.
pub(super) async fn identity_of(rds: &Client, live: &Live) -> KindResult<Tags> {
    match live.outputs.get("arn").and_then(serde_json::Value::as_str) {
        Some(arn) => Ok(identity_tags(&of(rds, arn).await?)),
        None => Ok(Tags::new()),
    }
}

/// RDS's tag calls, which take the resource's ARN.
pub(super) struct Rds(pub(super) Client);

/// RDS tags a resource by its ARN.
pub(super) async fn by_arn(aws: &AwsContext, arn: &str) -> Tagging {
    Tagging::new(Rds(aws.rds().await.clone()), arn)
}

#[async_trait]
impl TagApi for Rds {
    async fn tag(&self, arn: &str, tags: &Tags) -> KindResult<()> {
        let request = self.0.add_tags_to_resource().resource_name(arn);
        let sent = request.set_tags(Some(to_sdk(tags))).send().await;
        sent.map_err(|e| sdk_error("rds:AddTagsToResource", e))?;
        Ok(())
    }

    async fn untag(&self, arn: &str, keys: &[String]) -> KindResult<()> {
        let request = self.0.remove_tags_from_resource();
        let request = request.resource_name(arn).set_tag_keys(Some(keys.to_vec()));
        let sent = request.send().await;
        sent.map_err(|e| sdk_error("rds:RemoveTagsFromResource", e))?;
        Ok(())
    }

    async fn list(&self, arn: &str) -> KindResult<Tags> {
        of(&self.0, arn).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_tags_round_trip_and_are_absent_when_empty() {
        assert!(at_creation(&Tags::new()).is_none());
        let wanted: Tags = [("a".to_string(), "1".to_string())].into();
        assert_eq!(to_map(&at_creation(&wanted).unwrap()), wanted);
    }
}
