//! Polling a Describe* call until a resource reaches a state, with a bound and a visible timer.
//! [`Waiter`] states a wait as data (terraform's StateChangeConf: pending, target and failure
//! states, a bound); [`until`] is the poller beneath it.

use super::Backoff;
use crate::kinds::{KindError, KindResult, StepCx};
use std::future::Future;

/// One look at the resource.
pub enum Status<T> {
    Ready(T),
    /// Not there yet; the text says where it is ("pending", "not visible yet").
    Pending(String),
}

/// Calls `check` until it is ready, with pauses that grow with the time waited
/// ([`Backoff::pause_after`]), telling the operator
/// "waiting for TARGET 12s" while it waits. After `backoff.bound` it fails naming `call`
/// and the last state seen.
pub async fn until<T, F, Fut>(
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

/// What one look at a resource saw: its state, and AWS's reason where it gives one (an
/// add-on's health issues, a node group's, an update's errors).
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub state: String,
    pub reason: Option<String>,
    /// AWS's own error code for a failure (a NAT gateway's `FailureCode`), reported in
    /// place of the state.
    pub code: Option<String>,
}

impl Seen {
    pub fn new(state: impl Into<String>) -> Seen {
        Seen {
            state: state.into(),
            reason: None,
            code: None,
        }
    }

    /// AWS's error code for the failure, when it gives one.
    pub fn with_code(mut self, code: Option<&str>) -> Seen {
        self.code = code.filter(|c| !c.is_empty()).map(str::to_string);
        self
    }

    pub fn because(mut self, reason: Option<String>) -> Seen {
        self.reason = reason.filter(|r| !r.is_empty());
        self
    }
}

/// One wait of a kind, stated as data: states in `ready` end it, states in `failed` fail
/// it with AWS's reason, any other state (and, unless `until_gone`, a resource not visible
/// yet) keeps it going. `until_gone` waits for a deletion: the resource vanishing ends it.
/// The blueprint's `timeouts` entry, when it has one, replaces `backoff.bound`.
#[derive(Debug, Clone, Copy)]
pub struct Waiter {
    /// The describe call the wait polls ("eks:DescribeAddon"), named in its errors.
    pub call: &'static str,
    /// What the operator reads: "waiting for ACTIVE 12s".
    pub target: &'static str,
    pub ready: &'static [&'static str],
    pub failed: &'static [&'static str],
    pub until_gone: bool,
    pub backoff: Backoff,
}

impl Waiter {
    /// A wait polling `call` until the state is one of `ready` (the first names the wait),
    /// failing on one of `failed`.
    pub const fn until(
        call: &'static str,
        ready: &'static [&'static str],
        failed: &'static [&'static str],
        backoff: Backoff,
    ) -> Waiter {
        let target = ready[0];
        let until_gone = false;
        Waiter {
            call,
            target,
            ready,
            failed,
            until_gone,
            backoff,
        }
    }

    /// A wait polling `call` until the resource is gone, failing on one of `failed`.
    pub const fn until_gone(
        call: &'static str,
        failed: &'static [&'static str],
        backoff: Backoff,
    ) -> Waiter {
        let (target, ready, until_gone) = ("deleted", &[] as &[&str], true);
        Waiter {
            call,
            target,
            ready,
            failed,
            until_gone,
            backoff,
        }
    }

    /// The wait for this resource's deletion, through the same call.
    pub const fn gone(self, failed: &'static [&'static str], backoff: Backoff) -> Waiter {
        Waiter::until_gone(self.call, failed, backoff)
    }

    /// This wait, shown to the operator as waiting for `target`.
    pub const fn named(self, target: &'static str) -> Waiter {
        Waiter { target, ..self }
    }

    /// This wait on another schedule.
    pub const fn with_backoff(self, backoff: Backoff) -> Waiter {
        Waiter { backoff, ..self }
    }

    /// Polls `look` until the resource is ready (its last look returned) or, for a wait
    /// until gone, has vanished (`None`).
    pub async fn wait<T, F, Fut>(
        &self,
        cx: &StepCx,
        mut look: F,
        status: impl Fn(&T) -> Seen,
    ) -> KindResult<Option<T>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = KindResult<Option<T>>>,
    {
        let backoff = Backoff {
            bound: cx.timeout_or(self.backoff.bound),
            ..self.backoff
        };
        until(cx, self.call, self.target, backoff, || {
            let looked = look();
            let status = &status;
            async move { self.judge(looked.await?, status) }
        })
        .await
    }

    fn judge<T>(
        &self,
        found: Option<T>,
        status: impl Fn(&T) -> Seen,
    ) -> KindResult<Status<Option<T>>> {
        let Some(item) = found else {
            return Ok(match self.until_gone {
                true => Status::Ready(None),
                false => Status::Pending("not visible yet".into()),
            });
        };
        let seen = status(&item);
        if self.failed.contains(&seen.state.as_str()) {
            let reason = seen
                .reason
                .unwrap_or_else(|| format!("the resource is {}", seen.state));
            let code = seen.code.unwrap_or(seen.state);
            return Err(KindError::new(self.call, Some(code), reason));
        }
        if !self.until_gone && self.ready.contains(&seen.state.as_str()) {
            return Ok(Status::Ready(Some(item)));
        }
        Ok(Status::Pending(seen.state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    const FAST: Backoff = Backoff::FAST;

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

    const ADDON_ACTIVE: Waiter =
        Waiter::until("eks:DescribeAddon", &["ACTIVE"], &["CREATE_FAILED"], FAST);

    #[tokio::test]
    async fn a_waiter_passes_pending_states_and_returns_the_ready_item() {
        let (cx, phases) = recording_cx();
        let mut looks = ["CREATING", "DEGRADED", "ACTIVE"].into_iter();
        let found = ADDON_ACTIVE
            .wait(
                &cx,
                || {
                    let state = looks.next().map(str::to_string);
                    async move { Ok(state) }
                },
                |state: &String| Seen::new(state.clone()),
            )
            .await
            .unwrap();
        assert_eq!(found.as_deref(), Some("ACTIVE"));
        assert_eq!(
            phases.lock().unwrap().len(),
            2,
            "waited through two pending looks"
        );
    }

    #[tokio::test]
    async fn a_waiter_fails_on_a_failure_state_with_aws_reason() {
        let (cx, _) = recording_cx();
        let result = ADDON_ACTIVE
            .wait(
                &cx,
                || async { Ok(Some(())) },
                |_| {
                    Seen::new("CREATE_FAILED")
                        .because(Some("InsufficientNumberOfReplicas: 0/2 ready".into()))
                },
            )
            .await;
        let err = result.unwrap_err();
        assert_eq!(err.call, "eks:DescribeAddon");
        assert_eq!(err.code.as_deref(), Some("CREATE_FAILED"));
        assert_eq!(err.message, "InsufficientNumberOfReplicas: 0/2 ready");
    }

    #[tokio::test]
    async fn a_wait_until_gone_ends_when_the_resource_vanishes_and_keeps_the_bound() {
        let (cx, _) = recording_cx();
        let gone = ADDON_ACTIVE.gone(ADDON_ACTIVE.failed, FAST);
        let mut looks = vec![None, Some("DELETING")];
        let found = gone
            .wait(
                &cx,
                || {
                    let state = looks.pop().flatten();
                    async move { Ok(state) }
                },
                |state: &&str| Seen::new(*state),
            )
            .await
            .unwrap();
        assert_eq!(found, None);
        let bounded = cx.with_timeout(Some(Duration::from_millis(20)));
        let err = gone
            .wait(
                &bounded,
                || async { Ok(Some(())) },
                |_| Seen::new("DELETING"),
            )
            .await
            .unwrap_err();
        assert!(
            err.message.starts_with("still DELETING after"),
            "{}",
            err.message
        );
    }
}
