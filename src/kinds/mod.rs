//! The resource-kind contract: what every AWS resource kind implements, and the registry that
//! maps kind names ("ec2.subnet") to implementations.
//!
//! Nothing here imports an SDK crate. The blueprint validator reads [`Schema`]s, the planner
//! diffs against them, and the executor calls [`ResourceKind`] methods with plain JSON values,
//! so the engine stays independent of the AWS SDK.

mod ownership;
mod placement;
mod price;
mod retry;
mod schema;
mod spec;
mod tags;
mod typed;
pub mod wait;

pub use ownership::{
    find_made_by, identity_tags, is_full_identity, owner_tags, ADDRESS_TAG, BLUEPRINT_TAG,
    CREATED_TAG, ENV_TAG, IDENTITY_TAGS, LINEAGE_TAG, OWNER_TAGS,
};
pub use placement::{AccountOpener, Accounts};
pub use price::{Price, Pricing, Tier};
pub use retry::{retry_when, retry_while, Backoff};
pub use schema::{Attr, AttrType, Rule, Schema};
#[cfg(test)]
pub use spec::spec_fits_schema;
pub use spec::{attr_name, changed, parse_spec, value_or_default, TAGS};
pub use tags::{carries_all, tag_changes, tag_map, user_tags, TagApi, TagChanges, Tagging};
pub use typed::{gone, in_order, AwsItem, AwsKind, Change, ClientOf, KindCx, Typed};
pub use wait::{Seen, Waiter};

use async_trait::async_trait;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// JSON object of attribute name -> value, as the blueprint spells them (snake_case).
pub type Attrs = Map<String, Value>;

/// Tags applied to a resource: the user's `tags` plus innovate's identity tags.
pub type Tags = BTreeMap<String, String>;

/// What AWS reports about a resource after create / update / read.
#[derive(Debug, Clone, PartialEq)]
pub struct Live {
    /// The primary AWS identifier (`vpc-0abc...`, a name, an ARN): exposed as `id`.
    pub id: String,
    /// Attributes AWS computed (arn, owner_id, association ids ...), readable as `NAME.ATTR`.
    pub outputs: Attrs,
    /// The blueprint attributes as AWS reports them now (blueprint shape, user tags without
    /// innovate's), for drift detection and import. `None` where the kind cannot tell; a
    /// map may hold only the attributes the kind can read cheaply.
    pub attrs: Option<Attrs>,
    /// innovate's tags the resource carries ([`IDENTITY_TAGS`], [`OWNER_TAGS`]): whose it is.
    /// Empty when it carries none, or where the kind cannot read them.
    pub identity: Tags,
}

impl Live {
    /// What a describe call saw; the typed layer adds the tags and [`Live::identity`].
    pub fn observed(id: String, outputs: Attrs, attrs: Attrs) -> Live {
        Live {
            id,
            outputs,
            attrs: Some(attrs),
            identity: Tags::new(),
        }
    }

    /// The lineage of the state that created it, when it carries one.
    pub fn lineage(&self) -> Option<&str> {
        self.identity.get(LINEAGE_TAG).map(String::as_str)
    }

    /// When the create that made it began, when it carries that stamp.
    pub fn created(&self) -> Option<&str> {
        self.identity.get(CREATED_TAG).map(String::as_str)
    }
}

/// A failed AWS call, with enough to act on: which API call, AWS's code and message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct KindError {
    /// "ec2:CreateSubnet"
    pub call: String,
    /// AWS's error code ("InvalidSubnet.Conflict"), when there is one.
    pub code: Option<String>,
    pub message: String,
    /// The id AWS gave the failed request, when it answered: what AWS support asks for.
    pub request_id: Option<String>,
}

impl KindError {
    pub fn new(call: impl Into<String>, code: Option<String>, message: impl Into<String>) -> Self {
        KindError {
            call: call.into(),
            code,
            message: message.into(),
            request_id: None,
        }
    }

    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    /// An error found before calling AWS (a spec that cannot be sent, a timeout ...).
    pub fn local(call: impl Into<String>, message: impl Into<String>) -> Self {
        KindError::new(call, None, message)
    }

    /// Whether AWS answered with one of `codes`.
    pub fn has_code_in(&self, codes: &[&str]) -> bool {
        self.code
            .as_deref()
            .is_some_and(|code| codes.contains(&code))
    }
}

impl fmt::Display for KindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} failed: {}: {}", self.call, code, self.message)?,
            None => write!(f, "{} failed: {}", self.call, self.message)?,
        }
        match &self.request_id {
            Some(id) => write!(f, " (request id {id})"),
            None => Ok(()),
        }
    }
}

pub type KindResult<T> = Result<T, KindError>;

/// Receives `(address, phase)` progress reports.
pub type ProgressFn = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// What the executor hands a kind for one step: where to report progress.
pub struct StepCx {
    pub address: String,
    progress: ProgressFn,
    /// The blueprint's `timeouts` entry for this operation, if it set one.
    timeout: Option<Duration>,
}

impl StepCx {
    pub fn new(address: String, progress: ProgressFn) -> Self {
        StepCx {
            address,
            progress,
            timeout: None,
        }
    }

    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long a wait of this step may take: the blueprint's `timeouts`, else the kind's
    /// default for the operation.
    pub fn timeout_or(&self, default: Duration) -> Duration {
        self.timeout.unwrap_or(default)
    }

    /// A step without a listener (tests, import).
    pub fn silent(address: impl Into<String>) -> Self {
        StepCx::new(address.into(), Arc::new(|_, _| {}))
    }

    /// Tells the operator what a long step is doing ("waiting for available").
    pub fn phase(&self, phase: &str) {
        (self.progress)(&self.address, phase)
    }
}

/// One AWS resource kind. Implementations live in `src/aws/<service>/<kind>.rs`, one per file.
///
/// `desired` is the blueprint's attributes for one instance with every reference resolved,
/// already checked against [`ResourceKind::schema`] and with schema defaults filled in.
#[async_trait]
pub trait ResourceKind: Send + Sync {
    /// Attributes, their types, which force replacement, and which outputs the kind exposes.
    fn schema(&self) -> &'static Schema;

    /// Creates the resource, tagged with `tags` at creation where the API allows it, and
    /// waits until it is usable.
    async fn create(&self, cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live>;

    /// Reads many resources of this kind in as few calls as the API allows; `None` for an id
    /// that no longer exists. Results are in the order of `ids`.
    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>>;

    /// The id a resource will get, when the blueprint decides it (an IAM role's name, an EKS
    /// cluster's name): how a create interrupted before its answer is found again when the
    /// kind has no tags to search by.
    fn natural_id(&self, desired: &Attrs) -> Option<String> {
        let _ = desired;
        None
    }

    /// Error codes with which AWS refuses a create because the resource exists already (its
    /// name is taken): after a lost answer, the SDK's retry of this very create gets one, and
    /// the resource found by its identity tags (or [`ResourceKind::natural_id`]) is adopted.
    fn conflict_codes(&self) -> &'static [&'static str] {
        &[]
    }

    /// Every resource of this kind that carries all of `tags` (innovate's identity tags of
    /// one blueprint and environment), for finding what state does not know: leftovers of a
    /// crash, copies made by a retried create, resources someone else tagged. `None` when the
    /// kind cannot be listed by tag.
    async fn list_tagged(&self, tags: &Tags) -> KindResult<Option<Vec<Live>>> {
        let _ = tags;
        Ok(None)
    }

    /// innovate's tags a found resource carries, for telling whose it is before adopting
    /// it. Kinds whose reads report tags have them in `live.identity` already; a kind whose
    /// describe call leaves tags out asks for them here.
    async fn identity_of(&self, live: &Live) -> KindResult<Tags> {
        Ok(live.identity.clone())
    }

    /// Changes `changed` attributes in place (never a replace-forcing one). `prior` is what
    /// state recorded; `tags` is the full tag set wanted after the update.
    async fn update(
        &self,
        cx: &StepCx,
        live: &Live,
        prior: &Attrs,
        desired: &Attrs,
        tags: &Tags,
    ) -> KindResult<Live>;

    /// Why a delete of this resource would be refused, given what state recorded (an
    /// account without `close_on_deletion: true`, a database with deletion protection): the
    /// plan shows it, a plan that would delete it is refused before anything runs, and
    /// destroy keeps it (and what it stands on) instead of failing on it. `None`: deletes
    /// proceed.
    fn delete_refusal(&self, prior: &Attrs) -> Option<String> {
        let _ = prior;
        None
    }

    /// What a delete of this resource does beyond removing it, given what state recorded
    /// (a KMS key is only scheduled for deletion after its pending window): the plan shows
    /// it under the delete. `None`: nothing to say.
    fn delete_note(&self, prior: &Attrs) -> Option<String> {
        let _ = prior;
        None
    }

    /// Deletes the resource and waits until AWS has let go of it. Deleting one that is
    /// already gone succeeds.
    async fn delete(&self, cx: &StepCx, live: &Live, prior: &Attrs) -> KindResult<()>;

    /// Whether the kind's spec type reads every value its schema allows (see
    /// [`spec_fits_schema`]); kinds without a spec type have nothing to check.
    #[cfg(test)]
    fn spec_fits_schema(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Kind name -> implementation. Filled on the AWS side (`aws::registry`), handed to the engine.
/// These kinds act in the caller's account; [`Registry::in_account`] gives the same kinds
/// acting in a member account.
#[derive(Clone, Default)]
pub struct Registry {
    kinds: BTreeMap<&'static str, Arc<dyn ResourceKind>>,
    accounts: Option<Arc<Accounts>>,
}

impl Registry {
    /// Lets [`Registry::in_account`] reach member accounts through `opener`.
    pub fn with_accounts(mut self, opener: Arc<dyn AccountOpener>) -> Registry {
        self.accounts = Some(Arc::new(Accounts::new(opener)));
        self
    }

    /// The registry whose kinds act in `account` (`None`: the caller's own, this one).
    pub async fn in_account(&self, account: Option<&str>) -> KindResult<Registry> {
        match (account, &self.accounts) {
            (None, _) => Ok(self.clone()),
            (Some(account), Some(accounts)) => accounts.registry(account).await,
            (Some(account), None) => Err(KindError::local(
                "innovate",
                format!("account {account}: this registry cannot reach other accounts"),
            )),
        }
    }

    /// Kind `name` acting in `account`.
    pub async fn kind_in(
        &self,
        account: Option<&str>,
        name: &str,
    ) -> KindResult<Arc<dyn ResourceKind>> {
        let registry = self.in_account(account).await?;
        registry.get(name).cloned().ok_or_else(|| {
            KindError::local(
                "innovate",
                format!("unknown kind `{name}` (from a newer innovate?)"),
            )
        })
    }

    pub fn register(&mut self, kind: Arc<dyn ResourceKind>) {
        self.kinds.insert(kind.schema().name, kind);
    }

    /// Registers typed kind `kind`, its calls going through `client`.
    pub fn add<K: AwsKind>(&mut self, kind: K, client: &Arc<typed::ClientOf<K>>) {
        self.register(Arc::new(Typed::new(kind, client.clone())));
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn ResourceKind>> {
        self.kinds.get(name)
    }

    pub fn schema(&self, name: &str) -> Option<&'static Schema> {
        self.get(name).map(|k| k.schema())
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.kinds.keys().copied()
    }
}

/// [`same_value`], with every list compared as a multiset: for set-valued attributes, at
/// every depth (a rule's CIDR list is as unordered as the list of rules).
pub fn same_set_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            let mut unmatched: Vec<&Value> = y.iter().collect();
            x.len() == y.len()
                && x.iter().all(|item| {
                    let found = unmatched
                        .iter()
                        .position(|other| same_set_value(item, other));
                    found.map(|i| unmatched.swap_remove(i)).is_some()
                })
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_set_value(v, w)))
        }
        _ => same_value(a, b),
    }
}

/// Equality of attribute values that ignores the order of map keys (JSON maps keep insertion
/// order here) and the spelling of numbers (1 and 1.0).
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_value(v, w))
        }
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sets_compare_by_their_items_at_every_depth() {
        let a = json!([{"port": 443, "cidrs": ["a", "b"]}, {"port": 80, "cidrs": []}]);
        let b = json!([{"port": 80, "cidrs": []}, {"port": 443, "cidrs": ["b", "a"]}]);
        assert!(same_set_value(&a, &b));
        assert!(!same_value(&a, &b), "lists keep their order elsewhere");
        assert!(!same_set_value(
            &json!(["a", "a", "b"]),
            &json!(["a", "b", "b"])
        ));
        assert!(!same_set_value(&json!(["a"]), &json!(["a", "a"])));
    }
}
