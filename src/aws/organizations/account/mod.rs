//! `organizations.account`: a member account created in the organization and placed under
//! `parent_id` (the root or an OU). A new parent moves it in place (MoveAccount).
//!
//! Creating one (and adopting what an interrupted run created) is in [`create`].
//!
//! Accounts are protected. Deleting one closes it (CloseAccount), which cannot be undone
//! through the API and keeps the account (and its email address) for 90 days, so it only
//! happens when the blueprint says `close_on_deletion: true`; otherwise delete refuses.

mod create;

use super::{
    changing, found, id_of, parent_of, read_found, root, tagging_by_id, tags_of, NOT_IN_USE,
    POLLING,
};
use crate::aws::common::{
    carries_all, ignore_already_done, observed, outputs, string_or_null, value_or_default,
};
use crate::aws::{sdk_error, AwsContext, Cx};
use crate::kinds::{
    AttrType, Attrs, AwsItem, AwsKind, Change, KindError, KindResult, Live, Schema, Seen, Tagging,
    Tags, Tier, Waiter,
};
use async_trait::async_trait;
use aws_sdk_organizations::types::{Account, AccountState, AccountStatus};
use aws_sdk_organizations::Client;
use serde_json::Value;
use std::time::Duration;

crate::spec! {
    pub(super) struct Spec with tags {
        account_name: String = required(AttrType::String).force_new(),
        email: String = required(AttrType::String).force_new(),
        // The root or an OU; changing it moves the account.
        parent_id: String = required(AttrType::String),
        // The IAM role AWS creates in the account, assumable from the management account.
        role_name: String = optional(AttrType::String)
            .default("\"OrganizationAccountAccessRole\"")
            .force_new(),
        iam_user_access_to_billing: String = optional(AttrType::String)
            .default("\"ALLOW\"")
            .force_new()
            .one_of(&["ALLOW", "DENY"]),
        // innovate's own switch, read from state when the account is deleted; nothing in AWS.
        #[allow(dead_code)]
        close_on_deletion: bool = optional(AttrType::Bool).default("false"),
    }
}

const SCHEMA: Schema =
    Schema::new("organizations.account", Tier::Accounts, Spec::ATTRS).outputs(&["arn", "status"]);

const NOT_FOUND: &str = "AccountNotFoundException";
const DESCRIBE: &str = "organizations:DescribeAccount";
/// ListParents of an account AWS does not know (yet).
const CHILD_NOT_FOUND: &str = "ChildNotFoundException";
const ALREADY_CLOSED: &str = "AccountAlreadyClosedException";

const PROTECTED: &str = "accounts are protected: set close_on_deletion: true to close it \
                         (AWS keeps closed accounts 90 days)";

/// Closing: AWS no longer reports the account ACTIVE (PENDING_CLOSURE, then SUSPENDED);
/// reads map a closing account to gone. The blueprint's `timeouts` override the bound.
const CLOSING: Waiter =
    Waiter::until_gone(DESCRIBE, &[], POLLING.within(Duration::from_secs(10 * 60)))
        .named("account closure");

#[async_trait]
impl AwsItem for Current {
    type Client = AwsContext;
    const DESCRIBE: &'static str = DESCRIBE;
    const NOT_FOUND: &'static [&'static str] = &[NOT_FOUND, NOT_IN_USE];

    /// One DescribeAccount for one id, one ListAccounts (20 accounts a page) for more; then
    /// ListParents and ListTagsForResource for each account found, a few at a time. A
    /// closed account (or one being closed) reads as gone.
    async fn describe(aws: &AwsContext, ids: &[String]) -> KindResult<Vec<Current>> {
        let org = aws.organizations().await;
        let accounts = match ids {
            [id] => describe(org, id).await?.into_iter().collect(),
            _ => found(list_accounts(org).await, &[])?.unwrap_or_default(),
        };
        let wanted = accounts
            .into_iter()
            .filter(|a| !is_closed(a) && ids.iter().any(|id| a.id() == Some(id.as_str())));
        read_found(wanted, |account| complete(org, account)).await
    }

    /// Every active account of the organization carrying all of `tags`: one ListAccounts,
    /// one ListTagsForResource per account, one ListParents per match.
    async fn list(aws: &AwsContext, tags: &Tags) -> KindResult<Option<Vec<Current>>> {
        let org = aws.organizations().await;
        let Some(all) = found(list_accounts(org).await, &[])? else {
            return Ok(Some(Vec::new()));
        };
        let active = all.into_iter().filter(|a| !is_closed(a));
        let tagged = read_found(active, |account| async move {
            let id = account.id().unwrap_or_default();
            let carried = found(tags_of(org, id).await, &[NOT_FOUND])?.unwrap_or_default();
            if !carries_all(&carried, tags) {
                return Ok(None);
            }
            let parent = found(parent_of(org, id).await, &[CHILD_NOT_FOUND])?;
            Ok(parent.map(|parent_id| Current {
                account,
                parent_id,
                tags: carried,
            }))
        });
        Ok(Some(tagged.await?))
    }

    fn tags(&self) -> Option<Tags> {
        Some(self.tags.clone())
    }

    async fn tagging(&self, aws: &AwsContext, id: &str) -> KindResult<Option<Tagging>> {
        Ok(Some(tagging_by_id(aws, id).await))
    }
}

pub(super) struct AccountKind;

/// An account as AWS reports it, with what takes more calls to learn.
pub(super) struct Current {
    account: Account,
    parent_id: String,
    tags: Tags,
}

#[async_trait]
impl AwsKind for AccountKind {
    type Spec = Spec;
    type Item = Current;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        create::create(cx, cx.aws.organizations().await, spec, tags).await
    }

    fn live(&self, _: &AwsContext, current: &Current) -> Option<Live> {
        to_live(current)
    }

    /// A new parent moves the account; close_on_deletion needs no call: state records it
    /// for the delete.
    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        let (from, to) = (&change.current.parent_id, &change.desired.parent_id);
        if from == to {
            return Ok(());
        }
        move_account(cx.aws.organizations().await, change.id(), from, to).await
    }

    fn delete_refusal(&self, prior: &Attrs) -> Option<String> {
        (!close_on_deletion(prior))
            .then(|| "protected: will not be closed (close_on_deletion is not true)".to_string())
    }

    /// Refuses unless state recorded `close_on_deletion: true`. Then the account is moved
    /// to the root (AWS keeps a closed account where it is for 90 days, which would keep
    /// its OU from being deleted) and closed, and the step waits until AWS reports it
    /// closing.
    async fn delete(&self, cx: &Cx<'_>, live: &Live, prior: &Attrs) -> KindResult<()> {
        let org = cx.aws.organizations().await;
        let ids = std::slice::from_ref(&live.id);
        let Some(current) = Current::describe(cx.aws, ids).await?.pop() else {
            return Ok(());
        };
        if !close_on_deletion(prior) {
            let name = current.account.name().unwrap_or("?");
            return Err(KindError::local(
                "organizations:CloseAccount",
                format!("account {} ({name}) was not closed: {PROTECTED}", live.id),
            ));
        }
        let root = root(org).await?;
        let root_id = id_of(&root)?;
        if current.parent_id != root_id {
            move_account(org, &live.id, &current.parent_id, root_id).await?;
        }
        let id = live.id.as_str();
        let closed = changing(|| async move {
            let sent = org.close_account().account_id(id).send().await;
            sent.map(drop)
                .map_err(|e| sdk_error("organizations:CloseAccount", e))
        })
        .await;
        ignore_already_done(closed, &[ALREADY_CLOSED])?;
        let look = || async move { Ok(describe(org, id).await?.filter(|a| !is_closed(a))) };
        let seen = |account: &Account| Seen::new(state_of(account).unwrap_or("ACTIVE"));
        CLOSING.wait(cx, look, seen).await.map(drop)
    }
}

fn close_on_deletion(prior: &Attrs) -> bool {
    let attr = SCHEMA.attr("close_on_deletion").expect("in the schema");
    value_or_default(attr, prior) == Value::Bool(true)
}

async fn move_account(org: &Client, id: &str, from: &str, to: &str) -> KindResult<()> {
    let moved = changing(|| async move {
        let request = org.move_account().account_id(id).source_parent_id(from);
        let sent = request.destination_parent_id(to).send().await;
        sent.map(drop)
            .map_err(|e| sdk_error("organizations:MoveAccount", e))
    })
    .await;
    // Already there: what the move was for.
    ignore_already_done(moved, &["DuplicateAccountException"])
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
    let described = org.describe_account().account_id(id).send().await;
    let described = described.map_err(|e| sdk_error(DESCRIBE, e));
    Ok(found(described, &[NOT_FOUND])?.and_then(|d| d.account))
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

fn to_live(current: &Current) -> Option<Live> {
    let account = &current.account;
    Some(Live::observed(
        account.id()?.to_string(),
        outputs([
            ("arn", account.arn().map(str::to_string)),
            ("status", state_of(account).map(str::to_string)),
        ]),
        observed([
            ("account_name", string_or_null(account.name())),
            ("email", string_or_null(account.email())),
            ("parent_id", Value::String(current.parent_id.clone())),
        ]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::{tag_map, user_tags};
    use serde_json::json;

    fn attrs(value: Value) -> Attrs {
        value.as_object().unwrap().clone()
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
        let kind = AccountKind;
        let refusal = kind.delete_refusal(&attrs(json!({})));
        assert!(refusal.is_some_and(|why| why.contains("close_on_deletion")));
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
            tags: tag_map(&[("innovate:env", "prod"), ("cost-center", "42")]),
        };
        let live = to_live(&current).unwrap();
        assert_eq!(live.id, "222222222222");
        assert_eq!(live.outputs["status"], "ACTIVE");
        assert_eq!(
            Value::Object(live.attrs.unwrap()),
            json!({"account_name": "innovate-prod", "email": "prod@innovate.example",
                   "parent_id": "ou-ab12-cdef3456"})
        );
        let carried = AwsItem::tags(&current).expect("accounts report their tags");
        assert_eq!(user_tags(&carried), json!({"cost-center": "42"}));
    }
}
