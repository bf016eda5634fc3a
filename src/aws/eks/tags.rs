//! EKS tags: set by the Create call itself, then changed with TagResource / UntagResource on
//! the resource's ARN (clusters, node groups and add-ons alike; the typed layer decides
//! what to set and remove). DescribeCluster, DescribeNodegroup and DescribeAddon report the
//! tags, so the current set comes from the Describe an update makes anyway.

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

/// Sets `tags` (new keys and new values) on resource `arn`.
pub(super) async fn tag(eks: &Client, arn: &str, tags: &Tags) -> KindResult<()> {
    eks.tag_resource()
        .resource_arn(arn)
        .set_tags(for_create(tags))
        .send()
        .await
        .map_err(|e| sdk_error("eks:TagResource", e))?;
    Ok(())
}

/// Removes the tag `keys` from resource `arn`.
pub(super) async fn untag(eks: &Client, arn: &str, keys: &[String]) -> KindResult<()> {
    eks.untag_resource()
        .resource_arn(arn)
        .set_tag_keys(Some(keys.to_vec()))
        .send()
        .await
        .map_err(|e| sdk_error("eks:UntagResource", e))?;
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
