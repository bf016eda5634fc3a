//! The S3 state backend, free of any SDK: the state and its lock are objects behind
//! [`ObjectStore`] (implemented over aws-sdk-s3 in `crate::aws::s3_state`, injected by the
//! command line). Every write that matters is conditional:
//! - the lock object `<key>.lock` is created only if absent (`If-None-Match: *`) and deleted
//!   only while it still is the one this run wrote (`If-Match` on its ETag);
//! - the state object `<key>` is replaced only while it still has the ETag this run last read
//!   or wrote (`If-Match`), or created only if absent, so a run that lost its lock (a
//!   force-unlock, a second writer) can never overwrite newer state;
//! - after each successful overwrite the version it replaced is copied to `<key>.backup`.
//!
//! The document is exactly the local one (schema version, serial, lineage), refused on the
//! same grounds, and never overwritten once refused.

use super::local::{parse_document, render_document};
use super::lock::whoami;
use super::{LockInfo, State, StateError};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Where a remote state lives: `s3://bucket/key`, in `region` (default: the blueprint's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Location {
    pub bucket: String,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl S3Location {
    /// Reads `s3://BUCKET/KEY` or `s3://BUCKET/KEY?region=REGION`; `Ok(None)` for text that
    /// does not start with `s3://` (a local path).
    pub fn parse_url(text: &str) -> Result<Option<S3Location>, String> {
        let Some(rest) = text.strip_prefix("s3://") else {
            return Ok(None);
        };
        let usage = || {
            format!(
                "`{text}` is not an S3 state location: write s3://BUCKET/KEY (optionally \
                 ?region=REGION), e.g. s3://my-team-state/network/prod.json"
            )
        };
        let (path, region) = match rest.rsplit_once("?region=") {
            Some((_, "")) => return Err(usage()),
            Some((path, region)) => (path, Some(region.to_string())),
            None => (rest, None),
        };
        let (bucket, key) = path.split_once('/').ok_or_else(usage)?;
        if key.is_empty() || key.ends_with('/') {
            return Err(usage());
        }
        check_bucket_name(bucket).map_err(|why| format!("{}: {why}", usage()))?;
        Ok(Some(S3Location {
            bucket: bucket.into(),
            key: key.into(),
            region,
        }))
    }

    /// The location as [`S3Location::parse_url`] reads it back, region included (saved plans).
    pub fn to_url(&self) -> String {
        match &self.region {
            Some(region) => format!("{self}?region={region}"),
            None => self.to_string(),
        }
    }

    pub fn lock_key(&self) -> String {
        format!("{}.lock", self.key)
    }

    pub fn backup_key(&self) -> String {
        format!("{}.backup", self.key)
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// S3's rules for bucket names: 3-63 characters, lower-case letters, digits, dots and
/// hyphens, starting and ending with a letter or digit.
pub fn check_bucket_name(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-';
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !(3..=63).contains(&name.len()) {
        return Err(format!(
            "bucket name `{name}` must be 3 to 63 characters long"
        ));
    }
    if !name.chars().all(allowed) || !edge(name.chars().next()) || !edge(name.chars().last()) {
        return Err(format!("bucket name `{name}` may hold only lower-case letters, digits, dots and hyphens, and must start and end with a letter or digit"));
    }
    Ok(())
}

/// An object as read: its bytes and its ETag (quoted, exactly as the store sent it).
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub body: Vec<u8>,
    pub etag: String,
}

/// The condition a put is sent with.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Unconditional,
    /// `If-None-Match: *`: create, never replace.
    IfAbsent,
    /// `If-Match: ETAG`: replace exactly this version.
    IfMatch(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The condition did not hold (412 Precondition Failed, or 409 when a concurrent
    /// conditional write won the race).
    #[error("{0}")]
    PreconditionFailed(String),
    /// A write or delete conditioned on an ETag found no object at all.
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Failed(String),
}

/// The few object-store calls the remote backend needs, keys relative to one bucket.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// The object, or `None` when there is none under `key`.
    async fn get(&self, key: &str) -> Result<Option<Object>, ObjectError>;
    /// Writes `body` under `key` if `write` holds; answers the new ETag.
    async fn put(&self, key: &str, body: Vec<u8>, write: Write) -> Result<String, ObjectError>;
    /// Deletes `key`, only while its ETag is `if_match` when given.
    async fn delete(&self, key: &str, if_match: Option<&str>) -> Result<(), ObjectError>;
}

/// What this run knows of the state object: the condition its next write is sent with.
#[derive(Debug, Clone)]
enum Seen {
    /// Never read: a write may only create.
    Unread,
    /// Read and absent: a write may only create.
    Absent,
    /// Read (or written) at this ETag, with these bytes (the next backup).
    Present { etag: String, body: Vec<u8> },
    /// Read and refused: never written.
    Refused(String),
}

/// The remote state: one object in S3, written only conditionally (see the module docs).
pub struct RemoteStore {
    objects: Arc<dyn ObjectStore>,
    location: S3Location,
    seen: Mutex<Seen>,
}

impl RemoteStore {
    pub fn new(objects: Arc<dyn ObjectStore>, location: S3Location) -> Self {
        RemoteStore {
            objects,
            location,
            seen: Mutex::new(Seen::Unread),
        }
    }

    pub fn location(&self) -> &S3Location {
        &self.location
    }

    pub fn objects(&self) -> Arc<dyn ObjectStore> {
        self.objects.clone()
    }

    fn remember(&self, seen: Seen) {
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = seen;
    }

    fn seen(&self) -> Seen {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reads the state; `None` when there is no object yet. An object that is not a state
    /// this build understands is refused, and this store never writes over it.
    pub async fn load(&self) -> Result<Option<State>, StateError> {
        let shown = self.location.to_string();
        let object = self
            .objects
            .get(&self.location.key)
            .await
            .map_err(|e| StateError::Io(format!("cannot read state {shown}: {e}")))?;
        let Some(Object { body, etag }) = object else {
            self.remember(Seen::Absent);
            return Ok(None);
        };
        let parsed = match std::str::from_utf8(&body) {
            Ok(text) => parse_document("state object", &shown, text),
            Err(e) => Err(StateError::Refused(format!(
                "state object {shown} is corrupted (not UTF-8: {e}); innovate will not use or \
                 overwrite it. Restore {shown}.backup or fix the object by hand"
            ))),
        };
        match parsed {
            Ok(state) => {
                self.remember(Seen::Present { etag, body });
                Ok(Some(state))
            }
            Err(err) => {
                self.remember(Seen::Refused(err.to_string()));
                Err(err)
            }
        }
    }

    /// Writes the state if the object is still the version this run last read or wrote,
    /// then keeps the version it replaced as `<key>.backup`.
    pub async fn save(&self, state: &State) -> Result<(), StateError> {
        let shown = self.location.to_string();
        let seen = self.seen();
        let write = match &seen {
            Seen::Refused(why) => {
                return Err(StateError::Refused(format!(
                    "not writing state {shown}: it was refused when read ({why})"
                )))
            }
            Seen::Unread | Seen::Absent => Write::IfAbsent,
            Seen::Present { etag, .. } => Write::IfMatch(etag.clone()),
        };
        let body = render_document(state)?;
        let etag = match self
            .objects
            .put(&self.location.key, body.clone(), write)
            .await
        {
            Ok(etag) => etag,
            Err(ObjectError::PreconditionFailed(_)) | Err(ObjectError::NotFound(_)) => {
                return Err(StateError::Refused(conflict(&shown, &seen, state.serial)))
            }
            Err(ObjectError::Failed(e)) => {
                return Err(StateError::Io(format!("cannot write state {shown}: {e}")))
            }
        };
        self.remember(Seen::Present { etag, body });
        if let Seen::Present { body: previous, .. } = seen {
            let backup = self.location.backup_key();
            if let Err(e) = self
                .objects
                .put(&backup, previous, Write::Unconditional)
                .await
            {
                tracing::warn!(
                    "state {shown} saved, but keeping the previous version as s3://{}/{backup} failed: {e}",
                    self.location.bucket
                );
            }
        }
        Ok(())
    }
}

fn conflict(shown: &str, seen: &Seen, serial: u64) -> String {
    let what = match seen {
        Seen::Present { .. } => "changed since this run read it",
        _ => "created since this run found none",
    };
    format!(
        "state {shown} was {what} (another run wrote it: this run's lock was lost or \
         force-unlocked). innovate did not overwrite it; serial {serial} of this run is not \
         saved. Run plan again against the current state, and import anything this run \
         created after its last saved step"
    )
}

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
pub const OLD_LOCK: Duration = Duration::from_secs(3600);

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
pub(crate) mod memory {
    //! An in-memory [`ObjectStore`] with S3's conditional semantics, for unit tests.
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Default)]
    pub struct MemoryObjects {
        pub objects: Mutex<BTreeMap<String, Object>>,
        counter: std::sync::atomic::AtomicUsize,
    }

    impl MemoryObjects {
        pub fn body(&self, key: &str) -> Option<Vec<u8>> {
            self.objects
                .lock()
                .unwrap()
                .get(key)
                .map(|o| o.body.clone())
        }

        /// A write behind the store's back.
        pub fn set(&self, key: &str, body: &[u8]) {
            let etag = self.next_etag();
            self.objects.lock().unwrap().insert(
                key.into(),
                Object {
                    body: body.to_vec(),
                    etag,
                },
            );
        }

        fn next_etag(&self) -> String {
            let n = self
                .counter
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            format!("\"etag-{n}\"")
        }
    }

    #[async_trait]
    impl ObjectStore for MemoryObjects {
        async fn get(&self, key: &str) -> Result<Option<Object>, ObjectError> {
            Ok(self.objects.lock().unwrap().get(key).cloned())
        }

        async fn put(&self, key: &str, body: Vec<u8>, write: Write) -> Result<String, ObjectError> {
            let etag = self.next_etag();
            let mut objects = self.objects.lock().unwrap();
            match (&write, objects.get(key)) {
                (Write::IfAbsent, Some(_)) => {
                    return Err(ObjectError::PreconditionFailed("412".into()))
                }
                (Write::IfMatch(_), None) => return Err(ObjectError::NotFound("404".into())),
                (Write::IfMatch(want), Some(o)) if &o.etag != want => {
                    return Err(ObjectError::PreconditionFailed("412".into()))
                }
                _ => {}
            }
            objects.insert(
                key.into(),
                Object {
                    body,
                    etag: etag.clone(),
                },
            );
            Ok(etag)
        }

        async fn delete(&self, key: &str, if_match: Option<&str>) -> Result<(), ObjectError> {
            let mut objects = self.objects.lock().unwrap();
            match (if_match, objects.get(key)) {
                (Some(_), None) => return Err(ObjectError::NotFound("404".into())),
                (Some(want), Some(o)) if o.etag != want => {
                    return Err(ObjectError::PreconditionFailed("412".into()))
                }
                _ => {}
            }
            objects.remove(key);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::memory::MemoryObjects;
    use super::*;

    fn location() -> S3Location {
        S3Location {
            bucket: "team-state".into(),
            key: "net/dev.json".into(),
            region: None,
        }
    }

    fn fresh() -> (Arc<MemoryObjects>, RemoteStore) {
        let objects = Arc::new(MemoryObjects::default());
        let store = RemoteStore::new(objects.clone(), location());
        (objects, store)
    }

    #[test]
    fn locations_parse_from_urls_and_back() {
        let parsed = S3Location::parse_url("s3://team-state/net/dev.json")
            .unwrap()
            .unwrap();
        assert_eq!(parsed, location());
        assert_eq!(parsed.to_url(), "s3://team-state/net/dev.json");
        let with_region = S3Location::parse_url("s3://team-state/a.json?region=eu-west-1")
            .unwrap()
            .unwrap();
        assert_eq!(with_region.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            S3Location::parse_url(&with_region.to_url()).unwrap(),
            Some(with_region)
        );
        assert_eq!(S3Location::parse_url("state/net-dev.json").unwrap(), None);
        for bad in [
            "s3://",
            "s3://bucket",
            "s3://bucket/",
            "s3://bucket/dir/",
            "s3://Bad_Bucket/k.json",
            "s3://ab/k.json",
            "s3://b-ucket/k.json?region=",
        ] {
            let err = S3Location::parse_url(bad).unwrap_err();
            assert!(err.contains("s3://BUCKET/KEY"), "{bad}: {err}");
        }
        assert!(check_bucket_name("my.team-state-1").is_ok());
        assert!(check_bucket_name("-team").is_err());
    }

    #[tokio::test]
    async fn saves_only_over_the_version_it_read_and_keeps_a_backup() {
        let (objects, store) = fresh();
        assert_eq!(store.load().await.unwrap(), None);
        let mut state = State::new("net", "dev");
        store.save(&state).await.unwrap();
        assert_eq!(
            objects.body("net/dev.json.backup"),
            None,
            "nothing replaced yet"
        );
        state.serial = 1;
        store.save(&state).await.unwrap();
        let backup: State =
            serde_json::from_slice(&objects.body("net/dev.json.backup").unwrap()).unwrap();
        assert_eq!(backup.serial, 0);
        assert_eq!(store.load().await.unwrap().unwrap().serial, 1);
        // The same bytes a local state file would hold.
        assert_eq!(
            objects.body("net/dev.json").unwrap(),
            render_document(&state).unwrap()
        );
    }

    #[tokio::test]
    async fn a_write_over_a_changed_object_is_refused_and_changes_nothing() {
        let (objects, store) = fresh();
        store.load().await.unwrap();
        let mut mine = State::new("net", "dev");
        store.save(&mine).await.unwrap();
        let mut theirs = mine.clone();
        theirs.serial = 7;
        let theirs = render_document(&theirs).unwrap();
        objects.set("net/dev.json", &theirs);
        mine.serial = 1;
        let err = store.save(&mine).await.unwrap_err().to_string();
        assert!(err.contains("changed since this run read it"), "{err}");
        assert!(err.contains("did not overwrite"), "{err}");
        assert_eq!(objects.body("net/dev.json").unwrap(), theirs);
        assert_eq!(objects.body("net/dev.json.backup"), None);

        // Created by someone else after this run found none: refused as well.
        let (objects, store) = fresh();
        assert_eq!(store.load().await.unwrap(), None);
        objects.set("net/dev.json", &theirs);
        let err = store.save(&mine).await.unwrap_err().to_string();
        assert!(err.contains("created since this run found none"), "{err}");
        assert_eq!(objects.body("net/dev.json").unwrap(), theirs);
    }

    #[tokio::test]
    async fn refused_objects_are_never_written() {
        for (text, expected) in [
            (&b"{\"format\": \"innovate-state\", \"vers"[..], "corrupted"),
            (
                b"{\"format\": \"innovate-state\", \"version\": 99}",
                "newer than this innovate",
            ),
            (b"{\"hello\": 1}", "not an innovate state object"),
            (b"\xff\xfe", "not UTF-8"),
        ] {
            let (objects, store) = fresh();
            objects.set("net/dev.json", text);
            let err = store.load().await.unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
            assert!(err.contains("s3://team-state/net/dev.json"), "{err}");
            let err = store
                .save(&State::new("net", "dev"))
                .await
                .unwrap_err()
                .to_string();
            assert!(err.contains("refused when read"), "{err}");
            assert_eq!(objects.body("net/dev.json").unwrap(), text);
        }
    }

    #[tokio::test]
    async fn a_second_lock_is_refused_naming_the_holder_until_released() {
        let objects = Arc::new(MemoryObjects::default());
        let first = RemoteLock::acquire(
            objects.clone(),
            &location(),
            "apply",
            "innovate force-unlock bp.yaml",
        )
        .await
        .unwrap();
        let held: LockInfo =
            serde_json::from_slice(&objects.body("net/dev.json.lock").unwrap()).unwrap();
        assert_eq!(held, first.info);
        let err = RemoteLock::acquire(
            objects.clone(),
            &location(),
            "apply",
            "innovate force-unlock bp.yaml",
        )
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
        let again = RemoteLock::acquire(objects.clone(), &location(), "apply", "x")
            .await
            .unwrap();
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
        let lock = RemoteLock::acquire(objects.clone(), &location(), "apply", "x")
            .await
            .unwrap();
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
        let other = RemoteLock::acquire(objects.clone(), &location(), "apply", "x")
            .await
            .unwrap();
        let err = lock.release().await.unwrap_err().to_string();
        assert!(err.contains("no longer this run's"), "{err}");
        assert!(objects.body("net/dev.json.lock").is_some());
        other.release().await.unwrap();
    }

    fn info(who: &str, pid: u32, since: &str) -> Vec<u8> {
        serde_json::to_vec(&LockInfo {
            id: "L1".into(),
            operation: "apply".into(),
            who: who.into(),
            pid,
            since: since.into(),
        })
        .unwrap()
    }

    #[test]
    fn the_refusal_tells_the_age_and_when_the_holder_is_gone() {
        let here = |alive: fn(u32) -> Option<bool>| Here {
            host: "build-1".into(),
            now: humantime::parse_rfc3339("2025-01-01T12:00:00Z").unwrap(),
            alive,
        };
        let fresh = held_by(
            &location(),
            &info("ann@build-1", 42, "2025-01-01T11:58:30Z"),
            "innovate force-unlock bp.yaml",
            &here(|_| Some(true)),
        );
        assert_eq!(
            fresh,
            "state s3://team-state/net/dev.json is locked by ann@build-1 (pid 42, apply) since \
             2025-01-01T11:58:30Z (1m 30s ago); lock id L1. Wait for it to finish; if that run \
             is gone, remove the lock with: innovate force-unlock bp.yaml L1"
        );
        let dead = held_by(
            &location(),
            &info("ann@build-1", 42, "2025-01-01T11:58:30Z"),
            "innovate force-unlock bp.yaml",
            &here(|_| Some(false)),
        );
        assert!(
            dead.contains("no longer running on this host: the lock is stale"),
            "{dead}"
        );
        // A dead pid on another host says nothing about the holder.
        let elsewhere = held_by(
            &location(),
            &info("bob@laptop", 42, "2025-01-01T11:58:30Z"),
            "innovate force-unlock bp.yaml",
            &here(|_| Some(false)),
        );
        assert!(elsewhere.contains("Wait for it to finish"), "{elsewhere}");
        let old = held_by(
            &location(),
            &info("bob@laptop", 42, "2025-01-01T09:00:00Z"),
            "innovate force-unlock bp.yaml",
            &here(|_| None),
        );
        assert!(old.contains("(3h ago)"), "{old}");
        assert!(old.contains("over an hour old"), "{old}");
        let junk = held_by(&location(), b"??", "x", &here(|_| None));
        assert!(junk.contains("not an innovate lock"), "{junk}");
    }
}
