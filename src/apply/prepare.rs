//! What one operation sends to AWS, resolved from the state as it is right before the
//! operation starts: the desired attributes, the tags (the user's, innovate's identity and
//! ownership tags), the account it acts in and its timeout.

use super::intents;
use super::ops::{Op, OpKind};
use crate::address::Address;
use crate::blueprint::template::{contains_unknown, UNKNOWN};
use crate::blueprint::Blueprint;
use crate::kinds::{
    Attrs, KindError, Registry, ResourceKind, Tags, ADDRESS_TAG, BLUEPRINT_TAG, CREATED_TAG,
    ENV_TAG, LINEAGE_TAG,
};
use crate::plan::{desired_attrs, keep_ignored};
use crate::state::{ResourceState, State};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Everything one operation needs, prepared while holding the state.
pub(super) struct Prepared {
    pub(super) index: usize,
    pub(super) address: Address,
    pub(super) kind: OpKind,
    /// The kind in the caller's account: its schema, and where nothing is placed, its calls.
    pub(super) resource: Arc<dyn ResourceKind>,
    /// The account the operation acts in (`None`: the caller's), and where to reach it.
    pub(super) account: Option<String>,
    pub(super) registry: Registry,
    pub(super) desired: Attrs,
    pub(super) prior: Option<ResourceState>,
    pub(super) tags: Tags,
    pub(super) timeout: Option<Duration>,
}

/// Resolves what the operation sends to AWS from the state as it is now (every
/// dependency is done, so every reference is known).
pub(super) fn prepare(
    index: usize,
    op: &Op,
    blueprint: &Blueprint,
    state: &State,
    registry: &Registry,
) -> Result<Prepared, KindError> {
    let prior = if op.deposed {
        state
            .deposed
            .iter()
            .find(|d| d.address == op.address)
            .map(|d| d.resource.clone())
    } else {
        state.resources.get(&op.address).cloned()
    };
    let kind_name = match (op.kind, &prior) {
        (OpKind::Delete, Some(p)) => p.kind.clone(),
        _ => blueprint
            .instance(&op.address)
            .map(|i| i.kind.clone())
            .unwrap_or_default(),
    };
    let resource = registry.get(&kind_name).cloned().ok_or_else(|| {
        KindError::local(
            "innovate",
            format!("unknown kind `{kind_name}` (from a newer innovate?)"),
        )
    })?;
    let schema = resource.schema();
    let (desired, tags) = match op.kind {
        OpKind::Delete => (Attrs::new(), Tags::new()),
        OpKind::Create | OpKind::Update => {
            let instance = blueprint.instance(&op.address).ok_or_else(|| {
                KindError::local("innovate", "instance missing from the blueprint")
            })?;
            let mut desired = desired_attrs(instance, schema, &|a, attr| read_now(state, a, attr));
            keep_ignored(
                &mut desired,
                prior.as_ref(),
                &instance.lifecycle.ignore_changes,
            );
            if contains_unknown(&Value::Object(desired.clone())) {
                return Err(KindError::local(
                    "innovate",
                    "a referenced value is still unknown; was a dependency skipped?",
                ));
            }
            let tags = if schema.taggable {
                let mut tags = tags_for(blueprint, &op.address, &desired);
                tags.extend(ownership(op.kind, state, prior.as_ref()));
                tags
            } else {
                Tags::new()
            };
            (desired, tags)
        }
    };
    let account = account_of(op, blueprint, state, prior.as_ref())?;
    let timeouts = blueprint
        .instance(&op.address)
        .map(|i| i.timeouts.clone())
        .unwrap_or_default();
    let timeout = match op.kind {
        OpKind::Create => timeouts.create,
        OpKind::Update => timeouts.update,
        OpKind::Delete => timeouts.delete,
    };
    Ok(Prepared {
        index,
        address: op.address.clone(),
        kind: op.kind,
        resource,
        account,
        registry: registry.clone(),
        desired,
        prior,
        tags,
        timeout,
    })
}

/// The account an operation acts in: where the resource was made for updates and deletes,
/// where the blueprint places it for creates (its account is created by now).
fn account_of(
    op: &Op,
    blueprint: &Blueprint,
    state: &State,
    prior: Option<&ResourceState>,
) -> Result<Option<String>, KindError> {
    if op.kind != OpKind::Create {
        return Ok(prior.and_then(|p| p.account.clone()));
    }
    let account = blueprint
        .instance(&op.address)
        .and_then(|i| i.resolve_account(&|a, attr| read_now(state, a, attr)));
    if account.as_deref() == Some(UNKNOWN) {
        return Err(KindError::local(
            "innovate",
            "the account it is placed in is still unknown; was that account skipped?",
        ));
    }
    Ok(account)
}

/// The user's tags plus innovate's identity tags (which win: they are how innovate finds
/// what it made).
pub fn tags_for(blueprint: &Blueprint, address: &Address, desired: &Attrs) -> Tags {
    let mut tags: Tags = desired
        .get("tags")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    tags.insert(BLUEPRINT_TAG.into(), blueprint.name.clone());
    tags.insert(ENV_TAG.into(), blueprint.env.clone());
    tags.insert(ADDRESS_TAG.into(), address.to_string());
    tags
}

/// The ownership tags an operation sends: this state's lineage, and the stamp of the create
/// that made the resource (a new one for a create; an update keeps the one it has, and a
/// resource from before ownership tags gets the lineage alone).
fn ownership(kind: OpKind, state: &State, prior: Option<&ResourceState>) -> Tags {
    let mut owner = Tags::new();
    owner.insert(LINEAGE_TAG.into(), state.lineage.clone());
    let created = match kind {
        OpKind::Create => Some(intents::stamp()),
        _ => prior.and_then(|p| p.owner.get(CREATED_TAG).cloned()),
    };
    if let Some(created) = created {
        owner.insert(CREATED_TAG.into(), created);
    }
    owner
}

/// `${address.attr}` as the state holds it now; unknown when it does not (yet).
fn read_now(state: &State, address: &Address, attr: &str) -> Value {
    state
        .read(address, attr)
        .unwrap_or_else(|| Value::String(UNKNOWN.into()))
}
