//! Tags as every service treats them: whose they are (the user's, innovate's, AWS's) and
//! what turns the tags a resource carries into the wanted ones.

use super::{KindResult, Tags};
use async_trait::async_trait;
use serde_json::Value;

/// A service's tag calls (EC2's CreateTags / DeleteTags, EKS's TagResource / UntagResource,
/// ...), addressing a resource by the name they take: its id, or its ARN.
#[async_trait]
pub trait TagApi: Send + Sync {
    /// Sets `tags` (new keys and new values) on `resource`.
    async fn tag(&self, resource: &str, tags: &Tags) -> KindResult<()>;
    /// Removes the tag `keys` from `resource`.
    async fn untag(&self, resource: &str, keys: &[String]) -> KindResult<()>;

    /// The tags `resource` carries, for services whose describe calls leave them out
    /// (RDS subnet and parameter groups); the others report tags with the resource.
    async fn list(&self, resource: &str) -> KindResult<Tags> {
        let message = format!("{resource}: tags come with the describe call, not a list call");
        Err(super::KindError::local("tags", message))
    }
}

/// Where a tag sync reaches one resource: its service's tag calls and its name there.
pub struct Tagging {
    api: Box<dyn TagApi>,
    resource: String,
}

impl Tagging {
    pub fn new(api: impl TagApi + 'static, resource: &str) -> Tagging {
        let (api, resource) = (Box::new(api), resource.to_string());
        Tagging { api, resource }
    }

    /// The tags the resource carries: `described` when its describe call reported them,
    /// else asked for with the service's list call.
    pub async fn carried(&self, described: Option<Tags>) -> KindResult<Tags> {
        match described {
            Some(tags) => Ok(tags),
            None => self.api.list(&self.resource).await,
        }
    }

    /// Makes the resource's tags, `carried` now, exactly `desired`: one call for what to
    /// set, one for what to remove (`aws:` tags are left alone), none when they agree.
    pub async fn sync(&self, carried: &Tags, desired: &Tags) -> KindResult<()> {
        let TagChanges { set, removed } = tag_changes(carried, desired);
        if !set.is_empty() {
            self.api.tag(&self.resource, &set).await?;
        }
        if !removed.is_empty() {
            self.api.untag(&self.resource, &removed).await?;
        }
        Ok(())
    }
}

/// A tag map from `(key, value)` pairs.
pub fn tag_map(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// Tag keys that are not the user's: innovate's identity tags and AWS's own (`aws:` tags
/// belong to AWS services and cannot be set or removed by anyone else).
const FOREIGN_TAG_PREFIXES: [&str; 2] = ["innovate:", "aws:"];

fn is_user_tag(key: &str) -> bool {
    !FOREIGN_TAG_PREFIXES
        .iter()
        .any(|prefix| key.starts_with(prefix))
}

/// The `tags` attribute as state records it: the tags a resource carries, without
/// innovate's identity tags and without AWS's `aws:` tags.
pub fn user_tags(tags: &Tags) -> Value {
    let user = tags
        .iter()
        .filter(|(key, _)| is_user_tag(key))
        .map(|(key, value)| (key.clone(), Value::String(value.clone())));
    Value::Object(user.collect())
}

/// Whether a resource carrying `tags` carries every one of `wanted`.
pub fn carries_all(tags: &Tags, wanted: &Tags) -> bool {
    wanted
        .iter()
        .all(|(key, value)| tags.get(key) == Some(value))
}

/// What turns a resource's `current` tags into `desired`.
#[derive(Debug, PartialEq)]
pub struct TagChanges {
    /// New keys and keys with a new value.
    pub set: Tags,
    pub removed: Vec<String>,
}

/// The tag calls of every service: set what is new or changed, remove what is no longer
/// wanted, except `aws:` tags, which only AWS may remove.
pub fn tag_changes(current: &Tags, desired: &Tags) -> TagChanges {
    let set = desired
        .iter()
        .filter(|(key, value)| current.get(*key) != Some(value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
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
    use serde_json::json;

    #[test]
    fn tag_changes_set_new_and_changed_keys_and_remove_dropped_ones_but_aws_tags() {
        let current = tag_map(&[
            ("Name", "old"),
            ("keep", "1"),
            ("gone", "x"),
            ("aws:cloudformation:stack-name", "y"),
        ]);
        let desired = tag_map(&[("Name", "new"), ("keep", "1"), ("added", "2")]);
        assert_eq!(
            tag_changes(&current, &desired),
            TagChanges {
                set: tag_map(&[("Name", "new"), ("added", "2")]),
                removed: vec!["gone".into()]
            }
        );
        let same = tag_changes(&desired, &desired);
        assert!(same.set.is_empty() && same.removed.is_empty());
    }

    #[test]
    fn user_tags_leave_out_identity_and_aws_tags() {
        let carried = tag_map(&[
            ("Name", "web"),
            ("innovate:blueprint", "net"),
            ("innovate:address", "web"),
            ("aws:eks:cluster-name", "prod"),
            ("team", "platform"),
        ]);
        assert_eq!(
            user_tags(&carried),
            json!({"Name": "web", "team": "platform"})
        );
        assert_eq!(user_tags(&Tags::new()), json!({}));
        let wanted = tag_map(&[("innovate:blueprint", "net")]);
        assert!(carries_all(&carried, &wanted));
        assert!(!carries_all(&tag_map(&[("Name", "web")]), &wanted));
        assert!(carries_all(&Tags::new(), &Tags::new()));
    }
}
