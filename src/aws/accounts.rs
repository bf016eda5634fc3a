//! Reaching member accounts: credentials from sts:AssumeRole into
//! `arn:aws:iam::<account>:role/<account_role>`, built on the caller's SDK configuration so
//! the region, retries and `AWS_ENDPOINT_URL` apply to member accounts as well.

use super::errors::cause_chain;
use super::{registry, sdk_error, AwsContext};
use crate::kinds::{AccountOpener, KindError, KindResult, Registry};
use async_trait::async_trait;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_sts::config::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// Session name seen in the member account's CloudTrail.
const SESSION_NAME: &str = "innovate";

/// Opens member accounts by assuming `role` in them from the caller's account.
pub struct AssumeRole {
    base: Arc<AwsContext>,
    role: String,
    caller: OnceCell<String>,
}

impl AssumeRole {
    pub fn new(base: Arc<AwsContext>, role: &str) -> AssumeRole {
        AssumeRole {
            base,
            role: role.to_string(),
            caller: OnceCell::new(),
        }
    }

    /// The caller's own account id (sts:GetCallerIdentity, asked once).
    async fn caller(&self) -> KindResult<&str> {
        let id = self
            .caller
            .get_or_try_init(|| async {
                let identity = self
                    .base
                    .sts()
                    .await
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| sdk_error("sts:GetCallerIdentity", e))?;
                Ok::<_, KindError>(identity.account().unwrap_or_default().to_string())
            })
            .await?;
        Ok(id)
    }
}

#[async_trait]
impl AccountOpener for AssumeRole {
    async fn open(&self, account: &str) -> KindResult<Registry> {
        // The management account has no OrganizationAccountAccessRole to assume: a resource
        // placed in it explicitly uses the caller's own credentials.
        if self.caller().await? == account {
            return Ok(registry(self.base.clone()));
        }
        let member = AwsContext::assumed(&self.base, account, &self.role).await?;
        Ok(registry(member))
    }
}

/// The role ARN innovate assumes in `account`.
pub fn role_arn(account: &str, role: &str) -> String {
    format!("arn:aws:iam::{account}:role/{role}")
}

impl AwsContext {
    /// A context acting in `account` through `role`, counting its calls with `base`'s.
    ///
    /// The clients cache the assumed credentials (the SDK's lazy identity cache) and ask
    /// the AssumeRoleProvider for new ones shortly before they expire, so an apply that
    /// outlives one session (EKS, RDS waits) keeps working without innovate doing anything.
    pub async fn assumed(
        base: &AwsContext,
        account: &str,
        role: &str,
    ) -> KindResult<Arc<AwsContext>> {
        let arn = role_arn(account, role);
        let config = base.config().await;
        let provider = AssumeRoleProvider::builder(&arn)
            .configure(config)
            .session_name(SESSION_NAME)
            .build()
            .await;
        // Asked once now, so a role that cannot be assumed fails here, named, instead of
        // as a credentials error inside the first call made in the account.
        provider
            .provide_credentials()
            .await
            .map_err(|e| assume_role_error(&arn, &e))?;
        let member = config
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build();
        Ok(Arc::new(AwsContext::member(member, base)))
    }
}

/// "sts:AssumeRole failed: AccessDenied: arn:...: User ... is not authorized ...".
fn assume_role_error(arn: &str, err: &(dyn std::error::Error + 'static)) -> KindError {
    let call = "sts:AssumeRole";
    let sdk = err
        .source()
        .and_then(|source| source.downcast_ref::<SdkError<AssumeRoleError, HttpResponse>>());
    match sdk {
        Some(sdk) => {
            let why = sdk
                .message()
                .map_or_else(|| cause_chain(sdk), str::to_string);
            KindError::new(
                call,
                sdk.code().map(str::to_string),
                format!("{arn}: {why}"),
            )
        }
        None => KindError::new(call, None, format!("{arn}: {}", cause_chain(err))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_arn_names_account_and_role() {
        assert_eq!(
            role_arn("222222222222", "OrganizationAccountAccessRole"),
            "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"
        );
    }
}
