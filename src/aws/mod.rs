//! The AWS side: one file per resource kind under `<service>/`, all behind
//! [`crate::kinds::ResourceKind`] (most through the typed layer, [`crate::kinds::AwsKind`]).
//! [`registry`] is the one place that lists them; [`AwsContext`] holds the clients.

mod accounts;
mod calls;
pub mod common;
mod context;
pub mod dynamodb;
pub mod ec2;
pub mod ecr;
pub mod eks;
mod errors;
pub mod iam;
pub mod kms;
pub mod logs;
pub mod organizations;
mod pacing;
pub mod rds;
mod registry;
pub mod s3;

pub mod s3_state;
pub use crate::kinds::{retry_while, wait, Backoff};
pub use errors::{aws_call, sdk_error};

pub use accounts::{role_arn, AssumeRole};
pub use calls::CallCounter;

pub use context::{partition, AwsContext, Cx};
pub use registry::{placing_registry, registry};
