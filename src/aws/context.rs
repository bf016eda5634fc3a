//! [`AwsContext`]: the shared, lazily built AWS configuration and one client per service,
//! which every kind of a run shares.

use super::pacing::{self, Limits};
use super::CallCounter;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use std::sync::Arc;
use tokio::sync::OnceCell;

/// What an AWS kind's create, update and delete get: the step, and `cx.aws`, this context.
pub type Cx<'a> = crate::kinds::KindCx<'a, AwsContext>;

/// The builder of one service's client over the shared configuration: calls counted, paced
/// by the service's client-side rate limits, retried within the service's own retry quota.
macro_rules! paced_config {
    ($context:expr, $sdk:ident, $service:literal, $limits:expr) => {{
        let shared = $context.config().await;
        let mut config = $sdk::config::Builder::from(shared)
            .interceptor($context.calls.clone())
            .retry_partition(pacing::retry_partition($service));
        if let Some(http) = pacing::paced_http_client(shared, $limits) {
            config = config.http_client(http);
        }
        config
    }};
}

/// `pub async fn NAME(&self) -> &Client`: one service's client, built on first use.
macro_rules! paced_client {
    ($name:ident, $sdk:ident, $service:literal, $limits:expr) => {
        pub async fn $name(&self) -> &$sdk::Client {
            self.$name
                .get_or_init(|| async {
                    let config = paced_config!(self, $sdk, $service, $limits);
                    $sdk::Client::from_conf(config.build())
                })
                .await
        }
    };
}

/// Shared, lazily built AWS configuration and clients: `validate` and `graph` never load
/// credentials, and every kind of one run shares one client per service.
pub struct AwsContext {
    region: Option<String>,
    config: OnceCell<SdkConfig>,
    dynamodb: OnceCell<aws_sdk_dynamodb::Client>,
    ec2: OnceCell<aws_sdk_ec2::Client>,
    ecr: OnceCell<aws_sdk_ecr::Client>,
    eks: OnceCell<aws_sdk_eks::Client>,
    iam: OnceCell<aws_sdk_iam::Client>,
    kms: OnceCell<aws_sdk_kms::Client>,
    logs: OnceCell<aws_sdk_cloudwatchlogs::Client>,
    organizations: OnceCell<aws_sdk_organizations::Client>,
    rds: OnceCell<aws_sdk_rds::Client>,
    s3: OnceCell<aws_sdk_s3::Client>,
    sts: OnceCell<aws_sdk_sts::Client>,
    calls: CallCounter,
}

impl AwsContext {
    /// `region` is the blueprint's; `None` falls back to the SDK's region chain.
    pub fn new(region: Option<String>) -> Arc<Self> {
        Arc::new(AwsContext::build(region, OnceCell::new()))
    }

    fn build(region: Option<String>, config: OnceCell<SdkConfig>) -> AwsContext {
        AwsContext::counted(region, config, CallCounter::default())
    }

    /// A member account's context over its assumed-role configuration, counting its calls
    /// together with the caller's (`aws_calls` covers every account).
    pub(super) fn member(config: SdkConfig, base: &AwsContext) -> AwsContext {
        let region = base.region.clone();
        AwsContext::counted(region, OnceCell::new_with(Some(config)), base.calls.clone())
    }

    fn counted(
        region: Option<String>,
        config: OnceCell<SdkConfig>,
        calls: CallCounter,
    ) -> AwsContext {
        AwsContext {
            region,
            config,
            dynamodb: OnceCell::new(),
            ec2: OnceCell::new(),
            ecr: OnceCell::new(),
            eks: OnceCell::new(),
            iam: OnceCell::new(),
            kms: OnceCell::new(),
            logs: OnceCell::new(),
            organizations: OnceCell::new(),
            rds: OnceCell::new(),
            s3: OnceCell::new(),
            sts: OnceCell::new(),
            calls,
        }
    }

    /// The region the clients call, once the configuration is loaded (any call loads it).
    pub fn loaded_region(&self) -> Option<&str> {
        let config = self.config.get()?;
        config.region().map(|region| region.as_ref())
    }

    /// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` in the clients' region, for resources
    /// whose describe call has no ARN.
    pub fn arn(&self, service: &str, account: &str, resource: &str) -> Option<String> {
        let region = self.loaded_region()?;
        let partition = partition(region);
        Some(format!(
            "arn:{partition}:{service}:{region}:{account}:{resource}"
        ))
    }

    /// How many AWS API calls this context's clients have made.
    pub fn calls(&self) -> usize {
        self.calls.total()
    }

    /// A context over an already loaded configuration (tests, embedding).
    pub fn with_config(config: SdkConfig) -> Arc<Self> {
        Arc::new(AwsContext::build(None, OnceCell::new_with(Some(config))))
    }

    /// The SDK's standard chain (env, profiles, SSO, AssumeRole). `AWS_ENDPOINT_URL` sends
    /// every call to an emulator; the SDK reads it itself.
    pub async fn config(&self) -> &SdkConfig {
        self.config
            .get_or_init(|| async {
                let mut loader = aws_config::defaults(BehaviorVersion::latest());
                if let Some(region) = &self.region {
                    loader = loader.region(Region::new(region.clone()));
                }
                if let Some(retry) = pacing::retry_config() {
                    loader = loader.retry_config(retry);
                }
                loader.load().await
            })
            .await
    }

    paced_client!(dynamodb, aws_sdk_dynamodb, "dynamodb", Limits::other());
    paced_client!(ec2, aws_sdk_ec2, "ec2", Limits::ec2());
    paced_client!(ecr, aws_sdk_ecr, "ecr", Limits::other());
    paced_client!(eks, aws_sdk_eks, "eks", Limits::other());
    paced_client!(iam, aws_sdk_iam, "iam", Limits::other());
    paced_client!(kms, aws_sdk_kms, "kms", Limits::other());
    paced_client!(logs, aws_sdk_cloudwatchlogs, "logs", Limits::other());
    paced_client!(
        organizations,
        aws_sdk_organizations,
        "organizations",
        Limits::other()
    );
    paced_client!(rds, aws_sdk_rds, "rds", Limits::other());

    pub async fn sts(&self) -> &aws_sdk_sts::Client {
        self.sts
            .get_or_init(|| async {
                let config = aws_sdk_sts::config::Builder::from(self.config().await);
                aws_sdk_sts::Client::from_conf(config.interceptor(self.calls.clone()).build())
            })
            .await
    }

    /// S3 (the remote state backend). Path-style addressing only when an endpoint URL is
    /// configured for S3 (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`, a profile's
    /// `endpoint_url`): emulators and S3-compatible stores on `127.0.0.1:PORT` have no
    /// `BUCKET.host` names. On AWS itself the SDK's default stays: virtual-hosted style, and
    /// path style by itself for bucket names that cannot be host names.
    pub async fn s3(&self) -> &aws_sdk_s3::Client {
        self.s3
            .get_or_init(|| async {
                let sdk = self.config().await;
                let env = |name: &str| std::env::var(name).unwrap_or_default();
                let custom_endpoint = sdk.endpoint_url().is_some()
                    || (!env("AWS_ENDPOINT_URL_S3").is_empty()
                        && !env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
                            .eq_ignore_ascii_case("true"));
                let config = paced_config!(self, aws_sdk_s3, "s3", Limits::other())
                    .force_path_style(custom_endpoint);
                aws_sdk_s3::Client::from_conf(config.build())
            })
            .await
    }
}

/// The AWS partition a region belongs to: `arn:aws-cn:` in China, `arn:aws-us-gov:` in
/// GovCloud, `arn:aws:` elsewhere.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}
