//! One interface over both backends: [`Store`] loads and saves the state wherever it lives,
//! [`Lock`] holds it against other runs. The executor saves through [`StateStore`].

use super::remote::{self, RemoteLock, RemoteStore};
use super::{LocalStore, LockInfo, State, StateError, StateLock};
use async_trait::async_trait;
use std::path::PathBuf;

/// What the executor needs of a backend: save the state after every completed step.
#[async_trait]
pub trait StateStore: Send + Sync {
    async fn save(&self, state: &State) -> Result<(), StateError>;
}

#[async_trait]
impl StateStore for LocalStore {
    async fn save(&self, state: &State) -> Result<(), StateError> {
        LocalStore::save(self, state)
    }
}

/// The state of one blueprint and environment, local or in S3.
pub enum Store {
    Local(LocalStore),
    Remote(RemoteStore),
}

impl Store {
    /// The path or `s3://bucket/key`, for messages.
    pub fn describe(&self) -> String {
        match self {
            Store::Local(store) => store.path().display().to_string(),
            Store::Remote(store) => store.location().to_string(),
        }
    }

    /// Where the state lives, as `--state` takes it back (saved plans record it).
    pub fn location(&self) -> PathBuf {
        match self {
            Store::Local(store) => store.path().to_path_buf(),
            Store::Remote(store) => PathBuf::from(store.location().to_url()),
        }
    }

    pub async fn load(&self) -> Result<Option<State>, StateError> {
        match self {
            Store::Local(store) => store.load(),
            Store::Remote(store) => store.load().await,
        }
    }

    pub async fn save(&self, state: &State) -> Result<(), StateError> {
        match self {
            Store::Local(store) => store.save(state),
            Store::Remote(store) => store.save(state).await,
        }
    }

    /// Takes the lock for `operation`, or fails at once naming the holder; a refusal of a
    /// remote lock ends with `unlock_command ID`, the way to remove it if its run is gone.
    pub async fn lock(&self, operation: &str, unlock_command: &str) -> Result<Lock, StateError> {
        match self {
            Store::Local(store) => StateLock::acquire(store.path(), operation).map(Lock::Local),
            Store::Remote(store) => {
                RemoteLock::acquire(store.objects(), store.location(), operation, unlock_command)
                    .await
                    .map(Lock::Remote)
            }
        }
    }

    /// Removes the lock whose id is `id`; answers who held it. A local lock is an OS lock
    /// that dies with its process, so there is never one to force.
    pub async fn force_unlock(&self, id: &str) -> Result<LockInfo, StateError> {
        match self {
            Store::Local(store) => match StateLock::acquire(store.path(), "force-unlock") {
                Ok(_free) => Err(StateError::Refused(format!(
                    "state {} is not locked; nothing to unlock",
                    store.path().display()
                ))),
                Err(StateError::Locked(held)) => Err(StateError::Refused(format!(
                    "{held}\nA local state lock is held by a running process and released by the \
                     operating system when that process ends, so it is never stale: stop that \
                     process instead of force-unlocking"
                ))),
                Err(other) => Err(other),
            },
            Store::Remote(store) => {
                remote::force_unlock(store.objects().as_ref(), store.location(), id).await
            }
        }
    }
}

#[async_trait]
impl StateStore for Store {
    async fn save(&self, state: &State) -> Result<(), StateError> {
        Store::save(self, state).await
    }
}

/// A held state lock. Release it with [`Lock::release`] on every path: a remote lock is an
/// object in S3 that only an explicit delete removes.
pub enum Lock {
    Local(StateLock),
    Remote(RemoteLock),
}

impl Lock {
    pub fn info(&self) -> &LockInfo {
        match self {
            Lock::Local(lock) => &lock.info,
            Lock::Remote(lock) => &lock.info,
        }
    }

    pub async fn release(self) -> Result<(), StateError> {
        match self {
            Lock::Local(lock) => {
                drop(lock);
                Ok(())
            }
            Lock::Remote(lock) => lock.release().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::remote::memory::MemoryObjects;
    use super::super::S3Location;
    use super::*;
    use std::sync::Arc;

    fn remote() -> (Arc<MemoryObjects>, Store) {
        let objects = Arc::new(MemoryObjects::default());
        let location = S3Location::parse_url("s3://team-state/net.json?region=eu-west-1")
            .unwrap()
            .unwrap();
        let store = Store::Remote(RemoteStore::new(objects.clone(), location));
        (objects, store)
    }

    #[tokio::test]
    async fn both_backends_save_the_same_document_through_one_interface() {
        let dir = tempfile::tempdir().unwrap();
        let local = Store::Local(LocalStore::new(dir.path().join("net.json")));
        let (objects, remote) = remote();
        let mut state = State::new("net", "dev");
        state.serial = 3;
        for store in [&local, &remote] {
            assert_eq!(store.load().await.unwrap(), None);
            let sink: &dyn StateStore = store;
            sink.save(&state).await.unwrap();
            assert_eq!(store.load().await.unwrap(), Some(state.clone()));
        }
        assert_eq!(
            std::fs::read(dir.path().join("net.json")).unwrap(),
            objects.body("net.json").unwrap()
        );
        assert_eq!(remote.describe(), "s3://team-state/net.json");
        assert_eq!(
            remote.location(),
            PathBuf::from("s3://team-state/net.json?region=eu-west-1")
        );
    }

    #[tokio::test]
    async fn locks_release_explicitly_and_local_ones_cannot_be_forced() {
        let dir = tempfile::tempdir().unwrap();
        let local = Store::Local(LocalStore::new(dir.path().join("net.json")));
        let (objects, remote) = remote();
        for store in [&local, &remote] {
            let lock = store
                .lock("apply", "innovate force-unlock bp.yaml")
                .await
                .unwrap();
            let err = store
                .lock("apply", "innovate force-unlock bp.yaml")
                .await
                .err()
                .unwrap();
            assert!(err.to_string().contains(&lock.info().id), "{err}");
            lock.release().await.unwrap();
            store
                .lock("apply", "x")
                .await
                .unwrap()
                .release()
                .await
                .unwrap();
        }
        assert_eq!(objects.body("net.json.lock"), None);

        let err = local.force_unlock("any").await.unwrap_err().to_string();
        assert!(err.contains("is not locked"), "{err}");
        let held = local.lock("apply", "x").await.unwrap();
        let err = local
            .force_unlock(&held.info().id)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("never stale"), "{err}");
        held.release().await.unwrap();
    }
}
