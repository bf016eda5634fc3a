//! Turns SDK errors into [`KindError`]s that name the API call, AWS's code and its message.

use crate::kinds::KindError;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};

/// `call` is "service:Operation", e.g. "ec2:CreateVpc".
pub fn sdk_error<E, R>(call: &str, err: SdkError<E, R>) -> KindError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = err.code().map(str::to_string);
    let message = match err.message() {
        Some(message) => message.to_string(),
        // No service error (timeout, connection refused ...): the cause chain says why.
        None => cause_chain(&err),
    };
    KindError::new(call, code, message)
}

/// "dispatch failure: io error: ...: Connection refused (os error 111)", without the Debug
/// dump DisplayErrorContext appends.
pub(super) fn cause_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}
