//! Tags on RDS resources: set at creation, kept equal to the wanted set on update by ARN.

use crate::aws::common::tag_changes;
use crate::aws::sdk_error;
use crate::kinds::{KindResult, Tags};
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

/// Makes the tags of the resource `arn` exactly `desired`.
pub(super) async fn sync(rds: &Client, arn: &str, desired: &Tags) -> KindResult<()> {
    let listed = rds
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .map_err(|e| sdk_error("rds:ListTagsForResource", e))?;
    let changes = tag_changes(&to_map(listed.tag_list()), desired);
    if !changes.set.is_empty() {
        rds.add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(to_sdk(&changes.set)))
            .send()
            .await
            .map_err(|e| sdk_error("rds:AddTagsToResource", e))?;
    }
    if !changes.removed.is_empty() {
        rds.remove_tags_from_resource()
            .resource_name(arn)
            .set_tag_keys(Some(changes.removed))
            .send()
            .await
            .map_err(|e| sdk_error("rds:RemoveTagsFromResource", e))?;
    }
    Ok(())
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
