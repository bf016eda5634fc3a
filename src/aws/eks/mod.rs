//! EKS: cluster, managed node group and add-on, one kind per file. What they share lives
//! here (one-by-one reads, compound ids, IAM propagation retries, status checks) and in
//! [`tags`].

mod addon;
mod cluster;
mod nodegroup;
mod tags;

use crate::aws::{retry_while, AwsContext, Backoff};
use crate::kinds::{KindError, KindResult, Registry, StepCx};
use futures::{StreamExt, TryStreamExt};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Registers every EKS kind, all sharing `aws`'s one EKS client.
pub fn register(registry: &mut Registry, aws: &Arc<AwsContext>) {
    registry.register(Arc::new(cluster::ClusterKind(aws.clone())));
    registry.register(Arc::new(nodegroup::NodegroupKind(aws.clone())));
    registry.register(Arc::new(addon::AddonKind(aws.clone())));
}

/// What EKS answers for a cluster, node group or add-on that does not exist.
const NOT_FOUND: &str = "ResourceNotFoundException";

/// How many Describe* calls a read keeps in flight.
const READ_CONCURRENCY: usize = 8;

/// EKS has no batch Describe: one call per id, a few at a time, in the order of `ids`.
async fn read_each<T, F, Fut>(ids: &[String], describe: F) -> KindResult<Vec<Option<T>>>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = KindResult<Option<T>>>,
{
    futures::stream::iter(ids.iter().cloned().map(describe))
        .buffered(READ_CONCURRENCY)
        .try_collect()
        .await
}

/// A Describe* result with "does not exist" as `None`.
fn found<T>(result: KindResult<T>) -> KindResult<Option<T>> {
    match result {
        Err(err) if err.code.as_deref() == Some(NOT_FOUND) => Ok(None),
        other => other.map(Some),
    }
}

/// Node groups and add-ons are named within a cluster: their id is "CLUSTER:NAME" (cluster
/// names cannot contain a colon).
fn compound_id(cluster: &str, name: &str) -> String {
    format!("{cluster}:{name}")
}

/// The compound id of a cluster's nodegroup or add-on as the blueprint names it.
fn natural_compound_id(desired: &crate::kinds::Attrs) -> Option<String> {
    let text = |name: &str| crate::aws::common::text_attr(desired, name);
    Some(compound_id(&text("cluster_name")?, &text("name")?))
}

fn split_id<'a>(kind: &str, id: &'a str) -> KindResult<(&'a str, &'a str)> {
    match id.split_once(':') {
        Some((cluster, name)) if !cluster.is_empty() && !name.is_empty() => Ok((cluster, name)),
        _ => Err(KindError::local(
            kind,
            format!("id {id:?} is not CLUSTER:NAME"),
        )),
    }
}

/// An IAM role (or its policy attachments) created moments ago is not visible to EKS yet:
/// CreateCluster and CreateNodegroup answer InvalidParameterException for a minute or two.
const IAM_PROPAGATION: Backoff = Backoff {
    first: Duration::from_secs(2),
    max_delay: Duration::from_secs(10),
    bound: Duration::from_secs(3 * 60),
};

/// What AWS says in those InvalidParameterExceptions ("Role with arn: ... could not be
/// assumed because it does not exist or the trusted entity is not correct", ...).
const IAM_NOT_READY: [&str; 5] = [
    "cannot be assumed",
    "could not be assumed",
    "Error in role params",
    "have the Amazon EKS Managed Policies",
    "not found in the trust relationships",
];

fn iam_not_ready(err: &KindError) -> bool {
    err.code.as_deref() == Some("InvalidParameterException")
        && IAM_NOT_READY.iter().any(|text| err.message.contains(text))
}

/// Runs a create call again while AWS reports a fresh role as not ready, up to
/// `backoff.bound` ([`IAM_PROPAGATION`]). `retry_while` retries by error code and AWS uses its
/// generic InvalidParameterException here, so matching errors travel under a private code and
/// get AWS's back at the end.
async fn retry_iam_propagation<T, F, Fut>(backoff: Backoff, mut op: F) -> KindResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = KindResult<T>>,
{
    const RETRYABLE: &str = "innovate:IamNotReady";
    let result = retry_while(&[RETRYABLE], backoff, || {
        let attempt = op();
        async move {
            attempt.await.map_err(|mut err| {
                if iam_not_ready(&err) {
                    err.code = Some(RETRYABLE.to_string());
                }
                err
            })
        }
    })
    .await;
    result.map_err(|mut err| {
        if err.code.as_deref() == Some(RETRYABLE) {
            err.code = Some("InvalidParameterException".to_string());
        }
        err
    })
}

/// A wait's bound: the blueprint's `timeouts` for this step, else the kind's default. Looks
/// start half a second apart and stretch with the wait (`Backoff::pause_after`).
fn wait_backoff(cx: &StepCx, default: Duration) -> Backoff {
    Backoff {
        first: Duration::from_millis(500),
        max_delay: Duration::from_secs(20),
        bound: cx.timeout_or(default),
    }
}

/// "CODE: message; CODE: message" from a resource's health issues, for a failed status.
fn describe_issues<'a>(
    status: &str,
    issues: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>,
) -> String {
    let issues: Vec<String> = issues
        .into_iter()
        .map(|(code, message)| match (code, message) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (code, message) => code.or(message).unwrap_or("unspecified issue").to_string(),
        })
        .collect();
    if issues.is_empty() {
        format!("went to {status}; AWS reported no health issues")
    } else {
        format!("went to {status}: {}", issues.join("; "))
    }
}

/// Checks a value against the values an SDK enum knows, so a typo fails before any call.
fn one_of(kind: &str, attr: &str, value: &str, allowed: &[&str]) -> KindResult<()> {
    if allowed.contains(&value) {
        return Ok(());
    }
    let message = format!("{attr}: {value:?} is not one of {}", allowed.join(", "));
    Err(KindError::local(kind, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    const FAST: Backoff = Backoff {
        first: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        bound: Duration::from_millis(100),
    };

    fn invalid(message: &str) -> KindError {
        KindError::new(
            "eks:CreateCluster",
            Some("InvalidParameterException".into()),
            message,
        )
    }

    #[test]
    fn compound_ids_split_back_into_cluster_and_name() {
        let id = compound_id("prod", "workers");
        assert_eq!(split_id("eks.nodegroup", &id).unwrap(), ("prod", "workers"));
        for bad in ["prod", ":workers", "prod:", ""] {
            assert!(split_id("eks.nodegroup", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_role_propagation_messages_are_retryable() {
        assert!(iam_not_ready(&invalid(
            "Role with arn: arn:aws:iam::1:role/x, could not be assumed because it does not \
             exist or the trusted entity is not correct"
        )));
        assert!(iam_not_ready(&invalid("The role cannot be assumed")));
        assert!(!iam_not_ready(&invalid("Subnet subnet-1 does not exist")));
        let other_code = KindError::new(
            "eks:CreateCluster",
            Some("AccessDeniedException".into()),
            "could not be assumed",
        );
        assert!(!iam_not_ready(&other_code));
    }

    #[tokio::test]
    async fn iam_propagation_is_retried_then_succeeds() {
        let calls = AtomicU32::new(0);
        let result = retry_iam_propagation(FAST, || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(invalid("Role could not be assumed")),
                _ => Ok("created"),
            }
        })
        .await;
        assert_eq!(result, Ok("created"));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn iam_propagation_gives_up_with_aws_code_and_other_errors_fail_at_once() {
        let result: KindResult<()> =
            retry_iam_propagation(FAST, || async { Err(invalid("Role could not be assumed")) })
                .await;
        let err = result.unwrap_err();
        assert_eq!(err.code.as_deref(), Some("InvalidParameterException"));
        assert!(
            err.message.contains("still failing after"),
            "{}",
            err.message
        );

        let calls = AtomicU32::new(0);
        let result: KindResult<()> = retry_iam_propagation(FAST, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(invalid("Subnet subnet-1 does not exist"))
        })
        .await;
        assert_eq!(
            result.unwrap_err().message,
            "Subnet subnet-1 does not exist"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn read_each_keeps_the_order_and_maps_not_found_to_none() {
        let ids: Vec<String> = ["a", "gone", "c"].iter().map(|s| s.to_string()).collect();
        let found_ids = read_each(&ids, |id| async move {
            found(if id == "gone" {
                Err(KindError::new(
                    "eks:DescribeCluster",
                    Some(NOT_FOUND.into()),
                    "no",
                ))
            } else {
                Ok(id)
            })
        })
        .await
        .unwrap();
        assert_eq!(
            found_ids,
            vec![Some("a".to_string()), None, Some("c".to_string())]
        );
    }

    #[test]
    fn issues_are_listed_with_their_codes() {
        let text = describe_issues(
            "CREATE_FAILED",
            [
                (Some("AccessDenied"), Some("no permission")),
                (None, Some("odd")),
            ],
        );
        assert_eq!(
            text,
            "went to CREATE_FAILED: AccessDenied: no permission; odd"
        );
        assert!(describe_issues("FAILED", []).contains("no health issues"));
    }

    #[test]
    fn one_of_names_the_allowed_values() {
        assert!(one_of("eks.cluster", "t", "api", &["api", "audit"]).is_ok());
        let err = one_of("eks.cluster", "enabled_log_types", "apy", &["api", "audit"]);
        assert!(err.unwrap_err().message.contains("api, audit"));
    }
}
