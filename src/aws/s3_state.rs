//! The S3 side of the remote state backend: [`S3Objects`] implements
//! [`crate::state::ObjectStore`] over one bucket with aws-sdk-s3, turning S3's answers to
//! conditional requests into the backend's outcomes:
//! - 412 PreconditionFailed, and 409 ConditionalRequestConflict (a concurrent conditional
//!   write to the same key won the race), are [`ObjectError::PreconditionFailed`];
//! - 404 NoSuchKey on a write or delete conditioned on an ETag is [`ObjectError::NotFound`].

use super::{sdk_error, AwsContext};
use crate::state::{Object, ObjectError, ObjectStore, Write};
use async_trait::async_trait;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::sync::Arc;

/// One bucket, through the S3 client of an [`AwsContext`] (in the bucket's region).
pub struct S3Objects {
    aws: Arc<AwsContext>,
    bucket: String,
}

impl S3Objects {
    pub fn new(aws: Arc<AwsContext>, bucket: impl Into<String>) -> Self {
        S3Objects {
            aws,
            bucket: bucket.into(),
        }
    }
}

/// What a failed conditional request means for the backend.
fn classify<E>(call: &str, err: SdkError<E, HttpResponse>) -> ObjectError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().map(str::to_string);
    let text = sdk_error(call, err).to_string();
    match (code.as_deref(), status) {
        (Some("PreconditionFailed" | "ConditionalRequestConflict"), _) | (_, Some(412 | 409)) => {
            ObjectError::PreconditionFailed(text)
        }
        (Some("NoSuchKey"), _) | (_, Some(404)) => ObjectError::NotFound(text),
        _ => ObjectError::Failed(text),
    }
}

#[async_trait]
impl ObjectStore for S3Objects {
    async fn get(&self, key: &str) -> Result<Option<Object>, ObjectError> {
        let s3 = self.aws.s3().await;
        let output = match s3.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(output) => output,
            Err(err) => {
                return match classify("s3:GetObject", err) {
                    ObjectError::NotFound(_) => Ok(None),
                    other => Err(other),
                }
            }
        };
        let etag = output.e_tag().unwrap_or_default().to_string();
        let body = output
            .body
            .collect()
            .await
            .map_err(|e| ObjectError::Failed(format!("s3:GetObject failed reading {key}: {e}")))?
            .into_bytes()
            .to_vec();
        Ok(Some(Object { body, etag }))
    }

    async fn put(&self, key: &str, body: Vec<u8>, write: Write) -> Result<String, ObjectError> {
        let s3 = self.aws.s3().await;
        let mut request = s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        request = match write {
            Write::Unconditional => request,
            Write::IfAbsent => request.if_none_match("*"),
            Write::IfMatch(etag) => request.if_match(etag),
        };
        let output = request
            .send()
            .await
            .map_err(|e| classify("s3:PutObject", e))?;
        output.e_tag().map(str::to_string).ok_or_else(|| {
            ObjectError::Failed(format!(
                "s3:PutObject of {key} answered no ETag: conditional writes need one"
            ))
        })
    }

    async fn delete(&self, key: &str, if_match: Option<&str>) -> Result<(), ObjectError> {
        let s3 = self.aws.s3().await;
        let mut request = s3.delete_object().bucket(&self.bucket).key(key);
        if let Some(etag) = if_match {
            request = request.if_match(etag);
        }
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("s3:DeleteObject", e))
    }
}
