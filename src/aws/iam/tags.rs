//! Tags on IAM resources; the typed layer decides what to tag and untag.

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::tag_map;

    #[test]
    fn sdk_tags_round_trip_and_none_when_empty() {
        let wanted = tag_map(&[("a", "1"), ("b", "")]);
        let sdk = to_sdk("iam:CreateRole", &wanted).unwrap();
        assert_eq!(to_map(&sdk), wanted);
        assert!(at_creation("iam:CreateRole", &Tags::new())
            .unwrap()
            .is_none());
    }
}
