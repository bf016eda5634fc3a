//! Tags on IAM resources, and the tag diff the IAM and RDS kinds share.

use crate::kinds::{KindError, KindResult, Tags};
use aws_sdk_iam::types::Tag;

/// IAM tags for a Create* or Tag* call.
pub(super) fn to_sdk(call: &str, tags: &Tags) -> KindResult<Vec<Tag>> {
    tags.iter()
        .map(|(key, value)| {
            Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|e| KindError::local(call, format!("tag {key}: {e}")))
        })
        .collect()
}

/// `None` when there is nothing to tag, so the call carries no empty list.
pub(super) fn at_creation(call: &str, tags: &Tags) -> KindResult<Option<Vec<Tag>>> {
    if tags.is_empty() {
        return Ok(None);
    }
    to_sdk(call, tags).map(Some)
}

pub(super) fn to_map(tags: &[Tag]) -> Tags {
    tags.iter()
        .map(|tag| (tag.key().to_string(), tag.value().to_string()))
        .collect()
}

/// What turns a resource's `current` tags into `desired`.
#[derive(Debug, PartialEq)]
pub(crate) struct TagChanges {
    /// New keys and keys with a new value.
    pub set: Tags,
    pub removed: Vec<String>,
}

pub(crate) fn changes(current: &Tags, desired: &Tags) -> TagChanges {
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
    fn changes_set_new_and_changed_keys_and_keep_aws_tags() {
        let current = tags(&[("Name", "old"), ("gone", "x"), ("aws:cloudformation", "y")]);
        let desired = tags(&[("Name", "new"), ("added", "2")]);
        assert_eq!(
            changes(&current, &desired),
            TagChanges {
                set: tags(&[("Name", "new"), ("added", "2")]),
                removed: vec!["gone".into()],
            }
        );
        let same = changes(&desired, &desired);
        assert!(same.set.is_empty() && same.removed.is_empty());
    }

    #[test]
    fn sdk_tags_round_trip_and_none_when_empty() {
        let wanted = tags(&[("a", "1"), ("b", "")]);
        let sdk = to_sdk("iam:CreateRole", &wanted).unwrap();
        assert_eq!(to_map(&sdk), wanted);
        assert!(at_creation("iam:CreateRole", &Tags::new())
            .unwrap()
            .is_none());
    }
}
