//! Refresh: read what AWS really has for every resource in state, batched per kind (one
//! `read_many` per kind, kinds concurrently), and tell drift (changed outside innovate)
//! apart from what the blueprint changes. The result is a refreshed copy of the state;
//! nothing is written here.

use crate::address::Address;
use crate::kinds::{find_made_by, same_value, KindError, Live, Registry, Schema, ADDRESS_TAG};
use crate::state::{ResourceState, State};
use futures::future::join_all;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// One resource that moved outside innovate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    pub address: Address,
    pub kind: String,
    pub id: String,
    #[serde(flatten)]
    pub change: DriftChange,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "drift", rename_all = "snake_case")]
pub enum DriftChange {
    /// Deleted outside innovate: the plan creates it again.
    Deleted,
    /// Attributes changed outside innovate: the plan sets them back.
    Changed { attributes: Vec<AttrDrift> },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttrDrift {
    pub attr: String,
    /// What the state recorded (what innovate last applied).
    pub expected: Option<Value>,
    /// What AWS has now.
    pub actual: Option<Value>,
}

pub struct Refreshed {
    pub state: State,
    pub drift: Vec<Drift>,
}

#[derive(Debug, thiserror::Error)]
#[error("refresh could not read {kind}{} ({count} resource(s)): {source}", in_account(.account))]
pub struct RefreshError {
    pub kind: String,
    /// The member account read (`None`: the caller's).
    pub account: Option<String>,
    pub count: usize,
    pub source: KindError,
}

fn in_account(account: &Option<String>) -> String {
    account
        .as_ref()
        .map(|a| format!(" in account {a}"))
        .unwrap_or_default()
}

/// The resources of one kind in one account: read with one `read_many`.
type Group = (Option<String>, String);

/// Reads every resource of `state` from AWS, each in its own account, and returns the
/// state as AWS has it, with the drift found. Resources of kinds this build does not know
/// are kept as they are.
pub async fn refresh(state: &State, registry: &Registry) -> Result<Refreshed, RefreshError> {
    let groups = group_by_account_and_kind(state);
    let reads = groups
        .iter()
        .filter(|((_, kind), _)| registry.get(kind).is_some())
        .map(|(group, members)| async move {
            let (account, kind) = group;
            let ids: Vec<String> = members.iter().map(|(_, r)| r.id.clone()).collect();
            let result = match registry.kind_in(account.as_deref(), kind).await {
                Ok(resource_kind) => resource_kind.read_many(&ids).await,
                Err(err) => Err(err),
            };
            (group, ids.len(), result)
        });
    let mut refreshed = state.clone();
    let mut drift = Vec::new();
    for (group, count, result) in join_all(reads).await {
        let lives = result.map_err(|source| RefreshError {
            kind: group.1.clone(),
            account: group.0.clone(),
            count,
            source,
        })?;
        for ((address, recorded), live) in groups[group].iter().zip(lives) {
            let schema = registry.schema(&group.1);
            if let Some(found) = compare(address, recorded, live, schema, &mut refreshed) {
                drift.push(found);
            }
        }
    }
    drift.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(Refreshed {
        state: refreshed,
        drift,
    })
}

fn group_by_account_and_kind(state: &State) -> BTreeMap<Group, Vec<(&Address, &ResourceState)>> {
    let mut groups: BTreeMap<Group, Vec<(&Address, &ResourceState)>> = BTreeMap::new();
    for (address, resource) in &state.resources {
        groups
            .entry((resource.account.clone(), resource.kind.clone()))
            .or_default()
            .push((address, resource));
    }
    groups
}

/// Updates `refreshed` with what AWS reported for one resource and says what drifted.
fn compare(
    address: &Address,
    recorded: &ResourceState,
    live: Option<Live>,
    schema: Option<&Schema>,
    refreshed: &mut State,
) -> Option<Drift> {
    let drift = |change| Drift {
        address: address.clone(),
        kind: recorded.kind.clone(),
        id: recorded.id.clone(),
        change,
    };
    let Some(live) = live else {
        refreshed.resources.remove(address);
        return Some(drift(DriftChange::Deleted));
    };
    let entry = refreshed.resources.get_mut(address)?;
    entry.outputs = live.outputs;
    let observed = live.attrs?;
    let mut attributes = Vec::new();
    for (attr, actual) in observed {
        // An attribute the blueprint never set is AWS's business, not drift.
        let Some(expected) = recorded.attrs.get(&attr) else {
            continue;
        };
        let same = match schema.and_then(|s| s.attr(&attr)) {
            Some(declared) => declared.same(expected, &actual),
            None => same_value(expected, &actual),
        };
        if same {
            continue;
        }
        attributes.push(AttrDrift {
            attr: attr.clone(),
            expected: Some(expected.clone()),
            actual: Some(actual.clone()),
        });
        entry.attrs.insert(attr, actual);
    }
    (!attributes.is_empty()).then(|| drift(DriftChange::Changed { attributes }))
}

#[cfg(test)]
mod tests;

/// The human report of drift ("changed outside innovate"), empty when there is none.
pub fn render_drift(drift: &[Drift]) -> String {
    let heading = format!(
        "Drift: {} resource(s) changed outside innovate since the last apply:",
        drift.len()
    );
    report_section(&heading, drift, render_one_drift, "\n")
}

fn render_one_drift(d: &Drift) -> String {
    let what = |how: &str| {
        format!(
            "  ! {} ({} {}) was {how} outside innovate\n",
            d.address, d.kind, d.id
        )
    };
    match &d.change {
        DriftChange::Deleted => what("deleted"),
        DriftChange::Changed { attributes } => {
            let mut out = what("changed");
            for a in attributes {
                out.push_str(&format!(
                    "      {}: expected {}, actual {}\n",
                    a.attr,
                    show(&a.expected),
                    show(&a.actual)
                ));
            }
            out
        }
    }
}

/// One section of a report about the estate: `heading`, a blank line, an entry per item,
/// then `footer`; nothing at all without items (the report leaves the section out).
pub fn report_section<T>(
    heading: &str,
    items: &[T],
    entry: impl Fn(&T) -> String,
    footer: &str,
) -> String {
    if items.is_empty() {
        return String::new();
    }
    let mut out = format!("{heading}\n\n");
    for item in items {
        out.push_str(&entry(item));
    }
    out.push_str(footer);
    out
}

fn show(value: &Option<Value>) -> String {
    value
        .as_ref()
        .map(crate::blueprint::template::show_value)
        .unwrap_or_else(|| "null".into())
}

/// A create that a previous run started but never recorded, and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recovered {
    pub address: Address,
    pub kind: String,
    /// The resource found and adopted; `None` when the create never reached AWS.
    pub adopted: Option<String>,
    /// Copies found beyond the adopted one (deleted by apply).
    pub duplicates: Vec<String>,
}

/// Settles the pending creates a crashed run left in `state`: each is looked for by its
/// identity and owner tags (or the id the blueprint gives it, then checked for those owner
/// tags) and adopted when found, so the plan does not create it twice. Only what that very
/// create made is adopted or deleted, never another state's resource. Extra copies are
/// deleted when `delete_duplicates` (apply only: plan never changes AWS).
pub async fn recover_pending(
    state: &mut State,
    registry: &Registry,
    identity: &crate::kinds::Tags,
    delete_duplicates: bool,
) -> Result<Vec<Recovered>, RefreshError> {
    let mut recovered = Vec::new();
    for pending in std::mem::take(&mut state.pending) {
        if registry.get(&pending.kind).is_none() {
            continue;
        }
        let err = |source| RefreshError {
            kind: pending.kind.clone(),
            account: pending.account.clone(),
            count: 1,
            source,
        };
        let kind = registry
            .kind_in(pending.account.as_deref(), &pending.kind)
            .await
            .map_err(err)?;
        let mut tags = identity.clone();
        tags.insert(ADDRESS_TAG.into(), pending.address.to_string());
        tags.extend(pending.owner.clone());
        let mut found = find_made_by(kind.as_ref(), &tags, pending.expected_id.as_deref())
            .await
            .map_err(err)?;
        found.sort_by(|a, b| a.id.cmp(&b.id));
        let mut found = found.into_iter();
        let adopted = found.next();
        let duplicates: Vec<Live> = found.collect();
        if delete_duplicates {
            let cx = crate::kinds::StepCx::silent(pending.address.to_string());
            for extra in &duplicates {
                kind.delete(&cx, extra, &Default::default())
                    .await
                    .map_err(err)?;
            }
        }
        if let Some(live) = &adopted {
            let mut attrs = pending.attrs.clone();
            attrs.extend(
                live.attrs
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|(k, _)| pending.attrs.contains_key(k)),
            );
            state.resources.insert(
                pending.address.clone(),
                ResourceState {
                    kind: pending.kind.clone(),
                    id: live.id.clone(),
                    attrs,
                    outputs: live.outputs.clone(),
                    depends_on: pending.depends_on.clone(),
                    account: pending.account.clone(),
                    owner: pending.owner.clone(),
                },
            );
        }
        recovered.push(Recovered {
            address: pending.address,
            kind: pending.kind,
            adopted: adopted.map(|l| l.id),
            duplicates: duplicates.into_iter().map(|l| l.id).collect(),
        });
    }
    Ok(recovered)
}
