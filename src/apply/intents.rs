//! No orphans, no duplicates, nobody else's. Before a create is sent, a pending intent is
//! saved in state; after it, the result replaces the intent. A run that dies in between
//! leaves the intent, and the next run finds the resource (refresh::recover_pending) instead
//! of creating a second one. After a create, copies made by a create the SDK retried after a
//! lost response are found and deleted. Both look only for what this very create made: the
//! resource carries this state's lineage and the create's own stamp (`innovate:created`), so
//! another state's resources at the same blueprint, env and address are never touched.

use crate::address::Address;
use crate::kinds::{
    find_made_by, identity_tags, is_full_identity, owner_tags, Attrs, KindError, Live,
    ResourceKind, StepCx, Tags, CREATED_TAG,
};
use crate::state::{Pending, State};

/// A new create's stamp: when its intent began, to the millisecond. Every copy one create
/// makes carries it; nothing made before it does.
pub fn stamp() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

/// Records that `address` is about to be created with `desired` and `tags` after
/// `depends_on`.
pub fn begin(
    state: &mut State,
    address: &Address,
    kind: &dyn ResourceKind,
    (desired, tags): (&Attrs, &Tags),
    depends_on: &[Address],
    account: Option<&str>,
) {
    let schema = kind.schema();
    let mut attrs = desired.clone();
    attrs.retain(|name, _| schema.attr(name).is_none_or(|a| !a.sensitive));
    let owner = owner_tags(tags);
    let since = owner.get(CREATED_TAG).cloned().unwrap_or_else(stamp);
    state.pending.retain(|p| &p.address != address);
    state.pending.push(Pending {
        address: address.clone(),
        kind: schema.name.to_string(),
        expected_id: kind.natural_id(desired),
        attrs,
        depends_on: depends_on.to_vec(),
        account: account.map(str::to_string),
        since,
        owner,
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

/// Deletes other resources of this kind that carry exactly this create's identity tags
/// (blueprint, env, address, this state's lineage and this create's stamp): extra copies a
/// retried create made. Returns how many were removed.
pub async fn sweep_duplicates(
    kind: &dyn ResourceKind,
    cx: &StepCx,
    tags: &Tags,
    keep: &Live,
) -> Result<usize, KindError> {
    let identity = identity_tags(tags);
    if !is_full_identity(&identity) {
        return Ok(0);
    }
    let extras: Vec<Live> = find_made_by(kind, &identity, None)
        .await?
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

/// After a create failed with one of the kind's conflict codes: the resource this very
/// create made in an earlier attempt whose answer was lost (it carries this state's lineage
/// and this create's stamp), brought to `desired` and adopted. `None` when there is none:
/// the conflict is real (the name is taken by another state's resource or by someone
/// else's), and the create fails with AWS's message.
pub async fn adopt_after_conflict(
    kind: &dyn ResourceKind,
    cx: &StepCx,
    desired: &Attrs,
    tags: &Tags,
) -> Result<Option<Live>, KindError> {
    let expected_id = kind.natural_id(desired);
    let found = find_made_by(kind, &identity_tags(tags), expected_id.as_deref()).await?;
    let Some(live) = found.into_iter().next() else {
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
