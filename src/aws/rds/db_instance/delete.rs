//! Deleting a DB instance: refused while deletion protection is on, with a final snapshot
//! unless the last applied blueprint skips it (or it is a read replica), then waited for.

use super::{busy_backoff, describe_one, wait, Spec, BUSY, DEFAULT_TIMEOUT, NOT_FOUND, SCHEMA};
use crate::aws::common::{ignore_gone, value_or_default};
use crate::aws::{aws_call, retry_while};
use crate::kinds::{Attrs, KindError, KindResult, StepCx};
use aws_sdk_rds::Client;
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

/// Why the engine must not delete the instance state recorded: its deletion protection.
pub(super) fn refusal(prior: &Attrs) -> Option<String> {
    let protected = prior.get("deletion_protection") == Some(&Value::Bool(true));
    protected.then(|| {
        "protected by deletion_protection: true (set it to false and apply first to delete it)"
            .to_string()
    })
}

/// Deletes the instance `id` and waits until it is gone; one already gone is fine.
pub(super) async fn delete(cx: &StepCx, rds: &Client, id: &str, prior: &Attrs) -> KindResult<()> {
    let Some(current) = describe_one(rds, id).await? else {
        return Ok(());
    };
    if current.deletion_protection() == Some(true) {
        return Err(protected(id));
    }
    if current.db_instance_status() != Some("deleting") {
        let replica = current
            .read_replica_source_db_instance_identifier()
            .is_some();
        let snapshot = final_snapshot(prior, id, replica, unix_now());
        let bound = cx.timeout_or(DEFAULT_TIMEOUT);
        let deleted = retry_while(&[BUSY], busy_backoff(bound), || async {
            let request = rds
                .delete_db_instance()
                .db_instance_identifier(id)
                .skip_final_snapshot(snapshot.is_none())
                .set_final_db_snapshot_identifier(snapshot.clone());
            aws_call("rds:DeleteDBInstance", request.send()).await?;
            Ok(())
        })
        .await;
        ignore_gone(deleted, &[NOT_FOUND])?;
    }
    wait::gone(cx, rds, id).await
}

fn protected(id: &str) -> KindError {
    KindError::local(
        "rds:DeleteDBInstance",
        format!(
            "DB instance {id} has deletion protection on; set `deletion_protection: false` \
             in the blueprint and apply it, then delete again"
        ),
    )
}

/// A final snapshot name RDS would refuse fails the apply that sets it, not a later delete.
pub(super) fn check_final_snapshot(spec: &Spec) -> KindResult<()> {
    let Some(name) = spec.final_snapshot_identifier.as_deref() else {
        return Ok(());
    };
    let valid = name.len() <= 255
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--");
    if valid || spec.skip_final_snapshot {
        return Ok(());
    }
    Err(KindError::local(
        SCHEMA.name,
        format!(
            "final_snapshot_identifier {name:?} is no valid snapshot name: up to 255 letters, \
             digits and single hyphens, starting with a letter and not ending with a hyphen"
        ),
    ))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The final snapshot to take, from what was last applied: none when skipped, and none for
/// a read replica (RDS takes no final snapshot of one).
fn final_snapshot(prior: &Attrs, id: &str, replica: bool, now: u64) -> Option<String> {
    let applied = |name: &str| {
        SCHEMA
            .attr(name)
            .map_or(Value::Null, |attr| value_or_default(attr, prior))
    };
    if replica || applied("skip_final_snapshot") == Value::Bool(true) {
        return None;
    }
    let named = applied("final_snapshot_identifier")
        .as_str()
        .map(str::to_string);
    Some(named.unwrap_or_else(|| format!("{id}-final-{now}")))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{attrs, base, spec};
    use super::*;
    use serde_json::json;

    #[test]
    fn only_recorded_deletion_protection_refuses() {
        let mut protected = base();
        protected["deletion_protection"] = json!(true);
        let reason = refusal(&attrs(protected)).expect("protected");
        assert!(reason.contains("deletion_protection: true"), "{reason}");
        assert_eq!(refusal(&attrs(base())), None);
    }

    #[test]
    fn final_snapshot_is_named_skipped_or_defaulted() {
        let now = 1_700_000_000;
        assert_eq!(
            final_snapshot(&attrs(base()), "db", false, now),
            Some("db-final-1700000000".into())
        );
        let mut named = base();
        named["final_snapshot_identifier"] = json!("db-last");
        assert_eq!(
            final_snapshot(&attrs(named), "db", false, now),
            Some("db-last".into())
        );
        let mut skipped = base();
        skipped["skip_final_snapshot"] = json!(true);
        assert_eq!(final_snapshot(&attrs(skipped), "db", false, now), None);
        assert_eq!(final_snapshot(&attrs(base()), "db", true, now), None);
    }

    #[test]
    fn final_snapshot_names_are_checked_unless_skipped() {
        let mut named = base();
        named["final_snapshot_identifier"] = json!("db-last-2024");
        assert!(check_final_snapshot(&spec(named.clone())).is_ok());
        for bad in ["1db", "db--last", "db-", "db_last"] {
            named["final_snapshot_identifier"] = json!(bad);
            assert!(check_final_snapshot(&spec(named.clone())).is_err(), "{bad}");
        }
        named["skip_final_snapshot"] = json!(true);
        assert!(check_final_snapshot(&spec(named)).is_ok());
    }
}
