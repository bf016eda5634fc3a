//! What AWS holds under this blueprint and env's identity tags, told apart by owner: this
//! state's resources, resources of no state this state knows (leftovers, or tagged before
//! owner tags existed), and other states' resources (another copy of the estate, a
//! teammate's local state, a lost state file). `drift` reports the last two apart; `plan`
//! and `apply` warn about other states' resources at the addresses they create.

use super::common::Loaded;
use crate::blueprint::UNKNOWN;
use crate::kinds::{Tags, ADDRESS_TAG, BLUEPRINT_TAG, ENV_TAG};
use crate::plan::{Action, Plan};
use crate::state::State;
use futures::future::join_all;
use serde::Serialize;
use std::collections::{BTreeSet, HashSet};

/// One resource carrying this blueprint and env's identity tags that the state does not know.
#[derive(Debug, Clone, Serialize)]
pub struct Tagged {
    pub kind: String,
    pub id: String,
    /// The member account it was found in (absent: the caller's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Its `innovate:address` tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The lineage of the state that created it (absent: it carries none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lineage: Option<String>,
    /// When the create that made it began, as its `innovate:created` tag says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

impl Tagged {
    /// "ec2.vpc vpc-1 at main (account 1234), lineage L, created T"
    pub fn describe(&self) -> String {
        let mut text = format!("{} {}", self.kind, self.id);
        if let Some(address) = &self.address {
            text.push_str(&format!(" at {address}"));
        }
        if let Some(account) = &self.account {
            text.push_str(&format!(" (account {account})"));
        }
        if let Some(lineage) = &self.lineage {
            text.push_str(&format!(", state lineage {lineage}"));
        }
        let created = self.created.as_deref().unwrap_or("at an unknown time");
        text.push_str(&format!(", created {created}"));
        text
    }
}

/// The resources the state does not know, sorted by owner.
#[derive(Debug, Default)]
pub struct Census {
    /// Carry this state's lineage, or none at all.
    pub untracked: Vec<Tagged>,
    /// Carry another state's lineage: never touched by this state.
    pub others: Vec<Tagged>,
    /// Listings that failed: "KIND[ in account A]: error".
    pub failed: Vec<String>,
}

/// A kind to list in an account (`None`: the caller's).
pub type Listing = (Option<String>, String);

/// Lists `wanted` by this blueprint and env's identity tags, concurrently, and sorts what the
/// state has no record of by owner. A listing that fails is noted in `failed`; the caller
/// decides whether that is an error.
pub async fn census(loaded: &Loaded, state: &State, wanted: &[Listing]) -> Census {
    let tags: Tags = [
        (BLUEPRINT_TAG.to_string(), loaded.blueprint.name.clone()),
        (ENV_TAG.to_string(), loaded.blueprint.env.clone()),
    ]
    .into();
    let listed = join_all(wanted.iter().map(|(account, name)| {
        let tags = &tags;
        async move {
            let kind = loaded.registry.kind_in(account.as_deref(), name).await?;
            kind.list_tagged(tags).await
        }
    }))
    .await;
    let known: HashSet<(Option<&str>, &str, &str)> = state
        .resources
        .values()
        .chain(state.deposed.iter().map(|d| &d.resource))
        .map(|r| (r.account.as_deref(), r.kind.as_str(), r.id.as_str()))
        .collect();
    let mut census = Census::default();
    for ((account, name), listing) in wanted.iter().zip(listed) {
        let place = account
            .as_ref()
            .map(|a| format!(" in account {a}"))
            .unwrap_or_default();
        let found = match listing {
            Ok(found) => found.unwrap_or_default(),
            Err(err) => {
                census.failed.push(format!("{name}{place}: {err}"));
                continue;
            }
        };
        for live in found {
            if known.contains(&(account.as_deref(), name.as_str(), live.id.as_str())) {
                continue;
            }
            let tagged = Tagged {
                kind: name.clone(),
                account: account.clone(),
                address: live.identity.get(ADDRESS_TAG).cloned(),
                lineage: live.lineage().map(str::to_string),
                created: live.created().map(str::to_string),
                id: live.id,
            };
            match &tagged.lineage {
                Some(lineage) if *lineage != state.lineage => census.others.push(tagged),
                _ => census.untracked.push(tagged),
            }
        }
    }
    census
}

/// The kinds a plan creates, in the accounts it creates them in (an account not created yet
/// holds nothing to find).
pub fn created_kinds(plan: &Plan) -> Vec<Listing> {
    let wanted: BTreeSet<Listing> = plan
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::Create | Action::Replace) && s.refused.is_none())
        .filter(|s| s.account.as_deref() != Some(UNKNOWN))
        .map(|s| (s.account.clone(), s.kind.clone()))
        .collect();
    wanted.into_iter().collect()
}

/// What `plan` and `apply` tell the operator before creating anything: other states'
/// resources at the addresses this plan creates (left alone), and, when this state is
/// empty, that AWS already holds this estate under another state (a lost state file?).
pub fn warnings(plan: &Plan, state: &State, census: &Census) -> Vec<String> {
    let mut warnings = Vec::new();
    let creating: HashSet<String> = plan
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::Create | Action::Replace))
        .map(|s| s.address.to_string())
        .collect();
    let mut beside: Vec<&Tagged> = census
        .others
        .iter()
        .filter(|other| other.address.as_ref().is_some_and(|a| creating.contains(a)))
        .collect();
    beside.sort_by(|a, b| (&a.address, &a.lineage).cmp(&(&b.address, &b.lineage)));
    if !beside.is_empty() {
        let mut text = format!(
            "Warning: AWS already has {} resource(s) of this blueprint and env, owned by other states, at addresses this plan creates. \
             innovate leaves them alone and creates this state's own:\n",
            beside.len()
        );
        for other in beside {
            text.push_str(&format!("  = {}\n", other.describe()));
        }
        warnings.push(text);
    }
    let foreign = census.others.len() + census.untracked.len();
    if state.resources.is_empty() && foreign > 0 {
        warnings.push(format!(
            "Warning: this state is empty, but AWS already holds {foreign} resource(s) tagged innovate:blueprint={}, innovate:env={} ({}). \
             If this state file was lost or points at the wrong place, stop: applying builds a second copy of the estate beside them. \
             To take them over instead, run `innovate import ADDRESS ID` for each; `innovate drift` lists them.\n",
            state.blueprint,
            state.env,
            lineages(census)
        ));
    }
    warnings
}

fn lineages(census: &Census) -> String {
    let owners: BTreeSet<String> = census
        .others
        .iter()
        .chain(&census.untracked)
        .map(|t| match &t.lineage {
            Some(lineage) => format!("state lineage {lineage}"),
            None => "no owner tag".to_string(),
        })
        .collect();
    owners.into_iter().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;
    use crate::plan::Step;
    use std::collections::BTreeMap;

    fn creating(addresses: &[&str]) -> Plan {
        let step = |address: &&str| Step {
            address: Address::single(*address),
            kind: "ec2.vpc".into(),
            action: Action::Create,
            changes: Vec::new(),
            create_before_destroy: false,
            deposed: false,
            ignored: Vec::new(),
            account: None,
            refused: None,
            note: None,
        };
        Plan {
            steps: addresses.iter().map(step).collect(),
            outputs: BTreeMap::new(),
            destroy: false,
        }
    }

    fn found(id: &str, address: &str, lineage: Option<&str>) -> Tagged {
        Tagged {
            kind: "ec2.vpc".into(),
            id: id.into(),
            account: None,
            address: Some(address.into()),
            lineage: lineage.map(str::to_string),
            created: Some("2026-12-03T10:00:00.000Z".into()),
        }
    }

    #[test]
    fn other_states_resources_at_created_addresses_are_named_with_their_owner() {
        let census = Census {
            others: vec![
                found("vpc-1", "main", Some("L1")),
                found("vpc-2", "old", Some("L2")),
            ],
            ..Census::default()
        };
        let mut state = State::new("net", "dev");
        state.resources.insert(
            Address::single("kept"),
            crate::state::ResourceState {
                kind: "ec2.vpc".into(),
                id: "vpc-9".into(),
                attrs: Default::default(),
                outputs: Default::default(),
                depends_on: Vec::new(),
                account: None,
                owner: Default::default(),
            },
        );
        let said = warnings(&creating(&["main"]), &state, &census);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].contains("1 resource(s)"), "{}", said[0]);
        assert!(
            said[0].contains(
                "  = ec2.vpc vpc-1 at main, state lineage L1, created 2026-12-03T10:00:00.000Z"
            ),
            "{}",
            said[0]
        );
        assert!(
            !said[0].contains("vpc-2"),
            "not an address this plan creates"
        );
    }

    #[test]
    fn an_empty_state_beside_an_existing_estate_names_the_way_to_take_it_over() {
        let census = Census {
            others: vec![found("vpc-1", "main", Some("L1"))],
            untracked: vec![found("vpc-3", "legacy", None)],
            ..Census::default()
        };
        let state = State::new("net", "dev");
        let said = warnings(&creating(&["main"]), &state, &census);
        assert_eq!(said.len(), 2, "{said:?}");
        let lost = &said[1];
        assert!(
            lost.contains("this state is empty, but AWS already holds 2 resource(s)"),
            "{lost}"
        );
        assert!(
            lost.contains("innovate:blueprint=net, innovate:env=dev"),
            "{lost}"
        );
        assert!(lost.contains("no owner tag, state lineage L1"), "{lost}");
        assert!(lost.contains("innovate import ADDRESS ID"), "{lost}");
        assert!(warnings(&creating(&["x"]), &state, &Census::default()).is_empty());
    }
}
