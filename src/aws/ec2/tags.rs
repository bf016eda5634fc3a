//! EC2 tags: set at creation through TagSpecifications, set and removed by the typed
//! layer's tag sync on update.

use crate::aws::sdk_error;
use crate::kinds::{KindResult, Tags};
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

/// Sets `tags` on resource `id` (the typed layer's tag half of a tag sync).
pub(super) async fn tag(ec2: &aws_sdk_ec2::Client, id: &str, tags: &Tags) -> KindResult<()> {
    ec2.create_tags()
        .resources(id)
        .set_tags(Some(to_sdk(tags)))
        .send()
        .await
        .map_err(|e| sdk_error("ec2:CreateTags", e))?;
    Ok(())
}

/// Removes the tag `keys` from resource `id`.
pub(super) async fn untag(ec2: &aws_sdk_ec2::Client, id: &str, keys: &[String]) -> KindResult<()> {
    let keys = keys.iter().map(|key| Tag::builder().key(key).build());
    ec2.delete_tags()
        .resources(id)
        .set_tags(Some(keys.collect()))
        .send()
        .await
        .map_err(|e| sdk_error("ec2:DeleteTags", e))?;
    Ok(())
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
