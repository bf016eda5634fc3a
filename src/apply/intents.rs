//! No orphans, no duplicates. Before a create is sent, a pending intent is saved in state;
//! after it, the result replaces the intent. A run that dies in between leaves the intent,
//! and the next run finds the resource (refresh::recover_pending) instead of creating a
//! second one. After a create, copies made by a create the SDK retried after a lost
//! response are found by their identity tags and deleted.

use crate::address::Address;
use crate::kinds::{
    identity_tags, Attrs, KindError, Live, ResourceKind, StepCx, Tags, IDENTITY_TAGS,
};
use crate::state::{Pending, State};

/// Records that `address` is about to be created with `desired` after `depends_on`.
pub fn begin(
    state: &mut State,
    address: &Address,
    kind: &dyn ResourceKind,
    desired: &Attrs,
    depends_on: &[Address],
    account: Option<&str>,
) {
    let schema = kind.schema();
    let mut attrs = desired.clone();
    attrs.retain(|name, _| schema.attr(name).is_none_or(|a| !a.sensitive));
    state.pending.retain(|p| &p.address != address);
    state.pending.push(Pending {
        address: address.clone(),
        kind: schema.name.to_string(),
        expected_id: kind.natural_id(desired),
        attrs,
        depends_on: depends_on.to_vec(),
        account: account.map(str::to_string),
        since: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
    });
}

/// The create ended: its intent goes. A failure that AWS did not answer (a timeout, a lost
/// connection) may still have created the resource, so its intent stays for the next run.
pub fn end(state: &mut State, address: &Address, failure: Option<&KindError>) -> bool {
    if failure.is_some_and(|err| err.code.is_none()) {
        return false;
    }
    let before = state.pending.len();
    state.pending.retain(|p| &p.address != address);
    state.pending.len() != before
}

/// Deletes other resources of this kind that carry exactly this instance's identity tags:
/// extra copies a retried create made. Returns how many were removed.
pub async fn sweep_duplicates(
    kind: &dyn ResourceKind,
    cx: &StepCx,
    tags: &Tags,
    keep: &Live,
) -> Result<usize, KindError> {
    let identity = identity_tags(tags);
    if identity.len() < IDENTITY_TAGS.len() {
        return Ok(0);
    }
    let Some(found) = kind.list_tagged(&identity).await? else {
        return Ok(0);
    };
    let extras: Vec<Live> = found
        .into_iter()
        .filter(|live| live.id != keep.id)
        .collect();
    for extra in &extras {
        cx.phase(&format!(
            "deleting duplicate {} left by a retried create",
            extra.id
        ));
        kind.delete(cx, extra, &Attrs::new()).await?;
    }
    Ok(extras.len())
}

/// After a create failed with one of the kind's conflict codes: the resource of this
/// instance (found by its identity tags, or by the id the blueprint gives it), made by an
/// earlier attempt of this same create whose answer was lost, brought to `desired` and
/// adopted. `None` when there is no such resource: the conflict is real.
pub async fn adopt_after_conflict(
    kind: &dyn ResourceKind,
    cx: &StepCx,
    desired: &Attrs,
    tags: &Tags,
) -> Result<Option<Live>, KindError> {
    let identity = identity_tags(tags);
    let found = match kind.list_tagged(&identity).await? {
        Some(found) => found.into_iter().next(),
        None => match kind.natural_id(desired) {
            Some(id) => kind.read_many(&[id]).await?.pop().flatten(),
            None => None,
        },
    };
    let Some(live) = found else {
        return Ok(None);
    };
    cx.phase(&format!(
        "found {} from an attempt whose answer was lost; adopting it",
        live.id
    ));
    // Whatever the lost attempt did not get to (policies, settings) is done now.
    let observed = live.attrs.clone().unwrap_or_default();
    kind.update(cx, &live, &observed, desired, tags)
        .await
        .map(Some)
}
