//! The AWS side: one file per resource kind under `<service>/`, all behind
//! [`crate::kinds::ResourceKind`]. [`registry`] is the one place that lists them.

pub mod ec2;
mod errors;
mod retry;

pub use errors::sdk_error;
pub use retry::{retry_while, Backoff};

use crate::kinds::Registry;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use std::sync::Arc;
use tokio::sync::OnceCell;

/// Shared, lazily built AWS configuration and clients: `validate` and `graph` never load
/// credentials, and every kind of one run shares one client per service.
pub struct AwsContext {
    region: Option<String>,
    config: OnceCell<SdkConfig>,
    ec2: OnceCell<aws_sdk_ec2::Client>,
}

impl AwsContext {
    /// `region` is the blueprint's; `None` falls back to the SDK's region chain.
    pub fn new(region: Option<String>) -> Arc<Self> {
        Arc::new(AwsContext {
            region,
            config: OnceCell::new(),
            ec2: OnceCell::new(),
        })
    }

    /// The SDK's standard chain (env, profiles, SSO, AssumeRole). `AWS_ENDPOINT_URL` sends
    /// every call to an emulator; the SDK reads it itself.
    /// A context over an already loaded configuration (tests, embedding).
    pub fn with_config(config: SdkConfig) -> Arc<Self> {
        Arc::new(AwsContext {
            region: None,
            config: OnceCell::new_with(Some(config)),
            ec2: OnceCell::new(),
        })
    }

    pub async fn config(&self) -> &SdkConfig {
        self.config
            .get_or_init(|| async {
                let mut loader = aws_config::defaults(BehaviorVersion::latest());
                if let Some(region) = &self.region {
                    loader = loader.region(Region::new(region.clone()));
                }
                loader.load().await
            })
            .await
    }

    pub async fn ec2(&self) -> &aws_sdk_ec2::Client {
        self.ec2
            .get_or_init(|| async { aws_sdk_ec2::Client::new(self.config().await) })
            .await
    }
}

/// Every resource kind innovate knows, sharing one [`AwsContext`].
pub fn registry(aws: Arc<AwsContext>) -> Registry {
    let mut registry = Registry::default();
    ec2::register(&mut registry, &aws);
    registry
}
