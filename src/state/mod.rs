//! State: what innovate created, as a JSON document with a schema version, a serial that
//! grows with every write and a lineage that ties it to one estate. Stored locally (atomic
//! writes, a backup of the previous version, a lock against concurrent applies).

mod local;
mod lock;
mod remote;
mod store;

pub use local::LocalStore;
pub use lock::{LockInfo, StateLock};
pub use remote::{
    check_bucket_name, force_unlock, Object, ObjectError, ObjectStore, RemoteLock, RemoteStore,
    S3Location, Write,
};
pub use store::{Lock, StateStore, Store};

use crate::address::Address;
use crate::kinds::{Attrs, Live, Tags, LINEAGE_TAG};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The newest state schema this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Always "innovate-state": tells a state file from any other JSON.
    pub format: String,
    pub version: u32,
    pub serial: u64,
    pub lineage: String,
    pub blueprint: String,
    pub env: String,
    pub resources: BTreeMap<Address, ResourceState>,
    #[serde(default)]
    pub outputs: BTreeMap<String, Value>,
    /// Old resources of a create-before-destroy replace whose new one already exists:
    /// deleted next, by this run or, after a crash, the next one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deposed: Vec<Deposed>,
    /// Creates that started but whose result was not recorded yet. A run that dies in
    /// between leaves the entry; the next run finds the resource (by its identity tags or its
    /// unique name) and adopts it instead of creating a second one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Pending>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    pub address: Address,
    pub kind: String,
    /// The id the resource will have when the kind can tell it in advance (a role name, a
    /// cluster name): the way to find it when it carries no tags.
    #[serde(default)]
    pub expected_id: Option<String>,
    /// What the create sends (sensitive attributes left out): recorded as the resource's
    /// attributes if it is adopted.
    #[serde(default)]
    pub attrs: Attrs,
    /// What it was created after: kept for delete ordering once adopted.
    #[serde(default)]
    pub depends_on: Vec<Address>,
    /// The account it is created in (`None`: the caller's): where to look for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub since: String,
    /// The ownership tags the create sends (this state's lineage and the create's stamp):
    /// what it is found by. Empty in intents written before ownership tags existed.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub owner: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deposed {
    pub address: Address,
    pub resource: ResourceState,
}

/// One resource instance innovate manages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    pub kind: String,
    pub id: String,
    /// The attributes as last applied (sensitive ones never stored).
    pub attrs: Attrs,
    /// What AWS computed (arn, public_ip ...).
    #[serde(default)]
    pub outputs: Attrs,
    /// What it needed when it was created: deletes run in the reverse order even after the
    /// blueprint forgot the resource.
    #[serde(default)]
    pub depends_on: Vec<Address>,
    /// The AWS account it lives in, when placed with `account:` (`None`: the caller's
    /// account). Every read, update and delete happens there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The ownership tags it was last given (`innovate:lineage`, `innovate:created`). Empty
    /// for a resource recorded before ownership tags existed (or imported): the next apply
    /// tags it with this state's lineage.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub owner: Tags,
}

impl State {
    pub fn new(blueprint: &str, env: &str) -> State {
        State {
            format: "innovate-state".into(),
            version: SCHEMA_VERSION,
            serial: 0,
            lineage: uuid::Uuid::new_v4().to_string(),
            blueprint: blueprint.into(),
            env: env.into(),
            resources: BTreeMap::new(),
            outputs: BTreeMap::new(),
            deposed: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// The value of `${address.attr}` as state knows it: id, an output or an attribute.
    pub fn read(&self, address: &Address, attr: &str) -> Option<Value> {
        let resource = self.resources.get(address)?;
        if attr == "id" {
            return Some(Value::String(resource.id.clone()));
        }
        resource
            .outputs
            .get(attr)
            .or_else(|| resource.attrs.get(attr))
            .cloned()
    }
}

impl ResourceState {
    /// Whether it carries `lineage`'s ownership tag, as far as state knows.
    pub fn owned_by(&self, lineage: &str) -> bool {
        self.owner.get(LINEAGE_TAG).map(String::as_str) == Some(lineage)
    }

    pub fn live(&self) -> Live {
        Live {
            id: self.id.clone(),
            outputs: self.outputs.clone(),
            attrs: Some(self.attrs.clone()),
            identity: self.owner.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Locked(String),
}
