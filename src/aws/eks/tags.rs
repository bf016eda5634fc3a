//! EKS tags: set by the Create call itself, then changed with TagResource / UntagResource on
//! the resource's ARN (clusters, node groups and add-ons alike; the typed layer decides
//! what to set and remove). DescribeCluster, DescribeNodegroup and DescribeAddon report the
//! tags, so the current set comes from the Describe an update makes anyway.

use crate::aws::sdk_error;
use crate::kinds::{KindResult, TagApi, Tags};
use async_trait::async_trait;
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

/// EKS's tag calls, which take the resource's ARN.
pub(super) struct Eks(pub(super) Client);

#[async_trait]
impl TagApi for Eks {
    async fn tag(&self, arn: &str, tags: &Tags) -> KindResult<()> {
        let request = self.0.tag_resource().resource_arn(arn);
        let sent = request.set_tags(for_create(tags)).send().await;
        sent.map_err(|e| sdk_error("eks:TagResource", e))?;
        Ok(())
    }

    async fn untag(&self, arn: &str, keys: &[String]) -> KindResult<()> {
        let request = self.0.untag_resource().resource_arn(arn);
        let sent = request.set_tag_keys(Some(keys.to_vec())).send().await;
        sent.map_err(|e| sdk_error("eks:UntagResource", e))?;
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
    fn create_tags_are_absent_when_empty_and_describe_tags_read_back() {
        assert_eq!(for_create(&Tags::new()), None);
        let wanted = tags(&[("a", "1"), ("b", "2")]);
        let sent = for_create(&wanted).unwrap();
        assert_eq!(to_map(Some(&sent)), wanted);
        assert_eq!(to_map(None), Tags::new());
    }
}
