//! Turns SDK errors into [`KindError`]s that name the API call, AWS's code, its message and
//! the request id, and logs each failed call (`-v`) with that id.

use crate::kinds::{KindError, KindResult};
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::operation::RequestId;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::future::Future;

/// `call` is "service:Operation", e.g. "ec2:CreateVpc".
pub fn sdk_error<E>(call: &str, err: SdkError<E, HttpResponse>) -> KindError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = err.code().map(str::to_string);
    let message = match err.message() {
        Some(message) => message.to_string(),
        // No service error (timeout, connection refused ...): the cause chain says why.
        None => cause_chain(&err),
    };
    let request_id = request_id(&err);
    tracing::info!(
        call,
        code = code.as_deref().unwrap_or("-"),
        request_id = request_id.as_deref().unwrap_or("-"),
        "AWS call failed: {message}"
    );
    KindError::new(call, code, message).with_request_id(request_id)
}

/// Awaits a request's `send()` and names `call` ("service:Operation") in its error:
/// `aws_call("ec2:DeleteVpc", ec2.delete_vpc().vpc_id(id).send()).await?`.
pub async fn aws_call<T, E>(
    call: &str,
    sent: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
) -> KindResult<T>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    sent.await.map_err(|e| sdk_error(call, e))
}

/// The request id from the error's metadata (query protocols such as EC2 carry it in the
/// body), else from the response headers (x-amzn-requestid, x-amz-request-id).
fn request_id<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<String> {
    err.as_service_error()
        .and_then(|service| service.meta().request_id())
        .or_else(|| err.request_id())
        .map(str::to_string)
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::error::ErrorMetadata;
    use aws_sdk_ec2::operation::create_vpc::CreateVpcError;
    use aws_smithy_runtime_api::http::StatusCode;

    fn response(header: Option<&str>) -> HttpResponse {
        let mut response = HttpResponse::new(StatusCode::try_from(400).unwrap(), "".into());
        if let Some(id) = header {
            response
                .headers_mut()
                .insert("x-amzn-requestid", id.to_string());
        }
        response
    }

    fn service_error(meta_request_id: Option<&str>, header: Option<&str>) -> KindError {
        let mut meta = ErrorMetadata::builder()
            .code("VpcLimitExceeded")
            .message("too many VPCs");
        if let Some(id) = meta_request_id {
            meta = meta.custom("aws_request_id", id);
        }
        let err = SdkError::service_error(CreateVpcError::generic(meta.build()), response(header));
        sdk_error("ec2:CreateVpc", err)
    }

    #[test]
    fn the_request_id_comes_from_the_error_body_else_the_response_headers() {
        let from_body = service_error(Some("body-id"), Some("header-id"));
        assert_eq!(from_body.request_id.as_deref(), Some("body-id"));
        let from_header = service_error(None, Some("header-id"));
        assert_eq!(from_header.request_id.as_deref(), Some("header-id"));
        assert_eq!(service_error(None, None).request_id, None);
    }

    #[test]
    fn the_failure_line_names_call_code_message_and_request_id() {
        assert_eq!(
            service_error(None, Some("4a1d-77")).to_string(),
            "ec2:CreateVpc failed: VpcLimitExceeded: too many VPCs (request id 4a1d-77)"
        );
        assert_eq!(
            service_error(None, None).to_string(),
            "ec2:CreateVpc failed: VpcLimitExceeded: too many VPCs"
        );
    }
}
