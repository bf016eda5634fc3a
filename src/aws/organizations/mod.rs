//! AWS Organizations: the organization, its organizational units, member accounts and
//! organization policies (service control policies ...), one kind per file on the typed
//! layer. What they share lives here: tags by resource id, parents and the root, one-by-one
//! reads, retries of ConcurrentModificationException, and adopting what an interrupted run
//! already created.
//!
//! Organizations has no batch Describe. Accounts are read with one ListAccounts; OUs and
//! policies one Describe each, a few at a time.

mod account;
mod organization;
mod organizational_unit;
mod policy;
mod tags;

use tags::{for_create, retag, tagging_by_id, tags_of, Organizations};

/// Service control policies are written in the IAM policy language: IAM's comparison of
/// documents by meaning applies as it is.
use crate::aws::iam::policy as policy_document;

use crate::aws::common::{carries_all, has_code, missing};
use crate::aws::{retry_while, sdk_error, AwsContext, Backoff};
use crate::kinds::{
    identity_tags, KindError, KindResult, Registry, Rule, Schema, Tags, ADDRESS_TAG,
};
use aws_sdk_organizations::types::Root;
use aws_sdk_organizations::Client;
use futures::{StreamExt, TryStreamExt};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Registers the Organizations kinds, sharing `aws`'s one Organizations client.
pub fn register(registry: &mut Registry, aws: &Arc<AwsContext>) {
    use organizational_unit::OrganizationalUnitKind;
    registry.add(organization::OrganizationKind, aws);
    registry.add(OrganizationalUnitKind, aws);
    registry.add(account::AccountKind, aws);
    registry.add(policy::PolicyKind, aws);
}

/// What every call answers once the caller's account has no organization (any more): for
/// an OU, account or policy, as gone as its own NotFound.
const NOT_IN_USE: &str = "AWSOrganizationsNotInUseException";

/// Organizations serialises changes: a request that touches what another request is
/// changing (two OUs created under one parent, a move during a policy attachment ...) is
/// refused with ConcurrentModificationException, and a policy change while the effective
/// policies are recomputed with PolicyChangesInProgressException; and for minutes after
/// CreateOrganization, CreateAccount, CreateOrganizationalUnit and CreatePolicy answer
/// FinalizingOrganizationException (terraform-provider-aws retries it on all three). All
/// succeed when sent again.
const BUSY_CODES: [&str; 3] = [
    "ConcurrentModificationException",
    "PolicyChangesInProgressException",
    "FinalizingOrganizationException",
];

/// How long a refused change is sent again: long enough for a new organization to finalize.
const BUSY: Backoff = Backoff {
    first: Duration::from_millis(500),
    max_delay: Duration::from_secs(10),
    bound: Duration::from_secs(4 * 60),
};

/// Read-after-write on Organizations: a just created account, OU or attachment is not
/// visible to every endpoint at once.
const SETTLING: Backoff = Backoff {
    first: Duration::from_millis(500),
    max_delay: Duration::from_secs(5),
    bound: Duration::from_secs(60),
};

/// How the waits of accounts and policy types poll: AWS takes seconds to minutes.
const POLLING: Backoff = Backoff {
    first: Duration::from_secs(1),
    max_delay: Duration::from_secs(15),
    bound: Duration::from_secs(10 * 60),
};

/// How many calls a read keeps in flight. Organizations allows few requests per second
/// per account; the SDK retries the throttled ones.
const READ_CONCURRENCY: usize = 4;

/// Runs a changing call, sending it again while Organizations answers
/// one of [`BUSY_CODES`] (up to [`BUSY`]).
async fn changing<T, F, Fut>(op: F) -> KindResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = KindResult<T>>,
{
    retry_while(&BUSY_CODES, BUSY, op).await
}

/// One read per item (an id ...), a few at a time, answered in the order of `items`.
async fn read_each<I, T, F, Fut>(items: I, read: F) -> KindResult<Vec<T>>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future<Output = KindResult<T>>,
{
    futures::stream::iter(items.into_iter().map(read))
        .buffered(READ_CONCURRENCY)
        .try_collect()
        .await
}

/// [`read_each`] for reads that may find nothing: what was found, in order.
async fn read_found<I, T, F, Fut>(items: I, read: F) -> KindResult<Vec<T>>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future<Output = KindResult<Option<T>>>,
{
    Ok(read_each(items, read)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

/// A call's result with "does not exist" (any of `gone`, or no organization at all) as
/// `None`.
fn found<T>(result: KindResult<T>, gone: &[&str]) -> KindResult<Option<T>> {
    match result {
        Err(err) if has_code(&err, gone) || has_code(&err, &[NOT_IN_USE]) => Ok(None),
        other => other.map(Some),
    }
}

/// Checks a value against the closed set the schema declares for `attr` (`one_of`), so a
/// typo fails before any call even where the blueprint was not validated (import).
fn check_one_of(schema: &Schema, attr: &str, value: &str) -> KindResult<()> {
    let Some(Rule::OneOf(allowed)) = schema.attr(attr).map(|a| a.rule) else {
        return Ok(());
    };
    if allowed.contains(&value) {
        return Ok(());
    }
    let message = format!("{attr}: {value:?} is not one of {}", allowed.join(", "));
    Err(KindError::local(schema.name, message))
}

/// The organization's root (there is one per organization).
async fn root(org: &Client) -> KindResult<Root> {
    let call = "organizations:ListRoots";
    // Paginated: AWS may answer an empty page with a NextToken; the stream follows it.
    let mut pages = org.list_roots().into_paginator().send();
    while let Some(page) = pages.next().await {
        let roots = page.map_err(|e| sdk_error(call, e))?.roots;
        if let Some(root) = roots.unwrap_or_default().into_iter().next() {
            return Ok(root);
        }
    }
    Err(KindError::local(call, "the organization has no root"))
}

/// The id of a root AWS answered.
fn id_of(root: &Root) -> KindResult<&str> {
    root.id()
        .ok_or_else(|| missing("organizations:ListRoots", "Id"))
}

/// The root or OU that an OU or account sits in.
async fn parent_of(org: &Client, child_id: &str) -> KindResult<String> {
    let call = "organizations:ListParents";
    // Paginated like ListRoots: the first parent may come after an empty page.
    let request = org.list_parents().child_id(child_id);
    let mut pages = request.into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error(call, e))?;
        if let Some(id) = page.parents().first().and_then(|p| p.id()) {
            return Ok(id.to_string());
        }
    }
    Err(KindError::local(call, format!("{child_id} has no parent")))
}

/// Whether a resource found by its unique name (an OU under a parent, an account's email,
/// a policy name) is the one this step created in an earlier, interrupted run: it carries
/// every innovate tag of `wanted` (blueprint, env and address, and the owner tags: this
/// state's lineage and this create's stamp). Without identity tags nothing is adopted.
fn is_ours(carried: &Tags, wanted: &Tags) -> bool {
    let identity = identity_tags(wanted);
    !identity.is_empty() && carries_all(carried, &identity)
}

/// The blueprint address a step's tags name, for messages.
fn address(tags: &Tags) -> &str {
    tags.get(ADDRESS_TAG).map_or("resource", String::as_str)
}

/// AWS's refusal with why innovate did not work around it.
fn explained(refused: KindError, why: &str) -> KindError {
    KindError {
        message: format!("{} ({why})", refused.message),
        ..refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::tag_map;

    #[test]
    fn only_resources_with_the_same_identity_are_adopted() {
        let wanted = tag_map(&[
            ("innovate:blueprint", "innovate"),
            ("innovate:env", "prod"),
            ("innovate:address", "workloads"),
            ("team", "platform"),
        ]);
        // User tags may have changed since; identity may not.
        let carried = tag_map(&[
            ("innovate:blueprint", "innovate"),
            ("innovate:env", "prod"),
            ("innovate:address", "workloads"),
            ("team", "old"),
        ]);
        assert!(is_ours(&carried, &wanted));
        let other_env = tag_map(&[
            ("innovate:blueprint", "innovate"),
            ("innovate:env", "staging"),
            ("innovate:address", "workloads"),
        ]);
        assert!(!is_ours(&other_env, &wanted));
        assert!(!is_ours(&Tags::new(), &wanted));
        // Nothing to recognise it by: never adopted.
        assert!(!is_ours(&carried, &tag_map(&[("team", "platform")])));
        assert_eq!(address(&wanted), "workloads");
    }

    #[test]
    fn gone_codes_and_a_missing_organization_read_as_none() {
        let err = |code: &str| KindError::new("organizations:X", Some(code.into()), "m");
        let gone = ["PolicyNotFoundException"];
        assert_eq!(
            found::<()>(Err(err("PolicyNotFoundException")), &gone),
            Ok(None)
        );
        assert_eq!(found::<()>(Err(err(NOT_IN_USE)), &gone), Ok(None));
        assert_eq!(found(Ok(3), &gone), Ok(Some(3)));
        assert!(found::<()>(Err(err("AccessDeniedException")), &gone).is_err());
    }

    #[test]
    fn enum_values_are_checked() {
        use crate::kinds::{Attr, AttrType, Price, Tier};
        static SCHEMA: Schema = Schema {
            name: "k",
            attrs: &[Attr::optional("feature_set", AttrType::String)
                .one_of(&["ALL", "CONSOLIDATED_BILLING"])],
            outputs: &[],
            taggable: false,
            tier: Tier::Accounts,
            price: Price::Free,
        };
        assert!(check_one_of(&SCHEMA, "feature_set", "ALL").is_ok());
        let err = check_one_of(&SCHEMA, "feature_set", "all").unwrap_err();
        assert!(
            err.message.contains("ALL, CONSOLIDATED_BILLING"),
            "{}",
            err.message
        );
        assert!(
            check_one_of(&SCHEMA, "other", "x").is_ok(),
            "no rule, no check"
        );
    }
}
