//! Tags on roots, OUs, accounts and policies: set at creation, read by ListTagsForResource
//! (no Describe reports them), changed by TagResource / UntagResource on the resource's id.

use super::changing;
use crate::aws::common::sdk_tags;
use crate::aws::{sdk_error, AwsContext};
use crate::kinds::{KindResult, TagApi, Tagging, Tags};
use async_trait::async_trait;
use aws_sdk_organizations::types::Tag;
use aws_sdk_organizations::Client;

/// Organizations tags for a Create* or TagResource call; `None` when there is nothing to
/// tag.
pub(super) fn for_create(call: &str, tags: &Tags) -> KindResult<Option<Vec<Tag>>> {
    sdk_tags(call, tags, |key, value| {
        Tag::builder().key(key).value(value).build()
    })
}

/// Organizations tags a resource by its id.
pub(super) async fn tagging_by_id(aws: &AwsContext, id: &str) -> Tagging {
    Tagging::new(Organizations(aws.organizations().await.clone()), id)
}

/// The tags of a root, OU, account or policy, by its id.
pub(super) async fn tags_of(org: &Client, id: &str) -> KindResult<Tags> {
    let request = org.list_tags_for_resource().resource_id(id);
    let pages: Vec<_> = request
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("organizations:ListTagsForResource", e))?;
    let tags = pages.iter().flat_map(|page| page.tags());
    Ok(tags
        .map(|tag| (tag.key().to_string(), tag.value().to_string()))
        .collect())
}

/// Makes the tags of an adopted resource exactly `desired` (`aws:` tags are left alone):
/// it gets today's tags, as an update would give it.
pub(super) async fn retag(org: &Client, id: &str, desired: &Tags) -> KindResult<()> {
    let carried = tags_of(org, id).await?;
    Tagging::new(Organizations(org.clone()), id)
        .sync(&carried, desired)
        .await
}

/// TagResource / UntagResource by resource id, sent again while the organization is busy
/// with another change ([`changing`]).
pub(super) struct Organizations(pub(super) Client);

#[async_trait]
impl TagApi for Organizations {
    async fn tag(&self, id: &str, tags: &Tags) -> KindResult<()> {
        let call = "organizations:TagResource";
        let (org, tags) = (&self.0, &for_create(call, tags)?);
        changing(|| async move {
            let request = org.tag_resource().resource_id(id);
            let sent = request.set_tags(tags.clone()).send().await;
            sent.map(drop).map_err(|e| sdk_error(call, e))
        })
        .await
    }

    async fn untag(&self, id: &str, keys: &[String]) -> KindResult<()> {
        let (org, call) = (&self.0, "organizations:UntagResource");
        changing(|| async move {
            let request = org.untag_resource().resource_id(id);
            let sent = request.set_tag_keys(Some(keys.to_vec())).send().await;
            sent.map(drop).map_err(|e| sdk_error(call, e))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::tag_map;

    #[test]
    fn tags_convert_and_are_absent_when_empty() {
        let wanted = tag_map(&[("a", "1"), ("b", "")]);
        let sdk = for_create("organizations:TagResource", &wanted)
            .unwrap()
            .unwrap();
        let back: Tags = sdk
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        assert_eq!(back, wanted);
        assert!(for_create("organizations:CreatePolicy", &Tags::new())
            .unwrap()
            .is_none());
    }
}
