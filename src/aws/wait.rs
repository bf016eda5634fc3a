//! Polling a Describe* call until a resource reaches a state, with a bound and a visible timer.

use crate::aws::Backoff;
use crate::kinds::{KindError, KindResult, StepCx};
use std::future::Future;

/// One look at the resource.
pub(super) enum Status<T> {
    Ready(T),
    /// Not there yet; the text says where it is ("pending", "not visible yet").
    Pending(String),
}

/// Calls `check` until it is ready, with pauses that grow with the time waited
/// ([`Backoff::pause_after`]), telling the operator
/// "waiting for TARGET 12s" while it waits. After `backoff.bound` it fails naming `call`
/// and the last state seen.
pub(super) async fn until<T, F, Fut>(
    cx: &StepCx,
    call: &str,
    target: &str,
    backoff: Backoff,
    mut check: F,
) -> KindResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = KindResult<Status<T>>>,
{
    let started = tokio::time::Instant::now();
    loop {
        let state = match check().await? {
            Status::Ready(value) => return Ok(value),
            Status::Pending(state) => state,
        };
        let waited = started.elapsed();
        let delay = backoff.pause_after(waited);
        if waited + delay > backoff.bound {
            let message = format!(
                "still {state} after {}s; gave up waiting for {target}",
                waited.as_secs()
            );
            return Err(KindError::local(call, message));
        }
        cx.phase(&format!("waiting for {target} {}s", waited.as_secs()));
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    const FAST: Backoff = Backoff {
        first: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        bound: Duration::from_millis(200),
    };

    fn recording_cx() -> (StepCx, Arc<Mutex<Vec<String>>>) {
        let phases = Arc::new(Mutex::new(Vec::new()));
        let sink = phases.clone();
        let cx = StepCx::new(
            "nat".into(),
            Arc::new(move |_, p| sink.lock().unwrap().push(p.into())),
        );
        (cx, phases)
    }

    #[tokio::test]
    async fn polls_until_ready_and_reports_the_wait() {
        let (cx, phases) = recording_cx();
        let mut looks = 0;
        let value = until(&cx, "ec2:DescribeNatGateways", "available", FAST, || {
            looks += 1;
            let status = if looks < 3 {
                Status::Pending("pending".into())
            } else {
                Status::Ready(looks)
            };
            async move { Ok(status) }
        })
        .await
        .unwrap();
        assert_eq!(value, 3);
        let phases = phases.lock().unwrap();
        assert_eq!(phases.len(), 2);
        assert!(
            phases[0].starts_with("waiting for available "),
            "{}",
            phases[0]
        );
    }

    #[tokio::test]
    async fn gives_up_after_the_bound_naming_the_last_state() {
        let (cx, _) = recording_cx();
        let result: KindResult<()> = until(
            &cx,
            "ec2:DescribeNatGateways",
            "available",
            FAST,
            || async { Ok(Status::Pending("pending".into())) },
        )
        .await;
        let err = result.unwrap_err();
        assert_eq!(err.call, "ec2:DescribeNatGateways");
        assert!(
            err.message.starts_with("still pending after"),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn errors_from_the_check_end_the_wait() {
        let (cx, _) = recording_cx();
        let result: KindResult<()> = until(
            &cx,
            "ec2:DescribeNatGateways",
            "available",
            FAST,
            || async {
                Err(KindError::new(
                    "ec2:CreateNatGateway",
                    Some("Gateway.NotAttached".into()),
                    "failed",
                ))
            },
        )
        .await;
        assert_eq!(
            result.unwrap_err().code.as_deref(),
            Some("Gateway.NotAttached")
        );
    }
}
