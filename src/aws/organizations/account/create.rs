//! Creating an account. CreateAccount only starts the creation: it is polled
//! (DescribeCreateAccountStatus) until AWS reports SUCCEEDED or FAILED, for up to 30
//! minutes. AWS creates accounts under the root; the account is then moved to its parent.
//!
//! An email address names one account. When the organization already has an active
//! account with the wanted email that carries this step's identity tags (made by an
//! interrupted run), create adopts it instead of asking AWS for a second one.

use super::super::{
    address, changing, check_one_of, for_create, found, is_ours, parent_of, retag, tags_of,
    POLLING, SETTLING,
};
use super::{is_closed, list_accounts, move_account, Spec, CHILD_NOT_FOUND, NOT_FOUND, SCHEMA};
use crate::aws::common::missing;
use crate::aws::{aws_call, retry_while, sdk_error};
use crate::kinds::{KindError, KindResult, Seen, StepCx, Tags, Waiter};
use aws_sdk_organizations::types::{CreateAccountStatus, IamUserAccessToBilling};
use aws_sdk_organizations::Client;
use std::future::Future;
use std::time::Duration;

const CREATE: &str = "organizations:CreateAccount";
const EMAIL_ALREADY_EXISTS: &str = "EMAIL_ALREADY_EXISTS";

/// A creation request ends SUCCEEDED or FAILED; a FAILED one fails the wait with AWS's
/// FailureReason as its message. The blueprint's `timeouts` override the bound.
const CREATED: Waiter = Waiter::until(
    "organizations:DescribeCreateAccountStatus",
    &["SUCCEEDED"],
    &["FAILED"],
    POLLING.within(Duration::from_secs(30 * 60)),
)
.named("account creation");

/// The account the spec asks for, made (or adopted), placed under its parent and tagged
/// as the blueprint says; its id.
pub(super) async fn create(
    cx: &StepCx,
    org: &Client,
    spec: &Spec,
    tags: &Tags,
) -> KindResult<String> {
    let billing = &spec.iam_user_access_to_billing;
    check_one_of(&SCHEMA, "iam_user_access_to_billing", billing)?;
    let id = match existing(org, &spec.email, tags).await? {
        Some(id) => id,
        None => create_account(cx, org, spec, tags).await?,
    };
    place(org, &id, &spec.parent_id).await?;
    // A fresh account has its tags from CreateAccount; an adopted one gets today's.
    retag(org, &id, tags).await?;
    Ok(id)
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
        address(tags)
    );
    let code = Some(EMAIL_ALREADY_EXISTS.into());
    Err(KindError::new(CREATE, code, message))
}

/// CreateAccount, then the wait until AWS has made it; the new account's id.
async fn create_account(cx: &StepCx, org: &Client, spec: &Spec, tags: &Tags) -> KindResult<String> {
    let sdk_tags = &for_create(CREATE, tags)?;
    let billing = &IamUserAccessToBilling::from(spec.iam_user_access_to_billing.as_str());
    let started = changing(|| async move {
        let request = org.create_account().email(&spec.email);
        let request = request
            .account_name(&spec.account_name)
            .role_name(&spec.role_name);
        let request = request.iam_user_access_to_billing(billing.clone());
        let sent = request.set_tags(sdk_tags.clone()).send().await;
        sent.map_err(|e| sdk_error(CREATE, e))
    })
    .await?;
    let status = started.create_account_status();
    let request = status.and_then(CreateAccountStatus::id);
    let request = request.ok_or_else(|| missing(CREATE, "CreateAccountStatus.Id"))?;
    match outcome(cx, &CREATED, || look(org, request)).await? {
        Ok(id) => Ok(id),
        // Another request (an interrupted run's) got there first.
        Err(reason) if reason == EMAIL_ALREADY_EXISTS => {
            let adopted = existing(org, &spec.email, tags).await?;
            adopted.ok_or_else(|| failure(&reason, &spec.email))
        }
        Err(reason) => Err(failure(&reason, &spec.email)),
    }
}

/// One DescribeCreateAccountStatus. Just made, the request may not be visible everywhere
/// yet (`None`).
async fn look(org: &Client, request: &str) -> KindResult<Option<CreateAccountStatus>> {
    let call = CREATED.call;
    let request = org
        .describe_create_account_status()
        .create_account_request_id(request);
    let described = aws_call(call, request.send()).await;
    match found(described, &["CreateAccountStatusNotFoundException"])? {
        None => Ok(None),
        Some(described) => match described.create_account_status {
            Some(status) => Ok(Some(status)),
            None => Err(missing(call, "CreateAccountStatus")),
        },
    }
}

/// How a creation request ended, waiting through IN_PROGRESS with `waiter` (telling the
/// operator "waiting for account creation 65s"): the new account's id, or AWS's
/// FailureReason (EMAIL_ALREADY_EXISTS, ACCOUNT_LIMIT_EXCEEDED ...).
async fn outcome<F, Fut>(
    cx: &StepCx,
    waiter: &Waiter,
    look: F,
) -> KindResult<Result<String, String>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = KindResult<Option<CreateAccountStatus>>>,
{
    let seen = |status: &CreateAccountStatus| {
        let state = status.state().map_or("in no state yet", |s| s.as_str());
        let reason = status.failure_reason().map_or("UNKNOWN", |r| r.as_str());
        Seen::new(state).because(Some(reason.to_string()))
    };
    match waiter.wait(cx, look, seen).await {
        Ok(status) => {
            let id = status.as_ref().and_then(CreateAccountStatus::account_id);
            // SUCCEEDED without an account id is a broken answer, not a success.
            Ok(Ok(id
                .ok_or_else(|| missing(waiter.call, "AccountId"))?
                .to_string()))
        }
        Err(err) if err.has_code_in(waiter.failed) => Ok(Err(err.message)),
        Err(err) => Err(err),
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
        CREATE,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::common::parse_spec;
    use crate::kinds::Backoff;
    use aws_sdk_organizations::types::{CreateAccountFailureReason, CreateAccountState};
    use serde_json::json;

    #[test]
    fn defaults_and_billing_values() {
        let attrs = json!({
            "account_name": "innovate-prod", "email": "prod@innovate.example", "parent_id": "r-1"
        });
        let spec: Spec = parse_spec(&SCHEMA, attrs.as_object().unwrap()).unwrap();
        assert_eq!(spec.role_name, "OrganizationAccountAccessRole");
        assert_eq!(spec.iam_user_access_to_billing, "ALLOW");
        assert!(!spec.close_on_deletion);
        let err = check_one_of(&SCHEMA, "iam_user_access_to_billing", "YES").unwrap_err();
        assert!(err.message.contains("ALLOW, DENY"), "{}", err.message);
    }

    /// The creation wait, polling a scripted sequence of statuses at once.
    async fn outcome_of(statuses: Vec<CreateAccountStatus>) -> KindResult<Result<String, String>> {
        let fast = CREATED.with_backoff(Backoff::FAST);
        let mut statuses = statuses.into_iter();
        let look = || {
            let next = statuses.next();
            async move { Ok(next) }
        };
        outcome(&StepCx::silent("account"), &fast, look).await
    }

    fn status(state: CreateAccountState) -> CreateAccountStatus {
        CreateAccountStatus::builder()
            .id("car-1")
            .state(state)
            .build()
    }

    #[tokio::test]
    async fn creation_waits_while_in_progress_and_ends_on_success_or_failure() {
        let succeeded = CreateAccountStatus::builder()
            .state(CreateAccountState::Succeeded)
            .account_id("222222222222")
            .build();
        let in_progress = status(CreateAccountState::InProgress);
        let created = outcome_of(vec![in_progress.clone(), succeeded]).await;
        assert_eq!(created.unwrap(), Ok("222222222222".to_string()));
        let failed = CreateAccountStatus::builder()
            .state(CreateAccountState::Failed)
            .failure_reason(CreateAccountFailureReason::AccountLimitExceeded)
            .build();
        let refused = outcome_of(vec![in_progress.clone(), failed]).await;
        assert_eq!(refused.unwrap(), Err("ACCOUNT_LIMIT_EXCEEDED".to_string()));
        // SUCCEEDED without an account id is a broken answer, not a success.
        let broken = outcome_of(vec![status(CreateAccountState::Succeeded)]).await;
        assert!(broken.is_err());
        // Never done: the wait gives up naming the last state.
        let stuck = outcome_of(vec![in_progress; 1000]).await.unwrap_err();
        assert!(stuck.message.contains("IN_PROGRESS"), "{}", stuck.message);
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
}
