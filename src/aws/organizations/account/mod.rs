//! `organizations.account`: a member account created in the organization and placed under
//! `parent_id` (the root or an OU). A new parent moves it in place (MoveAccount).
//!
//! CreateAccount only starts the creation: it is polled (DescribeCreateAccountStatus)
//! until AWS reports SUCCEEDED or FAILED, for up to 30 minutes. AWS creates accounts under
//! the root; the account is then moved to its parent.
//!
//! Accounts are protected. Deleting one closes it (CloseAccount), which cannot be undone
//! through the API and keeps the account (and its email address) for 90 days, so it only
//! happens when the blueprint says `close_on_deletion: true`; otherwise delete refuses.
//!
//! An email address names one account. When the organization already has an active
//! account with the wanted email that carries this step's identity tags (made by an
//! interrupted run), create adopts it instead of asking AWS for a second one.

use super::{
    changing, for_create, found, is_ours, one_of, parent_of, read_each, root, sync_tags, tags_of,
    SETTLING,
};
use crate::aws::common::{
    carries_all, missing, observed, outputs, parse_spec, user_tags, value_or_default, TAGS,
};
use crate::aws::wait::{self, Status};
use crate::aws::{retry_while, sdk_error, AwsContext, Backoff};
use crate::kinds::{
    identity_tags, Attr, AttrType, Attrs, KindError, KindResult, Live, Price, ResourceKind, Schema,
    StepCx, Tags, Tier, ADDRESS_TAG,
};
use async_trait::async_trait;
use aws_sdk_organizations::types::{
    Account, AccountState, AccountStatus, CreateAccountState, CreateAccountStatus,
    IamUserAccessToBilling,
};
use aws_sdk_organizations::Client;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

static SCHEMA: Schema = Schema {
    name: "organizations.account",
    attrs: &[
        Attr::required("account_name", AttrType::String).force_new(),
        Attr::required("email", AttrType::String).force_new(),
        // The root or an OU; changing it moves the account.
        Attr::required("parent_id", AttrType::String),
        // The IAM role AWS creates in the account, assumable from the management account.
        Attr::optional("role_name", AttrType::String)
            .default("\"OrganizationAccountAccessRole\"")
            .force_new(),
        Attr::optional("iam_user_access_to_billing", AttrType::String)
            .default("\"ALLOW\"")
            .force_new(),
        // innovate's own switch, read when the account is deleted; nothing in AWS.
        Attr::optional("close_on_deletion", AttrType::Bool).default("false"),
        TAGS,
    ],
    outputs: &["arn", "status"],
    taggable: true,
    tier: Tier::Accounts,
    price: Price::Free,
};

const NOT_FOUND: &str = "AccountNotFoundException";
/// ListParents of an account AWS does not know (yet).
const CHILD_NOT_FOUND: &str = "ChildNotFoundException";
const ALREADY_CLOSED: &str = "AccountAlreadyClosedException";
const EMAIL_ALREADY_EXISTS: &str = "EMAIL_ALREADY_EXISTS";

/// Default bounds of the waits; the blueprint's `timeouts` override them.
const CREATE_WAIT: Duration = Duration::from_secs(30 * 60);
const CLOSE_WAIT: Duration = Duration::from_secs(10 * 60);

const PROTECTED: &str = "accounts are protected: set close_on_deletion: true to close it \
                         (AWS keeps closed accounts 90 days)";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    account_name: String,
    email: String,
    parent_id: String,
    role_name: String,
    iam_user_access_to_billing: String,
    /// Read from state by `delete` ([`close_on_deletion`]), which has no spec.
    #[allow(dead_code)]
    close_on_deletion: bool,
}

impl Spec {
    fn parse(desired: &Attrs) -> KindResult<Spec> {
        let spec: Spec = parse_spec(&SCHEMA, desired)?;
        let allowed = IamUserAccessToBilling::values();
        let billing = &spec.iam_user_access_to_billing;
        one_of(SCHEMA.name, "iam_user_access_to_billing", billing, allowed)?;
        Ok(spec)
    }
}

pub(super) struct AccountKind(pub(super) Arc<AwsContext>);

/// An account as AWS reports it, with what takes more calls to learn.
struct Current {
    account: Account,
    parent_id: String,
    tags: Tags,
}

#[async_trait]
impl ResourceKind for AccountKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live> {
        let spec = Spec::parse(desired)?;
        let org = self.0.organizations().await;
        let id = match existing(org, &spec.email, tags).await? {
            Some(id) => id,
            None => create_account(cx, org, &spec, tags).await?,
        };
        place(org, &id, &spec.parent_id).await?;
        // A fresh account has its tags from CreateAccount; an adopted one gets today's.
        sync_tags(org, &id, &tags_of(org, &id).await?, tags).await?;
        let current = read_one(org, &id).await?.ok_or_else(|| gone(&id))?;
        Ok(to_live(&current))
    }

    /// One ListAccounts for all of `ids` (20 accounts a page), then ListParents and
    /// ListTagsForResource for each account found, a few at a time. A closed account (or
    /// one being closed) reads as gone.
    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let org = self.0.organizations().await;
        let Some(all) = found(list_accounts(org).await, &[])? else {
            return Ok(vec![None; ids.len()]);
        };
        let mut by_id: HashMap<String, Account> = all
            .into_iter()
            .filter(|a| !is_closed(a))
            .filter_map(|a| Some((a.id()?.to_string(), a)))
            .collect();
        let wanted: Vec<Option<Account>> = ids.iter().map(|id| by_id.remove(id)).collect();
        read_each(wanted, |account| async move {
            match account {
                Some(account) => Ok(complete(org, account).await?.as_ref().map(to_live)),
                None => Ok(None),
            }
        })
        .await
    }

    /// Every active account of the organization carrying all of `tags`: one ListAccounts,
    /// one ListTagsForResource per account, one ListParents per match.
    async fn list_tagged(&self, tags: &Tags) -> KindResult<Option<Vec<Live>>> {
        let org = self.0.organizations().await;
        let Some(all) = found(list_accounts(org).await, &[])? else {
            return Ok(Some(Vec::new()));
        };
        let active = all.into_iter().filter(|a| !is_closed(a));
        let tagged = read_each(active, |account| async move {
            let id = account.id().unwrap_or_default().to_string();
            let carried = found(tags_of(org, &id).await, &[NOT_FOUND])?.unwrap_or_default();
            if !carries_all(&carried, tags) {
                return Ok(None);
            }
            let Some(parent_id) = found(parent_of(org, &id).await, &[CHILD_NOT_FOUND])? else {
                return Ok(None);
            };
            Ok(Some(to_live(&Current {
                account,
                parent_id,
                tags: carried,
            })))
        })
        .await?;
        Ok(Some(tagged.into_iter().flatten().collect()))
    }

    async fn update(
        &self,
        _cx: &StepCx,
        live: &Live,
        _prior: &Attrs,
        desired: &Attrs,
        tags: &Tags,
    ) -> KindResult<Live> {
        let spec = Spec::parse(desired)?;
        let org = self.0.organizations().await;
        // close_on_deletion needs no call: state records it for the delete.
        let current = read_one(org, &live.id)
            .await?
            .ok_or_else(|| gone(&live.id))?;
        if current.parent_id != spec.parent_id {
            move_account(org, &live.id, &current.parent_id, &spec.parent_id).await?;
        }
        sync_tags(org, &live.id, &current.tags, tags).await?;
        let current = read_one(org, &live.id).await?;
        Ok(to_live(&current.ok_or_else(|| gone(&live.id))?))
    }

    fn delete_refusal(&self, prior: &Attrs) -> Option<String> {
        (!close_on_deletion(prior))
            .then(|| "protected: will not be closed (close_on_deletion is not true)".to_string())
    }

    /// Refuses unless state recorded `close_on_deletion: true`. Then the account is moved
    /// to the root (AWS keeps a closed account where it is for 90 days, which would keep
    /// its OU from being deleted) and closed, and the step waits until AWS reports it
    /// closing.
    async fn delete(&self, cx: &StepCx, live: &Live, prior: &Attrs) -> KindResult<()> {
        let org = self.0.organizations().await;
        let Some(current) = read_one(org, &live.id).await? else {
            return Ok(());
        };
        let close = close_on_deletion(prior);
        if !close {
            let name = current.account.name().unwrap_or("?");
            return Err(KindError::local(
                "organizations:CloseAccount",
                format!("account {} ({name}) was not closed: {PROTECTED}", live.id),
            ));
        }
        let root = root(org).await?;
        let root_id = root
            .id()
            .ok_or_else(|| missing("organizations:ListRoots", "Id"))?;
        if current.parent_id != root_id {
            move_account(org, &live.id, &current.parent_id, root_id).await?;
        }
        let id = live.id.as_str();
        let closed = changing(|| async move {
            org.close_account()
                .account_id(id)
                .send()
                .await
                .map_err(|e| sdk_error("organizations:CloseAccount", e))
        })
        .await;
        match closed {
            Err(err) if err.code.as_deref() == Some(ALREADY_CLOSED) => {}
            Err(err) if err.code.as_deref() == Some(NOT_FOUND) => return Ok(()),
            other => {
                other?;
            }
        }
        wait_closing(cx, org, id).await
    }
}

fn close_on_deletion(prior: &Attrs) -> bool {
    let attr = SCHEMA.attr("close_on_deletion").expect("in the schema");
    value_or_default(attr, prior) == Value::Bool(true)
}

/// The active account of the organization that uses `email`, when it is this step's (made
/// by an interrupted run); an error when it belongs to something else.
async fn existing(org: &Client, email: &str, tags: &Tags) -> KindResult<Option<String>> {
    let accounts = list_accounts(org).await?;
    let same_email = accounts
        .iter()
        .filter(|a| !is_closed(a))
        .find(|a| a.email().is_some_and(|e| e.eq_ignore_ascii_case(email)));
    let Some(id) = same_email.and_then(|a| a.id()) else {
        return Ok(None);
    };
    if is_ours(&tags_of(org, id).await?, tags) {
        return Ok(Some(id.to_string()));
    }
    let message = format!(
        "account {id} of this organization already uses {email} and was not created by \
         this blueprint's {}: import it or choose another email",
        tags.get(ADDRESS_TAG).map_or("resource", String::as_str)
    );
    Err(KindError::new(
        "organizations:CreateAccount",
        Some(EMAIL_ALREADY_EXISTS.into()),
        message,
    ))
}

/// CreateAccount, then the wait until AWS has made it; the new account's id.
async fn create_account(cx: &StepCx, org: &Client, spec: &Spec, tags: &Tags) -> KindResult<String> {
    let call = "organizations:CreateAccount";
    let sdk_tags = &for_create(call, tags)?;
    let billing = &IamUserAccessToBilling::from(spec.iam_user_access_to_billing.as_str());
    let started = changing(|| async move {
        org.create_account()
            .email(&spec.email)
            .account_name(&spec.account_name)
            .role_name(&spec.role_name)
            .iam_user_access_to_billing(billing.clone())
            .set_tags(sdk_tags.clone())
            .send()
            .await
            .map_err(|e| sdk_error(call, e))
    })
    .await?;
    let status = started
        .create_account_status()
        .ok_or_else(|| missing(call, "CreateAccountStatus"))?;
    let request = status
        .id()
        .ok_or_else(|| missing(call, "CreateAccountStatus.Id"))?;
    match wait_created(cx, org, request).await? {
        Outcome::Created(id) => Ok(id),
        // Another request (an interrupted run's) got there first.
        Outcome::Failed(reason) if reason == EMAIL_ALREADY_EXISTS => {
            match existing(org, &spec.email, tags).await? {
                Some(id) => Ok(id),
                None => Err(failure(&reason, &spec.email)),
            }
        }
        Outcome::Failed(reason) => Err(failure(&reason, &spec.email)),
    }
}

/// How an account creation request ended.
#[derive(Debug, PartialEq)]
enum Outcome {
    Created(String),
    /// AWS's FailureReason (EMAIL_ALREADY_EXISTS, ACCOUNT_LIMIT_EXCEEDED ...).
    Failed(String),
}

/// Polls DescribeCreateAccountStatus until the request succeeded or failed, telling the
/// operator "waiting for account creation 65s" meanwhile.
async fn wait_created(cx: &StepCx, org: &Client, request: &str) -> KindResult<Outcome> {
    let backoff = Backoff {
        first: Duration::from_secs(1),
        max_delay: Duration::from_secs(15),
        bound: cx.timeout_or(CREATE_WAIT),
    };
    let call = "organizations:DescribeCreateAccountStatus";
    wait::until(cx, call, "account creation", backoff, || async move {
        let described = org
            .describe_create_account_status()
            .create_account_request_id(request)
            .send()
            .await
            .map_err(|e| sdk_error(call, e));
        // Just made, the request may not be visible everywhere yet.
        match found(described, &["CreateAccountStatusNotFoundException"])? {
            None => Ok(Status::Pending("not visible yet".into())),
            Some(described) => match described.create_account_status() {
                Some(status) => outcome(status),
                None => Err(missing(call, "CreateAccountStatus")),
            },
        }
    })
    .await
}

/// One look at a creation request: IN_PROGRESS waits, SUCCEEDED and FAILED end the wait.
fn outcome(status: &CreateAccountStatus) -> KindResult<Status<Outcome>> {
    let call = "organizations:DescribeCreateAccountStatus";
    match status.state() {
        Some(CreateAccountState::Succeeded) => {
            let id = status
                .account_id()
                .ok_or_else(|| missing(call, "AccountId"))?;
            Ok(Status::Ready(Outcome::Created(id.to_string())))
        }
        Some(CreateAccountState::Failed) => {
            let reason = status.failure_reason().map_or("UNKNOWN", |r| r.as_str());
            Ok(Status::Ready(Outcome::Failed(reason.to_string())))
        }
        Some(state) => Ok(Status::Pending(state.as_str().to_string())),
        None => Ok(Status::Pending("in no state yet".into())),
    }
}

/// A failed creation, with what the reason means for the operator.
fn failure(reason: &str, email: &str) -> KindError {
    let hint = match reason {
        EMAIL_ALREADY_EXISTS => format!("another AWS account already uses {email}"),
        "INVALID_EMAIL" => format!("AWS does not accept {email} as an email address"),
        "ACCOUNT_LIMIT_EXCEEDED" => {
            "the organization has as many accounts as its quota allows".to_string()
        }
        "CONCURRENT_ACCOUNT_MODIFICATION" => {
            "another account change was in progress; apply again".to_string()
        }
        _ => "see the AWS Organizations documentation for this reason".to_string(),
    };
    KindError::new(
        "organizations:CreateAccount",
        Some(reason.to_string()),
        format!("account creation FAILED ({reason}): {hint}"),
    )
}

/// Moves the account under `parent_id` unless it is there already. Just created, AWS may
/// not know the account everywhere yet.
async fn place(org: &Client, id: &str, parent_id: &str) -> KindResult<()> {
    let settled = || async move { parent_of(org, id).await };
    let current = retry_while(&[NOT_FOUND, CHILD_NOT_FOUND], SETTLING, settled).await?;
    if current != parent_id {
        move_account(org, id, &current, parent_id).await?;
    }
    Ok(())
}

async fn move_account(org: &Client, id: &str, from: &str, to: &str) -> KindResult<()> {
    let moved = changing(|| async move {
        org.move_account()
            .account_id(id)
            .source_parent_id(from)
            .destination_parent_id(to)
            .send()
            .await
            .map_err(|e| sdk_error("organizations:MoveAccount", e))
    })
    .await;
    match moved {
        // Already there: what the move was for.
        Err(err) if err.code.as_deref() == Some("DuplicateAccountException") => Ok(()),
        other => other.map(drop),
    }
}

/// Waits until AWS no longer reports the account ACTIVE (PENDING_CLOSURE, then SUSPENDED).
async fn wait_closing(cx: &StepCx, org: &Client, id: &str) -> KindResult<()> {
    let backoff = Backoff {
        first: Duration::from_secs(1),
        max_delay: Duration::from_secs(15),
        bound: cx.timeout_or(CLOSE_WAIT),
    };
    let call = "organizations:DescribeAccount";
    wait::until(cx, call, "account closure", backoff, || async move {
        match describe(org, id).await? {
            Some(account) if !is_closed(&account) => Ok(Status::Pending(
                state_of(&account).unwrap_or("ACTIVE").into(),
            )),
            _ => Ok(Status::Ready(())),
        }
    })
    .await
}

async fn list_accounts(org: &Client) -> KindResult<Vec<Account>> {
    let pages: Vec<_> = org
        .list_accounts()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("organizations:ListAccounts", e))?;
    Ok(pages
        .into_iter()
        .flat_map(|page| page.accounts.unwrap_or_default())
        .collect())
}

async fn describe(org: &Client, id: &str) -> KindResult<Option<Account>> {
    let described = org
        .describe_account()
        .account_id(id)
        .send()
        .await
        .map_err(|e| sdk_error("organizations:DescribeAccount", e));
    Ok(found(described, &[NOT_FOUND])?.and_then(|d| d.account))
}

/// DescribeAccount, ListParents and ListTagsForResource for one account; `None` when it is
/// gone or closed.
async fn read_one(org: &Client, id: &str) -> KindResult<Option<Current>> {
    match describe(org, id).await? {
        Some(account) if !is_closed(&account) => complete(org, account).await,
        _ => Ok(None),
    }
}

/// An account with its parent and tags; `None` when it went away meanwhile.
async fn complete(org: &Client, account: Account) -> KindResult<Option<Current>> {
    let id = account.id().unwrap_or_default();
    let parent = found(parent_of(org, id).await, &[CHILD_NOT_FOUND, NOT_FOUND])?;
    let tags = found(
        tags_of(org, id).await,
        &[NOT_FOUND, "TargetNotFoundException"],
    )?;
    Ok(match (parent, tags) {
        (Some(parent_id), Some(tags)) => Some(Current {
            account,
            parent_id,
            tags,
        }),
        _ => None,
    })
}

/// The account's state (ACTIVE, SUSPENDED ...); the older Status field where AWS reports
/// no State.
fn state_of(account: &Account) -> Option<&str> {
    account
        .state()
        .map(AccountState::as_str)
        .or_else(|| account.status().map(AccountStatus::as_str))
}

/// Closed or on its way there: gone, as far as the blueprint is concerned.
fn is_closed(account: &Account) -> bool {
    matches!(
        state_of(account),
        Some("SUSPENDED" | "PENDING_CLOSURE" | "CLOSED")
    )
}

fn gone(id: &str) -> KindError {
    KindError::new(
        "organizations:DescribeAccount",
        Some(NOT_FOUND.into()),
        format!("account {id} no longer exists or is closed"),
    )
}

fn to_live(current: &Current) -> Live {
    let account = &current.account;
    let text = |value: Option<&str>| value.map_or(Value::Null, |v| Value::String(v.into()));
    Live {
        id: account.id().unwrap_or_default().to_string(),
        outputs: outputs([
            ("arn", account.arn().map(str::to_string)),
            ("status", state_of(account).map(str::to_string)),
        ]),
        attrs: Some(observed([
            ("account_name", text(account.name())),
            ("email", text(account.email())),
            ("parent_id", Value::String(current.parent_id.clone())),
            ("tags", user_tags(&current.tags)),
        ])),
        identity: identity_tags(&current.tags),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_organizations::types::CreateAccountFailureReason;
    use serde_json::json;

    #[test]
    fn spec_fits_schema() {
        crate::aws::common::testing::assert_spec_fits_schema::<Spec>(&SCHEMA);
    }

    fn attrs(value: Value) -> Attrs {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn defaults_and_billing_values() {
        let spec = Spec::parse(&attrs(json!({
            "account_name": "innovate-prod", "email": "prod@innovate.example", "parent_id": "r-1"
        })))
        .unwrap();
        assert_eq!(spec.role_name, "OrganizationAccountAccessRole");
        assert_eq!(spec.iam_user_access_to_billing, "ALLOW");
        assert!(!spec.close_on_deletion);
        let err = Spec::parse(&attrs(json!({
            "account_name": "a", "email": "e", "parent_id": "r-1",
            "iam_user_access_to_billing": "YES"
        })))
        .unwrap_err();
        assert!(err.message.contains("ALLOW, DENY"), "{}", err.message);
    }

    #[test]
    fn only_an_explicit_close_on_deletion_closes() {
        assert!(!close_on_deletion(&attrs(json!({}))));
        assert!(!close_on_deletion(&attrs(
            json!({"close_on_deletion": false})
        )));
        assert!(!close_on_deletion(&attrs(
            json!({"close_on_deletion": null})
        )));
        assert!(close_on_deletion(&attrs(
            json!({"close_on_deletion": true})
        )));
    }

    #[test]
    fn creation_waits_while_in_progress_and_ends_on_success_or_failure() {
        let in_progress = CreateAccountStatus::builder()
            .id("car-1")
            .state(CreateAccountState::InProgress)
            .build();
        assert!(matches!(
            outcome(&in_progress).unwrap(),
            Status::Pending(state) if state == "IN_PROGRESS"
        ));
        let succeeded = CreateAccountStatus::builder()
            .state(CreateAccountState::Succeeded)
            .account_id("222222222222")
            .build();
        assert!(matches!(
            outcome(&succeeded).unwrap(),
            Status::Ready(Outcome::Created(id)) if id == "222222222222"
        ));
        let failed = CreateAccountStatus::builder()
            .state(CreateAccountState::Failed)
            .failure_reason(CreateAccountFailureReason::AccountLimitExceeded)
            .build();
        assert!(matches!(
            outcome(&failed).unwrap(),
            Status::Ready(Outcome::Failed(reason)) if reason == "ACCOUNT_LIMIT_EXCEEDED"
        ));
        // SUCCEEDED without an account id is a broken answer, not a success.
        let broken = CreateAccountStatus::builder()
            .state(CreateAccountState::Succeeded)
            .build();
        assert!(outcome(&broken).is_err());
    }

    #[test]
    fn failures_carry_aws_reason_and_a_hint() {
        let err = failure("EMAIL_ALREADY_EXISTS", "prod@innovate.example");
        assert_eq!(err.code.as_deref(), Some("EMAIL_ALREADY_EXISTS"));
        assert!(
            err.message.contains("prod@innovate.example"),
            "{}",
            err.message
        );
        assert!(failure("ACCOUNT_LIMIT_EXCEEDED", "x")
            .message
            .contains("quota"));
    }

    #[test]
    fn closed_or_closing_accounts_count_as_gone() {
        let with = |state: AccountState| Account::builder().id("1").state(state).build();
        assert!(!is_closed(&with(AccountState::Active)));
        assert!(!is_closed(&with(AccountState::PendingActivation)));
        assert!(is_closed(&with(AccountState::Suspended)));
        assert!(is_closed(&with(AccountState::PendingClosure)));
        assert!(is_closed(&with(AccountState::Closed)));
        // Only the older Status field.
        let old = Account::builder()
            .id("1")
            .status(AccountStatus::Suspended)
            .build();
        assert!(is_closed(&old));
        assert_eq!(state_of(&old), Some("SUSPENDED"));
    }

    #[test]
    fn live_reports_name_email_parent_and_user_tags() {
        let current = Current {
            account: Account::builder()
                .id("222222222222")
                .arn("arn:aws:organizations::111111111111:account/o-abc/222222222222")
                .name("innovate-prod")
                .email("prod@innovate.example")
                .state(AccountState::Active)
                .build(),
            parent_id: "ou-ab12-cdef3456".into(),
            tags: [("innovate:env", "prod"), ("cost-center", "42")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let live = to_live(&current);
        assert_eq!(live.id, "222222222222");
        assert_eq!(live.outputs["status"], "ACTIVE");
        assert_eq!(
            Value::Object(live.attrs.unwrap()),
            json!({"account_name": "innovate-prod", "email": "prod@innovate.example",
                   "parent_id": "ou-ab12-cdef3456", "tags": {"cost-center": "42"}})
        );
    }
}
