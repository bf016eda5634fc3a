//! How innovate paces its AWS calls and how long the SDK keeps retrying them.
//!
//! - Client-side rate limits, per service: token buckets sized from AWS's published EC2 request
//!   throttling buckets (mutating actions: 200 tokens, refilled at 5/s; non-mutating: 100,
//!   refilled at 20/s), so that a large apply spends its burst and then goes at the pace AWS
//!   allows instead of provoking RequestLimitExceeded. The other services publish no buckets;
//!   they get one conservative bucket each (50 tokens, 10/s).
//! - SDK retries: up to 10 attempts with exponential backoff (AWS's default of 3 turns one bad
//!   minute into a failed apply), and a retry quota that refills with successes and time, so
//!   that a long apply through a throttling burst does not run out of retries.
//!
//! `AWS_MAX_ATTEMPTS` / `AWS_RETRY_MODE` set by the user win over the retry settings;
//! `INNOVATE_RATE_LIMIT=off` turns the client-side limits off (an emulator, a benchmark).

use aws_config::retry::RetryConfig;
use aws_config::SdkConfig;
use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// SDK attempts per call (first try included).
pub const MAX_ATTEMPTS: u32 = 10;

/// The retry settings of every client, unless the user chose their own.
pub fn retry_config() -> Option<RetryConfig> {
    let user_chose = ["AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"]
        .iter()
        .any(|name| std::env::var_os(name).is_some());
    (!user_chose).then(|| {
        RetryConfig::standard()
            .with_max_attempts(MAX_ATTEMPTS)
            .with_initial_backoff(Duration::from_millis(200))
            .with_max_backoff(Duration::from_secs(20))
    })
}

/// A retry partition per service whose quota refills with every success and over time.
pub fn retry_partition(service: &'static str) -> RetryPartition {
    let quota = TokenBucket::builder()
        .capacity(500)
        .success_reward(1.0)
        .refill_rate(5.0)
        .build();
    RetryPartition::custom(format!("innovate-{service}"))
        .token_bucket(quota)
        .build()
}

/// One token bucket: `capacity` calls at once, then `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub capacity: f64,
    pub per_second: f64,
}

/// EC2's published buckets, and the default for services that publish none.
pub const EC2_MUTATING: Rate = Rate {
    capacity: 200.0,
    per_second: 5.0,
};
pub const EC2_NON_MUTATING: Rate = Rate {
    capacity: 100.0,
    per_second: 20.0,
};
pub const OTHER_SERVICES: Rate = Rate {
    capacity: 50.0,
    per_second: 10.0,
};

/// The limits of one service's client: one bucket, or EC2's pair.
#[derive(Debug)]
pub enum Limits {
    Uniform(Bucket),
    MutatingOrNot { mutating: Bucket, reads: Bucket },
}

impl Limits {
    pub fn ec2() -> Limits {
        Limits::MutatingOrNot {
            mutating: Bucket::new(EC2_MUTATING),
            reads: Bucket::new(EC2_NON_MUTATING),
        }
    }

    pub fn other() -> Limits {
        Limits::Uniform(Bucket::new(OTHER_SERVICES))
    }

    fn bucket_for(&self, request: &HttpRequest) -> &Bucket {
        match self {
            Limits::Uniform(bucket) => bucket,
            Limits::MutatingOrNot { mutating, reads } => {
                let body = request.body().bytes().unwrap_or_default();
                if is_read_action(query_action(body)) {
                    reads
                } else {
                    mutating
                }
            }
        }
    }
}

/// `Action=DescribeVpcs&...` of an EC2 query request.
fn query_action(body: &[u8]) -> &str {
    let text = std::str::from_utf8(body).unwrap_or_default();
    text.split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .unwrap_or_default()
}

fn is_read_action(action: &str) -> bool {
    ["Describe", "Get", "List", "Search"]
        .iter()
        .any(|prefix| action.starts_with(prefix))
}

/// A token bucket that makes callers wait for their token instead of failing.
#[derive(Debug)]
pub struct Bucket {
    rate: Rate,
    state: Mutex<(f64, Instant)>,
}

impl Bucket {
    pub fn new(rate: Rate) -> Bucket {
        Bucket {
            rate,
            state: Mutex::new((rate.capacity, Instant::now())),
        }
    }

    /// Takes one token, waiting until the bucket has refilled enough.
    pub async fn acquire(&self) {
        loop {
            match self.try_take(Instant::now()) {
                None => return,
                Some(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Takes a token at `now` (None), or says how long until one is there.
    fn try_take(&self, now: Instant) -> Option<Duration> {
        let mut state = self.state.lock().expect("bucket lock");
        let (tokens, since) = *state;
        let refilled = (tokens + now.duration_since(since).as_secs_f64() * self.rate.per_second)
            .min(self.rate.capacity);
        if refilled >= 1.0 {
            *state = (refilled - 1.0, now);
            return None;
        }
        *state = (refilled, now);
        Some(Duration::from_secs_f64(
            (1.0 - refilled) / self.rate.per_second,
        ))
    }
}

/// Whether client-side limits apply (`INNOVATE_RATE_LIMIT=off` turns them off).
pub fn rate_limits_enabled() -> bool {
    std::env::var("INNOVATE_RATE_LIMIT").map_or(true, |v| !v.eq_ignore_ascii_case("off"))
}

/// The configuration's HTTP client, with every request first taking a token from `limits`
/// (unless limits are off); `None` when the configuration has no client of its own.
pub fn paced_http_client(sdk: &SdkConfig, limits: Limits) -> Option<SharedHttpClient> {
    let inner = sdk.http_client()?;
    if !rate_limits_enabled() {
        return Some(inner);
    }
    Some(SharedHttpClient::new(RateLimitedClient {
        inner,
        limits: Arc::new(limits),
    }))
}

#[derive(Debug)]
struct RateLimitedClient {
    inner: SharedHttpClient,
    limits: Arc<Limits>,
}

impl HttpClient for RateLimitedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(RateLimitedConnector {
            inner: self.inner.http_connector(settings, components),
            limits: self.limits.clone(),
        })
    }
}

#[derive(Debug)]
struct RateLimitedConnector {
    inner: SharedHttpConnector,
    limits: Arc<Limits>,
}

impl HttpConnector for RateLimitedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let limits = self.limits.clone();
        HttpConnectorFuture::new(async move {
            limits.bucket_for(&request).acquire().await;
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_spends_its_burst_then_paces_at_its_rate() {
        let bucket = Bucket::new(Rate {
            capacity: 3.0,
            per_second: 2.0,
        });
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(bucket.try_take(start), None, "the burst is there at once");
        }
        assert_eq!(
            bucket.try_take(start),
            Some(Duration::from_millis(500)),
            "one token every half second"
        );
        assert_eq!(bucket.try_take(start + Duration::from_millis(500)), None);
        let later = start + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(
                bucket.try_take(later),
                None,
                "refilled, but only to capacity"
            );
        }
        assert!(bucket.try_take(later).is_some());
    }

    #[test]
    fn ec2_requests_are_told_apart_by_their_action() {
        assert_eq!(
            query_action(b"Action=DescribeVpcs&Version=2016-11-15"),
            "DescribeVpcs"
        );
        assert_eq!(query_action(b"Version=1&Action=CreateVpc"), "CreateVpc");
        assert!(is_read_action("DescribeSubnets"));
        assert!(!is_read_action("CreateSubnet"));
        assert!(
            !is_read_action(query_action(b"")),
            "unknown counts as mutating"
        );
    }
}
