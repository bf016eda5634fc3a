//! Bounded retries for AWS's eventual consistency (a fresh VPC not yet visible, a subnet
//! still holding network interfaces). The SDK already retries throttling and 5xx; this is for
//! error codes that mean "not yet", which the SDK treats as final.

use crate::kinds::{KindError, KindResult};
use std::future::Future;
use std::time::Duration;

/// How long and how often to retry.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub max_delay: Duration,
    /// Total time after which the last error is returned.
    pub bound: Duration,
}

impl Backoff {
    /// This schedule, ending after `bound`.
    pub const fn within(self, bound: Duration) -> Backoff {
        Backoff { bound, ..self }
    }

    /// Read-after-create and freshly created dependencies: seconds.
    pub const CONSISTENCY: Backoff = Backoff {
        first: Duration::from_millis(250),
        max_delay: Duration::from_secs(5),
        bound: Duration::from_secs(120),
    };

    /// DependencyViolation while AWS releases network interfaces: minutes, not forever.
    pub const DEPENDENCIES: Backoff = Backoff {
        first: Duration::from_secs(1),
        max_delay: Duration::from_secs(15),
        bound: Duration::from_secs(20 * 60),
    };

    /// Milliseconds, for tests of retries and waits.
    #[cfg(test)]
    pub const FAST: Backoff = Backoff {
        first: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        bound: Duration::from_millis(200),
    };

    /// The pause before a wait's next look: a tenth of the time waited so far, kept within
    /// `first..=max_delay`. A resource is then seen at most ~10% (or `first`) after it got
    /// ready, whether AWS takes seconds or half an hour, for a number of looks that grows with
    /// the log of the wait until `max_delay` caps it.
    pub fn pause_after(&self, waited: Duration) -> Duration {
        (waited / 10).max(self.first).min(self.max_delay)
    }
}

/// Runs `op` until it succeeds, fails with a code not in `codes`, or `backoff.bound` runs
/// out; then the last error is returned with a note on how long innovate kept trying.
pub async fn retry_while<T, F, Fut>(codes: &[&str], backoff: Backoff, mut op: F) -> KindResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = KindResult<T>>,
{
    let started = tokio::time::Instant::now();
    let mut delay = backoff.first;
    loop {
        match op().await {
            Ok(value) => return Ok(value),
            Err(err) if is_retryable(&err, codes) => {
                if started.elapsed() + delay > backoff.bound {
                    return Err(gave_up(err, started.elapsed()));
                }
                tracing::debug!(call = %err.call, code = ?err.code, "retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(backoff.max_delay);
            }
            Err(err) => return Err(err),
        }
    }
}

/// [`retry_while`] for "not yet" answers that AWS gives under a generic code, told apart by
/// `not_yet` (EKS's InvalidParameterException for a role it cannot see yet, IAM's
/// MalformedPolicyDocument for a principal created seconds ago). The last error comes back
/// as AWS gave it.
pub async fn retry_when<T, F, Fut>(
    not_yet: impl Fn(&KindError) -> bool,
    backoff: Backoff,
    mut op: F,
) -> KindResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = KindResult<T>>,
{
    // Matching errors travel under a private code through `retry_while`; the last one
    // gets AWS's code back.
    const NOT_YET: &str = "innovate:NotYet";
    let aws_code = std::sync::Mutex::new(None);
    let result = retry_while(&[NOT_YET], backoff, || {
        let attempt = op();
        let (not_yet, aws_code) = (&not_yet, &aws_code);
        async move {
            attempt.await.map_err(|mut err| {
                if not_yet(&err) {
                    *aws_code.lock().unwrap() = err.code.replace(NOT_YET.to_string());
                }
                err
            })
        }
    })
    .await;
    result.map_err(|mut err| {
        if err.code.as_deref() == Some(NOT_YET) {
            err.code = aws_code.lock().unwrap().take();
        }
        err
    })
}

fn is_retryable(err: &KindError, codes: &[&str]) -> bool {
    err.code
        .as_deref()
        .is_some_and(|code| codes.contains(&code))
}

fn gave_up(mut err: KindError, waited: Duration) -> KindError {
    err.message = format!(
        "{} (still failing after {}s of retries)",
        err.message,
        waited.as_secs()
    );
    err
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    const FAST: Backoff = Backoff::FAST;

    fn not_found() -> KindError {
        KindError::new(
            "ec2:DescribeVpcs",
            Some("InvalidVpcID.NotFound".into()),
            "nope",
        )
    }

    #[test]
    fn wait_pauses_grow_with_the_time_waited_within_their_bounds() {
        let wait = Backoff {
            first: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            bound: Duration::from_secs(600),
        };
        assert_eq!(wait.pause_after(Duration::ZERO), Duration::from_millis(500));
        assert_eq!(
            wait.pause_after(Duration::from_secs(60)),
            Duration::from_secs(6)
        );
        assert_eq!(
            wait.pause_after(Duration::from_secs(500)),
            Duration::from_secs(20)
        );
    }

    #[tokio::test]
    async fn retries_listed_codes_until_success() {
        let calls = AtomicU32::new(0);
        let result = retry_while(&["InvalidVpcID.NotFound"], FAST, || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 3 {
                Err(not_found())
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(result, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn other_codes_fail_at_once() {
        let calls = AtomicU32::new(0);
        let result: KindResult<()> = retry_while(&["Other"], FAST, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(not_found())
        })
        .await;
        assert_eq!(
            result.unwrap_err().code.as_deref(),
            Some("InvalidVpcID.NotFound")
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn gives_up_after_the_bound_and_says_so() {
        let result: KindResult<()> = retry_while(&["InvalidVpcID.NotFound"], FAST, || async {
            Err(not_found())
        })
        .await;
        let err = result.unwrap_err();
        assert!(
            err.message.contains("still failing after"),
            "{}",
            err.message
        );
    }
}
