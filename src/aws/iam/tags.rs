//! Tags on IAM resources: set at creation, then by IAM's per-type tag calls (TagRole by
//! name, TagOpenIDConnectProvider by ARN); the typed layer decides what to set and remove.

use crate::aws::common::sdk_tags;
use crate::aws::sdk_error;
use crate::kinds::{KindResult, TagApi, Tags};
use async_trait::async_trait;
use aws_sdk_iam::types::Tag;
use aws_sdk_iam::Client;

/// IAM tags for a Create* or Tag* call; `None` when there is nothing to tag.
pub(super) fn at_creation(call: &str, tags: &Tags) -> KindResult<Option<Vec<Tag>>> {
    sdk_tags(call, tags, |key, value| {
        Tag::builder().key(key).value(value).build()
    })
}

pub(super) fn to_map(tags: &[Tag]) -> Tags {
    tags.iter()
        .map(|tag| (tag.key().to_string(), tag.value().to_string()))
        .collect()
}

/// TagRole / UntagRole, by role name.
pub(super) struct Roles(pub(super) Client);

#[async_trait]
impl TagApi for Roles {
    async fn tag(&self, name: &str, tags: &Tags) -> KindResult<()> {
        let call = "iam:TagRole";
        let request = self.0.tag_role().role_name(name);
        let sent = request.set_tags(at_creation(call, tags)?).send().await;
        sent.map_err(|e| sdk_error(call, e))?;
        Ok(())
    }

    async fn untag(&self, name: &str, keys: &[String]) -> KindResult<()> {
        let request = self.0.untag_role().role_name(name);
        let sent = request.set_tag_keys(Some(keys.to_vec())).send().await;
        sent.map_err(|e| sdk_error("iam:UntagRole", e))?;
        Ok(())
    }
}

/// TagOpenIDConnectProvider / UntagOpenIDConnectProvider, by provider ARN.
pub(super) struct OidcProviders(pub(super) Client);

#[async_trait]
impl TagApi for OidcProviders {
    async fn tag(&self, arn: &str, tags: &Tags) -> KindResult<()> {
        let call = "iam:TagOpenIDConnectProvider";
        let request = self.0.tag_open_id_connect_provider();
        let request = request.open_id_connect_provider_arn(arn);
        let sent = request.set_tags(at_creation(call, tags)?).send().await;
        sent.map_err(|e| sdk_error(call, e))?;
        Ok(())
    }

    async fn untag(&self, arn: &str, keys: &[String]) -> KindResult<()> {
        let call = "iam:UntagOpenIDConnectProvider";
        let request = self.0.untag_open_id_connect_provider();
        let request = request.open_id_connect_provider_arn(arn);
        let sent = request.set_tag_keys(Some(keys.to_vec())).send().await;
        sent.map_err(|e| sdk_error(call, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::tag_map;

    #[test]
    fn sdk_tags_round_trip_and_none_when_empty() {
        let wanted = tag_map(&[("a", "1"), ("b", "")]);
        let sdk = at_creation("iam:CreateRole", &wanted).unwrap().unwrap();
        assert_eq!(to_map(&sdk), wanted);
        assert!(at_creation("iam:CreateRole", &Tags::new())
            .unwrap()
            .is_none());
    }
}
