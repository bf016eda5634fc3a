//! EKS tags: set by the Create call itself, then kept equal to the wanted set with
//! TagResource / UntagResource on the resource's ARN (clusters, node groups and add-ons
//! alike). DescribeCluster, DescribeNodegroup and DescribeAddon report the tags, so the
//! current set comes from the Describe an update makes anyway.

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

/// What turns `current` into `desired`.
#[derive(Debug, PartialEq)]
struct TagChanges {
    /// New keys and keys with a new value.
    set: Tags,
    removed: Vec<String>,
}

fn changes(current: &Tags, desired: &Tags) -> TagChanges {
    let set = desired
        .iter()
        .filter(|(key, value)| current.get(*key) != Some(value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    // `aws:` tags belong to AWS services and cannot be removed by anyone else.
    let removed = current
        .keys()
        .filter(|key| !desired.contains_key(*key) && !key.starts_with("aws:"))
        .cloned()
        .collect();
    TagChanges { set, removed }
}

/// Makes the tags of resource `arn` exactly `desired`, given what it carries now.
pub(super) async fn sync(
    eks: &Client,
    arn: &str,
    current: &Tags,
    desired: &Tags,
) -> KindResult<()> {
    let TagChanges { set, removed } = changes(current, desired);
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
    fn changes_set_new_and_changed_keys_and_remove_dropped_ones() {
        let current = tags(&[
            ("Name", "old"),
            ("keep", "1"),
            ("gone", "x"),
            ("aws:eks:cluster-name", "y"),
        ]);
        let desired = tags(&[("Name", "new"), ("keep", "1"), ("added", "2")]);
        assert_eq!(
            changes(&current, &desired),
            TagChanges {
                set: tags(&[("Name", "new"), ("added", "2")]),
                removed: vec!["gone".into()]
            }
        );
        let same = changes(&desired, &desired);
        assert!(same.set.is_empty() && same.removed.is_empty());
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
