//! Waiting for a DB instance: until it is `available` (with the changes it was asked to
//! apply now applied), or until it is gone. Statuses an instance does not leave by itself
//! end a wait at once, naming the status.

use super::{describe_one, DEFAULT_TIMEOUT, DESCRIBE, NOT_FOUND};
use crate::kinds::{gone as gone_error, Backoff, KindResult, Seen, StepCx, Waiter};
use aws_sdk_rds::types::{DbInstance, PendingModifiedValues};
use aws_sdk_rds::Client;
use std::time::Duration;

/// Looks start a second apart and stretch with the wait (`Backoff::pause_after`); the
/// blueprint's `timeouts` replace the bound.
const LOOKS: Backoff = Backoff {
    first: Duration::from_secs(1),
    max_delay: Duration::from_secs(30),
    bound: DEFAULT_TIMEOUT,
};

/// Statuses an instance does not leave by itself: waiting for `available` is pointless. The
/// last, `storage-full`, only counts for a new instance (see [`APPLIED`]).
const STUCK: [&str; 8] = [
    "failed",
    "inaccessible-encryption-credentials",
    "incompatible-network",
    "incompatible-option-group",
    "incompatible-parameters",
    "incompatible-restore",
    "restore-error",
    "storage-full",
];

/// Statuses in which an instance serves and takes changes. `storage-optimization` follows
/// every storage change and can last hours; the instance is usable all along (as
/// terraform-provider-aws's instance waiters count it).
const READY: [&str; 2] = ["available", "storage-optimization"];

/// A new (or adopted, still creating) instance.
pub(super) const AVAILABLE: Waiter = Waiter::until(DESCRIBE, &READY, &STUCK, LOOKS);

/// After ModifyDBInstance: `storage-full` may be what the modification (more storage) is
/// getting the instance out of, so it is waited through.
pub(super) const APPLIED: Waiter = Waiter {
    failed: STUCK.split_at(STUCK.len() - 1).0,
    ..AVAILABLE
};

const GONE: Waiter = AVAILABLE.gone(&[], LOOKS).named("deletion");

/// Waits with `waiter` until the instance `id` is available; `require_applied`: also until
/// the modifications it was asked to apply now are no longer pending.
pub(super) async fn available(
    cx: &StepCx,
    rds: &Client,
    id: &str,
    waiter: &Waiter,
    require_applied: bool,
) -> KindResult<DbInstance> {
    let look = || describe_one(rds, id);
    let found = waiter.wait(cx, look, |i| seen(i, require_applied)).await?;
    found.ok_or_else(|| gone_error(DESCRIBE, &[NOT_FOUND], id))
}

/// Waits until the instance `id` is gone.
pub(super) async fn gone(cx: &StepCx, rds: &Client, id: &str) -> KindResult<()> {
    let status = |i: &DbInstance| Seen::new(i.db_instance_status().unwrap_or("deleting"));
    GONE.wait(cx, || describe_one(rds, id), status).await?;
    Ok(())
}

/// The status a wait judges. Right after ModifyDBInstance an instance may still read
/// `available` before it turns `modifying`: with `require_applied`, one still reporting
/// pending modifications is not there yet.
fn seen(instance: &DbInstance, require_applied: bool) -> Seen {
    let status = instance.db_instance_status().unwrap_or("not reported");
    if READY.contains(&status) && require_applied && has_pending_changes(instance) {
        return Seen::new(format!("{status} with changes pending"));
    }
    let id = instance.db_instance_identifier().unwrap_or_default();
    let reason = format!("DB instance {id} is {status} and will not become available by itself");
    Seen::new(status).because(Some(reason))
}

fn has_pending_changes(instance: &DbInstance) -> bool {
    instance
        .pending_modified_values()
        .is_some_and(|pending| *pending != PendingModifiedValues::builder().build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_status(status: &str) -> DbInstance {
        let pending = PendingModifiedValues::builder().multi_az(true).build();
        DbInstance::builder()
            .db_instance_identifier("db")
            .db_instance_status(status)
            .pending_modified_values(pending)
            .build()
    }

    #[test]
    fn readiness_waits_for_pending_changes_and_stops_on_stuck_states() {
        assert_eq!(seen(&with_status("available"), false).state, "available");
        let pending = seen(&with_status("available"), true).state;
        assert_eq!(pending, "available with changes pending");
        assert!(!AVAILABLE.ready.contains(&pending.as_str()));
        assert_eq!(seen(&with_status("modifying"), false).state, "modifying");
        let stuck = seen(&with_status("incompatible-parameters"), false);
        assert!(AVAILABLE.failed.contains(&stuck.state.as_str()));
        assert_eq!(
            stuck.reason.as_deref(),
            Some(
                "DB instance db is incompatible-parameters and will not become available by itself"
            )
        );
        assert!(AVAILABLE.failed.contains(&"storage-full"));
        assert!(!APPLIED.failed.contains(&"storage-full"));
        assert_eq!(APPLIED.failed.len(), AVAILABLE.failed.len() - 1);
        assert!(GONE.until_gone && GONE.failed.is_empty());
    }

    #[test]
    fn storage_optimization_counts_as_available() {
        for waiter in [AVAILABLE, APPLIED] {
            assert!(waiter.ready.contains(&"storage-optimization"));
        }
        let pending = seen(&with_status("storage-optimization"), true).state;
        assert_eq!(pending, "storage-optimization with changes pending");
    }

    #[test]
    fn pending_changes_are_seen() {
        let idle = DbInstance::builder()
            .pending_modified_values(PendingModifiedValues::builder().build())
            .build();
        assert!(!has_pending_changes(&idle));
        assert!(!has_pending_changes(&DbInstance::builder().build()));
        assert!(has_pending_changes(&with_status("available")));
    }
}
