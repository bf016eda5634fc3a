//! The lock object `<key>.lock`: taken only if absent, released only while it is still this
//! run's, and a refusal that names its holder, its age and whether the holder is gone.

use super::{ObjectError, ObjectStore, S3Location, Write};
use crate::state::lock::whoami;
use crate::state::{LockInfo, StateError};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The lock of a remote state: the object `<key>.lock`, created only if absent. Release it
/// with [`RemoteLock::release`] (Drop cannot call S3; an unreleased lock is reported).
pub struct RemoteLock {
    objects: Arc<dyn ObjectStore>,
    shown: String,
    key: String,
    etag: String,
    unlock_command: String,
    pub info: LockInfo,
    released: bool,
}

/// Beyond this age a lock is called out as possibly abandoned.
const OLD_LOCK: Duration = Duration::from_secs(3600);

impl RemoteLock {
    /// Takes the lock of the state at `location`, or fails at once naming the holder, how
    /// old the lock is, and `unlock_command ID` to remove it if that run is gone.
    pub async fn acquire(
        objects: Arc<dyn ObjectStore>,
        location: &S3Location,
        operation: &str,
        unlock_command: &str,
    ) -> Result<RemoteLock, StateError> {
        let key = location.lock_key();
        let shown = format!("s3://{}/{key}", location.bucket);
        let info = LockInfo::new(operation);
        let body = serde_json::to_vec_pretty(&info).map_err(|e| StateError::Io(e.to_string()))?;
        // A lock released between our refused write and our read: try again, a few times.
        for _ in 0..3 {
            match objects.put(&key, body.clone(), Write::IfAbsent).await {
                Ok(etag) => {
                    return Ok(RemoteLock {
                        objects,
                        shown,
                        key,
                        etag,
                        unlock_command: unlock_command.into(),
                        info,
                        released: false,
                    })
                }
                Err(ObjectError::PreconditionFailed(_)) => match objects.get(&key).await {
                    Ok(Some(held)) => {
                        return Err(StateError::Locked(held_by(
                            location,
                            &held.body,
                            unlock_command,
                            &Here::now(),
                        )))
                    }
                    Ok(None) => continue,
                    Err(e) => {
                        return Err(StateError::Locked(format!(
                            "state {location} is locked by another run (reading its lock {shown} failed: {e})"
                        )))
                    }
                },
                Err(e) => {
                    return Err(StateError::Io(format!(
                        "cannot lock state {location}: writing {shown} failed: {e}"
                    )))
                }
            }
        }
        Err(StateError::Locked(format!(
            "state {location} is being locked and released by other runs right now; try again"
        )))
    }

    /// Deletes the lock object, only if it still is the one this run wrote.
    pub async fn release(mut self) -> Result<(), StateError> {
        self.released = true;
        let id = &self.info.id;
        match self.objects.delete(&self.key, Some(&self.etag)).await {
            Ok(()) => {
                tracing::debug!(lock = %self.shown, "state lock released");
                Ok(())
            }
            Err(ObjectError::NotFound(_)) => Err(StateError::Locked(format!(
                "the state lock {} (id {id}) was already gone at the end of this run: someone \
                 force-unlocked it while this run held it",
                self.shown
            ))),
            Err(ObjectError::PreconditionFailed(_)) => Err(StateError::Locked(format!(
                "the state lock {} is no longer this run's (id {id}): it was force-unlocked \
                 and taken by another run; left in place",
                self.shown
            ))),
            Err(ObjectError::Failed(e)) => Err(StateError::Io(format!(
                "cannot release the state lock {} (id {id}): {e}. Remove it with: {} {id}",
                self.shown, self.unlock_command
            ))),
        }
    }
}

impl Drop for RemoteLock {
    fn drop(&mut self) {
        if !self.released {
            eprintln!(
                "warning: the state lock {} (id {}) was not released; once this run is over, remove it with: {} {}",
                self.shown, self.info.id, self.unlock_command, self.info.id
            );
        }
    }
}

/// Removes the lock of the state at `location` if its id is `id`; answers who held it.
pub async fn force_unlock(
    objects: &dyn ObjectStore,
    location: &S3Location,
    id: &str,
) -> Result<LockInfo, StateError> {
    let key = location.lock_key();
    let shown = format!("s3://{}/{key}", location.bucket);
    let held = objects
        .get(&key)
        .await
        .map_err(|e| StateError::Io(format!("cannot read the lock {shown}: {e}")))?
        .ok_or_else(|| {
            StateError::Refused(format!("state {location} is not locked; nothing to unlock"))
        })?;
    let info: LockInfo = serde_json::from_slice(&held.body).map_err(|e| {
        StateError::Refused(format!(
            "the lock {shown} is not an innovate lock ({e}); if no run is active, delete that object by hand"
        ))
    })?;
    if info.id != id {
        return Err(StateError::Refused(format!(
            "the lock of state {location} has id {}, not {id} (held by {} pid {}, {}, since {}); nothing was removed",
            info.id, info.who, info.pid, info.operation, info.since
        )));
    }
    match objects.delete(&key, Some(&held.etag)).await {
        Ok(()) => Ok(info),
        Err(ObjectError::PreconditionFailed(_)) | Err(ObjectError::NotFound(_)) => {
            Err(StateError::Refused(format!(
                "the lock {shown} changed while it was being removed; nothing was removed. Look again"
            )))
        }
        Err(ObjectError::Failed(e)) => Err(StateError::Io(format!(
            "cannot delete the lock {shown}: {e}"
        ))),
    }
}

/// What the refusal message compares a lock against: this host, now, and which processes
/// are alive here.
struct Here {
    host: String,
    now: SystemTime,
    /// `Some(alive)` when this platform can tell.
    alive: fn(u32) -> Option<bool>,
}

impl Here {
    fn now() -> Here {
        Here {
            host: host_of(&whoami()).to_string(),
            now: SystemTime::now(),
            alive: process_alive,
        }
    }
}

fn host_of(who: &str) -> &str {
    who.rsplit_once('@').map_or(who, |(_, host)| host)
}

fn process_alive(pid: u32) -> Option<bool> {
    if cfg!(target_os = "linux") {
        Some(std::path::Path::new(&format!("/proc/{pid}")).exists())
    } else {
        None
    }
}

/// The refusal of a second lock: who holds it, since when, how old it is, and whether the
/// holder is visibly gone.
fn held_by(location: &S3Location, body: &[u8], unlock_command: &str, here: &Here) -> String {
    let Ok(info) = serde_json::from_slice::<LockInfo>(body) else {
        return format!(
            "state {location} is locked, but its lock s3://{}/{} is not an innovate lock; if no run is active, delete that object by hand",
            location.bucket,
            location.lock_key()
        );
    };
    let age = humantime::parse_rfc3339(&info.since)
        .ok()
        .and_then(|since| here.now.duration_since(since).ok())
        .map(|age| Duration::from_secs(age.as_secs()));
    let age_text = age
        .map(|a| format!(" ({} ago)", humantime::format_duration(a)))
        .unwrap_or_default();
    let remove = format!("{unlock_command} {}", info.id);
    let dead_here = host_of(&info.who) == here.host && (here.alive)(info.pid) == Some(false);
    let advice = if dead_here {
        format!("Its process (pid {}) is no longer running on this host: the lock is stale. Remove it with: {remove}", info.pid)
    } else if age.is_some_and(|a| a >= OLD_LOCK) {
        format!("The lock is over an hour old: if that run is gone, remove it with: {remove}")
    } else {
        format!("Wait for it to finish; if that run is gone, remove the lock with: {remove}")
    };
    format!(
        "state {location} is locked by {} (pid {}, {}) since {}{age_text}; lock id {}. {advice}",
        info.who, info.pid, info.operation, info.since, info.id
    )
}

#[cfg(test)]
mod tests {
    use super::super::memory::{location, MemoryObjects};
    use super::*;

    /// This run's `apply` lock on the test location.
    async fn take(
        objects: &Arc<MemoryObjects>,
        unlock_command: &str,
    ) -> Result<RemoteLock, StateError> {
        RemoteLock::acquire(objects.clone(), &location(), "apply", unlock_command).await
    }

    #[tokio::test]
    async fn a_second_lock_is_refused_naming_the_holder_until_released() {
        let objects = Arc::new(MemoryObjects::default());
        let first = take(&objects, "innovate force-unlock bp.yaml")
            .await
            .unwrap();
        let held: LockInfo =
            serde_json::from_slice(&objects.body("net/dev.json.lock").unwrap()).unwrap();
        assert_eq!(held, first.info);
        let err = take(&objects, "innovate force-unlock bp.yaml")
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("is locked by"), "{err}");
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert!(err.contains(&format!("lock id {}", first.info.id)), "{err}");
        assert!(
            err.contains(&format!("innovate force-unlock bp.yaml {}", first.info.id)),
            "{err}"
        );
        first.release().await.unwrap();
        assert_eq!(objects.body("net/dev.json.lock"), None);
        let again = take(&objects, "x").await.unwrap();
        again.release().await.unwrap();
    }

    #[tokio::test]
    async fn force_unlock_removes_only_the_named_lock() {
        let objects = Arc::new(MemoryObjects::default());
        let err = force_unlock(objects.as_ref(), &location(), "nope")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not locked"), "{err}");
        let lock = take(&objects, "x").await.unwrap();
        let err = force_unlock(objects.as_ref(), &location(), "wrong-id")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("has id {}, not wrong-id", lock.info.id)),
            "{err}"
        );
        assert!(objects.body("net/dev.json.lock").is_some());
        let removed = force_unlock(objects.as_ref(), &location(), &lock.info.id)
            .await
            .unwrap();
        assert_eq!(removed, lock.info);
        assert_eq!(objects.body("net/dev.json.lock"), None);
        // The run that lost its lock learns it when it releases, and deletes nothing else.
        let other = take(&objects, "x").await.unwrap();
        let err = lock.release().await.unwrap_err().to_string();
        assert!(err.contains("no longer this run's"), "{err}");
        assert!(objects.body("net/dev.json.lock").is_some());
        other.release().await.unwrap();
    }

    /// The refusal seen from host build-1 at noon, for a lock taken by pid 42 of `who`.
    fn refusal(who: &str, since: &str, alive: fn(u32) -> Option<bool>) -> String {
        let body = serde_json::to_vec(&LockInfo {
            id: "L1".into(),
            operation: "apply".into(),
            who: who.into(),
            pid: 42,
            since: since.into(),
        })
        .unwrap();
        held_by(
            &location(),
            &body,
            "innovate force-unlock bp.yaml",
            &here(alive),
        )
    }

    fn here(alive: fn(u32) -> Option<bool>) -> Here {
        Here {
            host: "build-1".into(),
            now: humantime::parse_rfc3339("2025-01-01T12:00:00Z").unwrap(),
            alive,
        }
    }

    #[test]
    fn the_refusal_tells_the_age_and_when_the_holder_is_gone() {
        let fresh = refusal("ann@build-1", "2025-01-01T11:58:30Z", |_| Some(true));
        assert_eq!(
            fresh,
            "state s3://team-state/net/dev.json is locked by ann@build-1 (pid 42, apply) since \
             2025-01-01T11:58:30Z (1m 30s ago); lock id L1. Wait for it to finish; if that run \
             is gone, remove the lock with: innovate force-unlock bp.yaml L1"
        );
        let dead = refusal("ann@build-1", "2025-01-01T11:58:30Z", |_| Some(false));
        assert!(
            dead.contains("no longer running on this host: the lock is stale"),
            "{dead}"
        );
        // A dead pid on another host says nothing about the holder.
        let elsewhere = refusal("bob@laptop", "2025-01-01T11:58:30Z", |_| Some(false));
        assert!(elsewhere.contains("Wait for it to finish"), "{elsewhere}");
        let old = refusal("bob@laptop", "2025-01-01T09:00:00Z", |_| None);
        assert!(old.contains("(3h ago)"), "{old}");
        assert!(old.contains("over an hour old"), "{old}");
        let junk = held_by(&location(), b"??", "x", &here(|_| None));
        assert!(junk.contains("not an innovate lock"), "{junk}");
    }
}
