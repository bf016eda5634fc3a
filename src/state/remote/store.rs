//! The state object: read once, then written only over the version this run last saw.

use super::{Object, ObjectError, ObjectStore, S3Location, Write};
use crate::state::local::{parse_document, render_document};
use crate::state::{State, StateError};
use std::sync::{Arc, Mutex};

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

#[cfg(test)]
mod tests {
    use super::super::memory::{location, MemoryObjects};
    use super::*;

    fn fresh() -> (Arc<MemoryObjects>, RemoteStore) {
        let objects = Arc::new(MemoryObjects::default());
        let store = RemoteStore::new(objects.clone(), location());
        (objects, store)
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
}
