//! EKS tags: set by the Create call itself, then kept equal to the wanted set with
//! TagResource / UntagResource on the resource's ARN (clusters, node groups and add-ons
//! alike). DescribeCluster, DescribeNodegroup and DescribeAddon report the tags, so the
//! current set comes from the Describe an update makes anyway.

use crate::aws::common::{tag_changes, TagChanges};
use crate::aws::sdk_error;
use crate::kinds::{KindResult, Tags};
use aws_sdk_eks::Client;
use std::collections::HashMap;

/// The `tags` of a Create call; none when there is nothing to tag.
pub(super) fn for_create(tags: &Tags) -> Option<HashMap<String, String>> {
    if tags.is_empty() {
        return None;
    }
    Some(tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// A Describe response's tags as a sorted map.
pub(super) fn to_map(tags: Option<&HashMap<String, String>>) -> Tags {
    tags.into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Makes the tags of resource `arn` exactly `desired`, given what it carries now.
pub(super) async fn sync(
    eks: &Client,
    arn: &str,
    current: &Tags,
    desired: &Tags,
) -> KindResult<()> {
    let TagChanges { set, removed } = tag_changes(current, desired);
    if !set.is_empty() {
        eks.tag_resource()
            .resource_arn(arn)
            .set_tags(for_create(&set))
            .send()
            .await
            .map_err(|e| sdk_error("eks:TagResource", e))?;
    }
    if !removed.is_empty() {
        eks.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(removed))
            .send()
            .await
            .map_err(|e| sdk_error("eks:UntagResource", e))?;
    }
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
    fn create_tags_are_absent_when_empty_and_describe_tags_read_back() {
        assert_eq!(for_create(&Tags::new()), None);
        let wanted = tags(&[("a", "1"), ("b", "2")]);
        let sent = for_create(&wanted).unwrap();
        assert_eq!(to_map(Some(&sent)), wanted);
        assert_eq!(to_map(None), Tags::new());
    }
}
