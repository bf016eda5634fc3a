use super::*;
use crate::kinds::AttrType;
use aws_sdk_eks::types::{ErrorCode, UpdateType};
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
    assert!(iam_not_ready(&invalid(
        "roleArn, arn:aws:iam::1:role/cni, does not exist"
    )));
    assert!(iam_not_ready(&invalid(
        "IAM role's policy must include the `ec2:DescribeSubnets` action"
    )));
    assert!(!iam_not_ready(&invalid("Subnet subnet-1 does not exist")));
    assert!(!iam_not_ready(&invalid(
        "Security group sg-1 does not exist"
    )));
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
        retry_iam_propagation(FAST, || async { Err(invalid("Role could not be assumed")) }).await;
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
async fn describe_each_keeps_the_order_and_leaves_out_what_is_gone() {
    let ids: Vec<String> = ["a", "gone", "c"].iter().map(|s| s.to_string()).collect();
    let found_ids = describe_each(&ids, |id| async move {
        if id == "gone" {
            Err(KindError::new(
                "eks:DescribeCluster",
                Some(NOT_FOUND.into()),
                "no",
            ))
        } else {
            Ok(id)
        }
    })
    .await
    .unwrap();
    assert_eq!(found_ids, ["a", "c"]);
    let not_compound = split_id("eks.addon", "gone");
    assert!(not_compound.unwrap_err().message.contains("CLUSTER:NAME"));
}

#[test]
fn issues_are_the_reason_with_their_codes() {
    let seen = seen_with_issues(
        Some("CREATE_FAILED"),
        [
            (Some("AccessDenied"), Some("no permission")),
            (None, Some("odd")),
        ],
    );
    assert_eq!(seen.state, "CREATE_FAILED");
    assert_eq!(
        seen.reason.as_deref(),
        Some("AccessDenied: no permission; odd")
    );
    assert_eq!(seen_with_issues(Some("FAILED"), []).reason, None);
}

#[test]
fn one_of_names_the_allowed_values_declared_in_the_schema() {
    const ATTRS: &[Attr] =
        &[Attr::optional("effect", AttrType::String).one_of(&["NO_SCHEDULE", "NO_EXECUTE"])];
    assert!(one_of("eks.nodegroup", ATTRS, "taints.effect", "NO_EXECUTE").is_ok());
    let err = one_of("eks.nodegroup", ATTRS, "taints.effect", "NoSchedule").unwrap_err();
    assert_eq!(
        err.message,
        "taints.effect: \"NoSchedule\" is not one of NO_SCHEDULE, NO_EXECUTE"
    );
    assert!(one_of("eks.nodegroup", ATTRS, "unruled", "anything").is_ok());
}

fn update(status: UpdateStatus, errors: &[(ErrorCode, &str)]) -> Update {
    let errors = errors.iter().map(|(code, message)| {
        ErrorDetail::builder()
            .error_code(code.clone())
            .error_message(*message)
            .build()
    });
    Update::builder()
        .id("u-1")
        .status(status)
        .r#type(UpdateType::LoggingUpdate)
        .set_errors(Some(errors.collect()))
        .build()
}

#[test]
fn an_update_is_judged_by_its_status_with_aws_errors_as_the_reason() {
    let failed = update_seen(&update(
        UpdateStatus::Failed,
        &[
            (ErrorCode::AccessDenied, "the role may not do that"),
            (ErrorCode::ClusterUnreachable, "no route to the API"),
        ],
    ));
    assert_eq!(failed.state, "Failed");
    assert_eq!(
        failed.reason.as_deref(),
        Some("LoggingUpdate u-1: AccessDenied: the role may not do that; ClusterUnreachable: no route to the API")
    );
    let cancelled = update_seen(&update(UpdateStatus::Cancelled, &[]));
    assert!(cancelled.reason.unwrap().contains("reported no errors"));
    for (status, pending) in [
        (UpdateStatus::InProgress, true),
        (UpdateStatus::Successful, false),
        (UpdateStatus::Failed, false),
        (UpdateStatus::Cancelled, false),
    ] {
        let state = update_seen(&update(status, &[])).state;
        let settled =
            UPDATE.ready.contains(&state.as_str()) || UPDATE.failed.contains(&state.as_str());
        assert_eq!(!settled, pending, "{state}");
    }
}

#[tokio::test]
async fn an_update_answered_successful_needs_no_describe_and_a_failed_one_fails_the_wait() {
    let eks = aws_sdk_eks::Client::from_conf(
        aws_sdk_eks::Config::builder()
            .behavior_version(aws_sdk_eks::config::BehaviorVersion::latest())
            .region(aws_sdk_eks::config::Region::new("us-east-1"))
            .build(),
    );
    let cx = StepCx::silent("cluster");
    let done = update(UpdateStatus::Successful, &[]);
    let waited = wait_for_update(&cx, &eks, "prod", &done, UpdateOf::Cluster, FAST.bound);
    assert_eq!(
        waited.await,
        Ok(()),
        "judged on the answer, no DescribeUpdate"
    );
    let failed = update(UpdateStatus::Failed, &[(ErrorCode::AccessDenied, "denied")]);
    let waited = wait_for_update(&cx, &eks, "prod", &failed, UpdateOf::Cluster, FAST.bound);
    let err = waited.await.unwrap_err();
    assert_eq!(err.call, "eks:DescribeUpdate");
    assert_eq!(err.code.as_deref(), Some("Failed"));
    assert_eq!(err.message, "LoggingUpdate u-1: AccessDenied: denied");
}

#[test]
fn no_cluster_found_reads_as_not_found_and_other_client_errors_do_not() {
    let err = |code: &str, message: &str| {
        KindError::new("eks:DescribeNodegroup", Some(code.into()), message)
    };
    let gone = err("ClientException", "No cluster found for name: prod.");
    assert_eq!(found::<()>(Err(gone)), Ok(None));
    let other = err("ClientException", "Nodegroup name is invalid");
    assert_eq!(found::<()>(Err(other.clone())), Err(other));
    let named = not_found_as_such(err("ClientException", "No cluster found for name: prod."));
    assert_eq!(named.code.as_deref(), Some(NOT_FOUND));
    assert_eq!(
        named.message, "No cluster found for name: prod.",
        "AWS's message kept"
    );
}
