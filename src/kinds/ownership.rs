//! Whose a resource is. innovate tags what it creates with the estate's identity (blueprint,
//! env, address) and with its owner (the state's lineage, and the stamp of the create that
//! made it). Any state of the same blueprint and env carries the same identity; only the
//! owner tags tell one state's resources from another's, so everything that finds resources
//! by tag (crash recovery, the duplicate sweep, adoption after a conflict) goes by them.

use super::{KindResult, Live, ResourceKind, Tags};

pub const BLUEPRINT_TAG: &str = "innovate:blueprint";
pub const ENV_TAG: &str = "innovate:env";
pub const ADDRESS_TAG: &str = "innovate:address";
/// The estate's identity of a resource: blueprint, environment, address.
pub const IDENTITY_TAGS: [&str; 3] = [BLUEPRINT_TAG, ENV_TAG, ADDRESS_TAG];

pub const LINEAGE_TAG: &str = "innovate:lineage";
pub const CREATED_TAG: &str = "innovate:created";
/// Which state owns a resource: the state's lineage, and when the create that made it began
/// (one stamp per create, so copies a retried create left are told apart from an older
/// resource at the same address, the old half of a create-before-destroy replace).
pub const OWNER_TAGS: [&str; 2] = [LINEAGE_TAG, CREATED_TAG];

/// Every innovate tag of a resource's full tag set: identity and owner.
pub fn identity_tags(tags: &Tags) -> Tags {
    select(tags, |key| {
        IDENTITY_TAGS.contains(&key) || OWNER_TAGS.contains(&key)
    })
}

/// The owner part of a tag set ([`OWNER_TAGS`]).
pub fn owner_tags(tags: &Tags) -> Tags {
    select(tags, |key| OWNER_TAGS.contains(&key))
}

fn select(tags: &Tags, keep: impl Fn(&str) -> bool) -> Tags {
    tags.iter()
        .filter(|(key, _)| keep(key))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// Whether `tags` hold a full identity: blueprint, env, address, lineage and created stamp.
pub fn is_full_identity(tags: &Tags) -> bool {
    IDENTITY_TAGS
        .iter()
        .chain(OWNER_TAGS.iter())
        .all(|key| tags.contains_key(*key))
}

/// Whether a resource carrying `carried` was made by the create whose owner tags are
/// `owner`. An empty `owner` (an intent written before owner tags existed) matches only a
/// resource that carries no lineage at all: never another state's.
fn made_by(carried: &Tags, owner: &Tags) -> bool {
    if owner.is_empty() {
        return !carried.contains_key(LINEAGE_TAG);
    }
    owner
        .iter()
        .all(|(key, value)| carried.get(key) == Some(value))
}

/// The resources one create made: listed by `identity` (its full identity tags) where the
/// kind can list by tag, else read by the id the blueprint gives it (`expected_id`); either
/// way kept only when they carry the create's owner tags. Each comes back with the innovate
/// tags it carries in `identity`.
pub async fn find_made_by(
    kind: &dyn ResourceKind,
    identity: &Tags,
    expected_id: Option<&str>,
) -> KindResult<Vec<Live>> {
    let found = match kind.list_tagged(identity).await? {
        Some(found) => found,
        None => match expected_id {
            Some(id) => kind.read_many(&[id.to_string()]).await?,
            None => Vec::new(),
        }
        .into_iter()
        .flatten()
        .collect(),
    };
    let owner = owner_tags(identity);
    let mut made = Vec::new();
    for mut live in found {
        live.identity = kind.identity_of(&live).await?;
        if made_by(&live.identity, &owner) {
            made.push(live);
        }
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::kinds::tag_map as tags;

    #[test]
    fn a_create_owns_only_what_carries_its_lineage_and_stamp() {
        let owner = tags(&[(LINEAGE_TAG, "a"), (CREATED_TAG, "t1")]);
        assert!(made_by(
            &tags(&[(LINEAGE_TAG, "a"), (CREATED_TAG, "t1")]),
            &owner
        ));
        assert!(!made_by(
            &tags(&[(LINEAGE_TAG, "b"), (CREATED_TAG, "t1")]),
            &owner
        ));
        assert!(!made_by(
            &tags(&[(LINEAGE_TAG, "a"), (CREATED_TAG, "t0")]),
            &owner
        ));
        assert!(!made_by(&tags(&[(LINEAGE_TAG, "a")]), &owner));
        assert!(!made_by(&Tags::new(), &owner));
    }

    #[test]
    fn an_intent_from_before_owner_tags_finds_only_unowned_resources() {
        assert!(made_by(&tags(&[(ADDRESS_TAG, "x")]), &Tags::new()));
        assert!(!made_by(&tags(&[(LINEAGE_TAG, "b")]), &Tags::new()));
    }

    #[test]
    fn the_identity_part_keeps_innovate_tags_only() {
        let all = tags(&[
            (BLUEPRINT_TAG, "net"),
            (LINEAGE_TAG, "a"),
            (CREATED_TAG, "t"),
            ("Name", "web"),
        ]);
        assert_eq!(identity_tags(&all).len(), 3);
        assert_eq!(
            owner_tags(&all),
            tags(&[(LINEAGE_TAG, "a"), (CREATED_TAG, "t")])
        );
        assert!(!is_full_identity(&all), "no env, no address");
    }
}
