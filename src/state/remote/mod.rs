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
//!
//! `location.rs` reads and prints `s3://` locations, `store.rs` is the state object,
//! `lock.rs` the lock object (taking, releasing, force-unlocking, and the refusal that names
//! its holder).

mod location;
mod lock;
#[cfg(test)]
pub(crate) mod memory;
mod store;

pub use location::{check_bucket_name, S3Location};
pub use lock::{force_unlock, RemoteLock};
pub use store::RemoteStore;

use async_trait::async_trait;

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
