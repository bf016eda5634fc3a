//! EC2 tags: set at creation through TagSpecifications, set and removed by the typed
//! layer's tag sync on update.

use crate::aws::sdk_error;
use crate::kinds::{KindResult, TagApi, Tags};
use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};

/// `TagSpecifications` for a Create* call; none when there is nothing to tag, since AWS
/// rejects a specification without tags.
pub(super) fn specification(resource: ResourceType, tags: &Tags) -> Option<Vec<TagSpecification>> {
    if tags.is_empty() {
        return None;
    }
    let spec = TagSpecification::builder()
        .resource_type(resource)
        .set_tags(Some(to_sdk(tags)))
        .build();
    Some(vec![spec])
}

fn to_sdk(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect()
}

/// A tag list from a Describe* response as a map.
pub(super) fn to_map(tags: &[Tag]) -> Tags {
    tags.iter()
        .filter_map(|tag| {
            Some((
                tag.key()?.to_string(),
                tag.value().unwrap_or("").to_string(),
            ))
        })
        .collect()
}

/// EC2's tag calls, which take the resource's id.
pub(super) struct Ec2(pub(super) aws_sdk_ec2::Client);

#[async_trait]
impl TagApi for Ec2 {
    async fn tag(&self, id: &str, tags: &Tags) -> KindResult<()> {
        let request = self.0.create_tags().resources(id);
        let sent = request.set_tags(Some(to_sdk(tags))).send().await;
        sent.map_err(|e| sdk_error("ec2:CreateTags", e))?;
        Ok(())
    }

    async fn untag(&self, id: &str, keys: &[String]) -> KindResult<()> {
        let keys = keys.iter().map(|key| Tag::builder().key(key).build());
        let request = self.0.delete_tags().resources(id);
        let sent = request.set_tags(Some(keys.collect())).send().await;
        sent.map_err(|e| sdk_error("ec2:DeleteTags", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn specification_carries_every_tag_and_is_absent_without_tags() {
        assert!(specification(ResourceType::Vpc, &Tags::new()).is_none());
        let specs = specification(ResourceType::Vpc, &tags(&[("a", "1"), ("b", "2")])).unwrap();
        assert_eq!(specs[0].resource_type(), Some(&ResourceType::Vpc));
        assert_eq!(to_map(specs[0].tags()), tags(&[("a", "1"), ("b", "2")]));
    }
}
