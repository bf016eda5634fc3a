//! Reaching member accounts: credentials from sts:AssumeRole into
//! `arn:PARTITION:iam::<account>:role/<account_role>` (a new account's role retried while
//! STS still refuses it), built on the caller's SDK configuration so
//! the region, retries and `AWS_ENDPOINT_URL` apply to member accounts as well.

use super::errors::cause_chain;
use super::{aws_call, registry, retry_while, AwsContext, Backoff};
use crate::kinds::{AccountOpener, KindError, KindResult, Registry};
use async_trait::async_trait;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_sts::config::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::sync::Arc;
use std::time::Duration;
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
                let request = self.base.sts().await.get_caller_identity();
                let identity = aws_call("sts:GetCallerIdentity", request.send()).await?;
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

/// The role ARN innovate assumes in `account`, in the partition of `region` (aws, aws-cn,
/// aws-us-gov).
pub fn role_arn(region: Option<&str>, account: &str, role: &str) -> String {
    let partition = super::partition(region.unwrap_or_default());
    format!("arn:{partition}:iam::{account}:role/{role}")
}

/// How long innovate keeps asking for credentials in a member account: the role AWS
/// Organizations makes in a new account is not assumable for a minute or two after
/// CreateAccount reports SUCCEEDED, and STS answers AccessDenied meanwhile.
const NEW_ACCOUNT: Backoff = Backoff {
    first: Duration::from_secs(2),
    max_delay: Duration::from_secs(15),
    bound: Duration::from_secs(5 * 60),
};

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
        let config = base.config().await;
        let arn = role_arn(config.region().map(|r| r.as_ref()), account, role);
        let provider = AssumeRoleProvider::builder(&arn)
            .configure(config)
            .session_name(SESSION_NAME)
            .build()
            .await;
        // Asked once now, so a role that cannot be assumed fails here, named, instead of
        // as a credentials error inside the first call made in the account.
        retry_while(&["AccessDenied"], NEW_ACCOUNT, || async {
            let asked = provider.provide_credentials().await;
            asked.map(drop).map_err(|e| assume_role_error(&arn, &e))
        })
        .await?;
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
            role_arn(
                Some("eu-west-1"),
                "222222222222",
                "OrganizationAccountAccessRole"
            ),
            "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"
        );
        let china = role_arn(Some("cn-north-1"), "222222222222", "Admin");
        assert_eq!(china, "arn:aws-cn:iam::222222222222:role/Admin");
    }
}
