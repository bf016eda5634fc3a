//! AWS Organizations: the organization, its organizational units, member accounts and
//! organization policies (service control policies ...), one kind per file. What they share
//! lives here: tags by resource id, parents and the root, one-by-one reads, retries of
//! ConcurrentModificationException, and adopting what an interrupted run already created.
//!
//! Organizations has no batch Describe. Accounts are read with one ListAccounts; OUs and
//! policies one Describe each, a few at a time.

mod account;
mod organization;
mod organizational_unit;
mod policy;

/// Service control policies are written in the IAM policy language: IAM's comparison of
/// documents by meaning applies as it is.
use crate::aws::iam::policy as policy_document;

use crate::aws::common::{carries_all, has_code, tag_changes, TagChanges};
use crate::aws::{retry_while, sdk_error, AwsContext, Backoff};
use crate::kinds::{identity_tags, KindError, KindResult, Registry, Tags};
use aws_sdk_organizations::types::{Root, Tag};
use aws_sdk_organizations::Client;
use futures::{StreamExt, TryStreamExt};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Registers the Organizations kinds, sharing `aws`'s one Organizations client.
pub fn register(registry: &mut Registry, aws: &Arc<AwsContext>) {
    registry.register(Arc::new(organization::OrganizationKind(aws.clone())));
    registry.register(Arc::new(organizational_unit::OrganizationalUnitKind(
        aws.clone(),
    )));
    registry.register(Arc::new(account::AccountKind(aws.clone())));
    registry.register(Arc::new(policy::PolicyKind(aws.clone())));
}

/// What every call answers once the caller's account has no organization (any more).
const NOT_IN_USE: &str = "AWSOrganizationsNotInUseException";

/// Organizations serialises changes: a request that touches what another request is
/// changing (two OUs created under one parent, a move during a policy attachment ...) is
/// refused with ConcurrentModificationException, and a policy change while the effective
/// policies are recomputed with PolicyChangesInProgressException; both succeed when sent
/// again.
const BUSY_CODES: [&str; 2] = [
    "ConcurrentModificationException",
    "PolicyChangesInProgressException",
];

/// How long a refused change is sent again.
const BUSY: Backoff = Backoff {
    first: Duration::from_millis(500),
    max_delay: Duration::from_secs(5),
    bound: Duration::from_secs(2 * 60),
};

/// Read-after-write on Organizations: a just created account, OU or attachment is not
/// visible to every endpoint at once.
const SETTLING: Backoff = Backoff {
    first: Duration::from_millis(500),
    max_delay: Duration::from_secs(5),
    bound: Duration::from_secs(60),
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

/// A call's result with "does not exist" (any of `gone`, or no organization at all) as
/// `None`.
fn found<T>(result: KindResult<T>, gone: &[&str]) -> KindResult<Option<T>> {
    match result {
        Err(err) if has_code(&err, gone) || has_code(&err, &[NOT_IN_USE]) => Ok(None),
        other => other.map(Some),
    }
}

/// Checks a value against the values an SDK enum knows, so a typo fails before any call.
fn one_of(kind: &str, attr: &str, value: &str, allowed: &[&str]) -> KindResult<()> {
    if allowed.contains(&value) {
        return Ok(());
    }
    let message = format!("{attr}: {value:?} is not one of {}", allowed.join(", "));
    Err(KindError::local(kind, message))
}

/// The organization's root (there is one per organization).
async fn root(org: &Client) -> KindResult<Root> {
    let listed = org
        .list_roots()
        .send()
        .await
        .map_err(|e| sdk_error("organizations:ListRoots", e))?;
    listed
        .roots
        .unwrap_or_default()
        .into_iter()
        .next()
        .ok_or_else(|| KindError::local("organizations:ListRoots", "the organization has no root"))
}

/// The root or OU that an OU or account sits in.
async fn parent_of(org: &Client, child_id: &str) -> KindResult<String> {
    let call = "organizations:ListParents";
    let listed = org
        .list_parents()
        .child_id(child_id)
        .send()
        .await
        .map_err(|e| sdk_error(call, e))?;
    let parent = listed.parents().first().and_then(|p| p.id());
    parent
        .map(str::to_string)
        .ok_or_else(|| KindError::local(call, format!("{child_id} has no parent")))
}

/// Organizations tags for a Create* or TagResource call.
fn to_sdk(call: &str, tags: &Tags) -> KindResult<Vec<Tag>> {
    tags.iter()
        .map(|(key, value)| {
            Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|e| KindError::local(call, format!("tag {key}: {e}")))
        })
        .collect()
}

/// `None` when there is nothing to tag, so the call carries no empty list.
fn for_create(call: &str, tags: &Tags) -> KindResult<Option<Vec<Tag>>> {
    if tags.is_empty() {
        return Ok(None);
    }
    to_sdk(call, tags).map(Some)
}

/// The tags of a root, OU, account or policy, by its id.
async fn tags_of(org: &Client, id: &str) -> KindResult<Tags> {
    let pages: Vec<_> = org
        .list_tags_for_resource()
        .resource_id(id)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("organizations:ListTagsForResource", e))?;
    Ok(pages
        .iter()
        .flat_map(|page| page.tags())
        .map(|tag| (tag.key().to_string(), tag.value().to_string()))
        .collect())
}

/// Makes the tags of resource `id` exactly `desired`, given what it carries now (`aws:`
/// tags are left alone).
async fn sync_tags(org: &Client, id: &str, current: &Tags, desired: &Tags) -> KindResult<()> {
    let TagChanges { set, removed } = tag_changes(current, desired);
    if !set.is_empty() {
        let tags = &to_sdk("organizations:TagResource", &set)?;
        changing(|| async move {
            org.tag_resource()
                .resource_id(id)
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .map_err(|e| sdk_error("organizations:TagResource", e))
        })
        .await?;
    }
    if !removed.is_empty() {
        let removed = &removed;
        changing(|| async move {
            org.untag_resource()
                .resource_id(id)
                .set_tag_keys(Some(removed.clone()))
                .send()
                .await
                .map_err(|e| sdk_error("organizations:UntagResource", e))
        })
        .await?;
    }
    Ok(())
}

/// Whether a resource found by its unique name (an OU under a parent, an account's email,
/// a policy name) is the one this step created in an earlier, interrupted run: it carries
/// every innovate tag of `wanted` (blueprint, env and address, and the owner tags: this
/// state's lineage and this create's stamp). Without identity tags nothing is adopted.
fn is_ours(carried: &Tags, wanted: &Tags) -> bool {
    let identity = identity_tags(wanted);
    !identity.is_empty() && carries_all(carried, &identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_resources_with_the_same_identity_are_adopted() {
        let wanted = tags(&[
            ("innovate:blueprint", "innovate"),
            ("innovate:env", "prod"),
            ("innovate:address", "workloads"),
            ("team", "platform"),
        ]);
        // User tags may have changed since; identity may not.
        let carried = tags(&[
            ("innovate:blueprint", "innovate"),
            ("innovate:env", "prod"),
            ("innovate:address", "workloads"),
            ("team", "old"),
        ]);
        assert!(is_ours(&carried, &wanted));
        let other_env = tags(&[
            ("innovate:blueprint", "innovate"),
            ("innovate:env", "staging"),
            ("innovate:address", "workloads"),
        ]);
        assert!(!is_ours(&other_env, &wanted));
        assert!(!is_ours(&Tags::new(), &wanted));
        // Nothing to recognise it by: never adopted.
        assert!(!is_ours(&carried, &tags(&[("team", "platform")])));
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
    fn tags_convert_and_are_absent_when_empty() {
        let wanted = tags(&[("a", "1"), ("b", "")]);
        let sdk = to_sdk("organizations:TagResource", &wanted).unwrap();
        let back: Tags = sdk
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        assert_eq!(back, wanted);
        assert!(for_create("organizations:CreatePolicy", &Tags::new())
            .unwrap()
            .is_none());
    }

    #[test]
    fn enum_values_are_checked() {
        assert!(one_of("k", "feature_set", "ALL", &["ALL", "CONSOLIDATED_BILLING"]).is_ok());
        let err = one_of("k", "feature_set", "all", &["ALL", "CONSOLIDATED_BILLING"]).unwrap_err();
        assert!(
            err.message.contains("ALL, CONSOLIDATED_BILLING"),
            "{}",
            err.message
        );
    }
}
