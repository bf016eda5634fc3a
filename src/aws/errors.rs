//! Turns SDK errors into [`KindError`]s that name the API call, AWS's code and its message.

use crate::kinds::KindError;
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// `call` is "service:Operation", e.g. "ec2:CreateVpc".
pub fn sdk_error<E, R>(call: &str, err: SdkError<E, R>) -> KindError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let code = err.code().map(str::to_string);
    let message = match err.message() {
        Some(message) => message.to_string(),
        // No service error (timeout, connection refused ...): the whole chain says why.
        None => DisplayErrorContext(&err).to_string(),
    };
    KindError::new(call, code, message)
}
