//! An in-memory [`ObjectStore`] with S3's conditional semantics, for unit tests.

use super::{Object, ObjectError, ObjectStore, S3Location, Write};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The location every unit test's state lives at.
pub fn location() -> S3Location {
    S3Location {
        bucket: "team-state".into(),
        key: "net/dev.json".into(),
        region: None,
    }
}

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
