//! Where a policy is attached. A policy type must be enabled on the root before a policy of
//! it can be attached: the first attachment enables it (EnablePolicyType) and waits until
//! AWS reports it enabled.

use super::super::{changing, found, id_of, root};
use super::{ENABLING, POLICY_TYPES};
use crate::aws::common::ignore_already_done;
use crate::aws::{sdk_error, Backoff};
use crate::kinds::{KindResult, Seen, StepCx, Waiter};
use aws_sdk_organizations::types::{PolicyType, PolicyTypeStatus, Root};
use aws_sdk_organizations::Client;
use std::collections::BTreeSet;
use std::time::Duration;

/// A policy type enabling on the root: PENDING_ENABLE, then ENABLED. The blueprint's
/// `timeouts` override the bound.
const ENABLED: Waiter =
    Waiter::until("organizations:ListRoots", &["ENABLED"], &[], LOOKS).named("policy type enabled");
const LOOKS: Backoff = Backoff {
    first: Duration::from_secs(1),
    max_delay: Duration::from_secs(10),
    bound: Duration::from_secs(5 * 60),
};

/// Attaches policy `id` to the targets in `desired` it is not attached to (before
/// detaching, so no target is ever without the policy while its targets change), then
/// detaches it from those no longer wanted.
pub(super) async fn retarget(
    cx: &StepCx,
    org: &Client,
    id: &str,
    policy_type: &PolicyType,
    current: &[String],
    desired: &[String],
) -> KindResult<()> {
    let (attach_to, detach_from) = target_changes(current, desired);
    if !attach_to.is_empty() {
        ensure_enabled(cx, org, policy_type).await?;
    }
    for target in &attach_to {
        attach(org, id, target).await?;
    }
    for target in &detach_from {
        detach(org, id, target).await?;
    }
    Ok(())
}

/// Targets to attach to and to detach from, each in the order given.
pub(super) fn target_changes(current: &[String], desired: &[String]) -> (Vec<String>, Vec<String>) {
    let now: BTreeSet<&String> = current.iter().collect();
    let wanted: BTreeSet<&String> = desired.iter().collect();
    let mut attach: Vec<String> = Vec::new();
    for target in desired.iter().filter(|t| !now.contains(t)) {
        if !attach.contains(target) {
            attach.push(target.clone());
        }
    }
    let detach = current
        .iter()
        .filter(|t| !wanted.contains(t))
        .cloned()
        .collect();
    (attach, detach)
}

async fn attach(org: &Client, id: &str, target: &str) -> KindResult<()> {
    let attached = changing(|| async move {
        let sent = org
            .attach_policy()
            .policy_id(id)
            .target_id(target)
            .send()
            .await;
        sent.map(drop)
            .map_err(|e| sdk_error("organizations:AttachPolicy", e))
    })
    .await;
    ignore_already_done(attached, &["DuplicatePolicyAttachmentException"])
}

pub(super) async fn detach(org: &Client, id: &str, target: &str) -> KindResult<()> {
    let detached = changing(|| async move {
        let sent = org
            .detach_policy()
            .policy_id(id)
            .target_id(target)
            .send()
            .await;
        sent.map(drop)
            .map_err(|e| sdk_error("organizations:DetachPolicy", e))
    })
    .await;
    // Already detached, or the target is gone: nothing left to detach.
    let gone = ["PolicyNotAttachedException", "TargetNotFoundException"];
    found(detached, &gone).map(drop)
}

/// Enables `policy_type` on the root unless it is, and waits until AWS reports it ENABLED.
async fn ensure_enabled(cx: &StepCx, org: &Client, policy_type: &PolicyType) -> KindResult<()> {
    let now = root(org).await?;
    let status = type_status(&now, policy_type);
    if status == Some(&PolicyTypeStatus::Enabled) {
        return Ok(());
    }
    if status.is_none() {
        let root_id = id_of(&now)?;
        let enabled = changing(|| async move {
            let request = org.enable_policy_type().root_id(root_id);
            let sent = request.policy_type(policy_type.clone()).send().await;
            sent.map_err(|e| sdk_error("organizations:EnablePolicyType", e))
        })
        .await;
        match enabled {
            Ok(enabled) => {
                let now = enabled.root().and_then(|r| type_status(r, policy_type));
                if now == Some(&PolicyTypeStatus::Enabled) {
                    return Ok(());
                }
            }
            // Someone else enabled it meanwhile.
            Err(err) if err.has_code_in(&["PolicyTypeAlreadyEnabledException"]) => {}
            Err(err) => return Err(err),
        }
    }
    let look = || async { Ok(type_status(&root(org).await?, policy_type).cloned()) };
    let seen = |status: &PolicyTypeStatus| Seen::new(status.as_str());
    enabling(policy_type).wait(cx, look, seen).await.map(drop)
}

/// [`ENABLED`], telling the operator which type it waits for.
fn enabling(policy_type: &PolicyType) -> Waiter {
    let known = POLICY_TYPES.iter().position(|t| *t == policy_type.as_str());
    let target = known.map_or(ENABLED.target, |i| ENABLING[i]);
    ENABLED.named(target)
}

pub(super) fn type_status<'a>(
    root: &'a Root,
    policy_type: &PolicyType,
) -> Option<&'a PolicyTypeStatus> {
    root.policy_types()
        .iter()
        .find(|t| t.r#type() == Some(policy_type))
        .and_then(|t| t.status())
}

pub(super) async fn targets_of(org: &Client, id: &str) -> KindResult<Vec<String>> {
    let pages: Vec<_> = org
        .list_targets_for_policy()
        .policy_id(id)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("organizations:ListTargetsForPolicy", e))?;
    Ok(pages
        .iter()
        .flat_map(|page| page.targets())
        .filter_map(|target| target.target_id().map(str::to_string))
        .collect())
}
