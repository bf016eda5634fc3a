//! Cross-account placement on the engine side: one [`Registry`] per AWS account that
//! resources are placed in, opened once per run and shared by every operation in it. How an
//! account is opened (credentials assumed into it) is the AWS side's business
//! ([`AccountOpener`]); the engine only asks for "the kinds of account X".

use super::{KindResult, Registry};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// Opens the kinds of one member account.
#[async_trait]
pub trait AccountOpener: Send + Sync {
    /// A registry whose kinds act in `account`; an error names the failed call (sts:AssumeRole)
    /// and AWS's message.
    async fn open(&self, account: &str) -> KindResult<Registry>;
}

/// Account id -> its registry, each opened at most once even when many operations ask at
/// the same moment. A failed open is not remembered: the next request tries again.
pub struct Accounts {
    opener: Arc<dyn AccountOpener>,
    opened: Mutex<HashMap<String, Arc<OnceCell<Registry>>>>,
}

impl Accounts {
    pub fn new(opener: Arc<dyn AccountOpener>) -> Accounts {
        Accounts {
            opener,
            opened: Mutex::new(HashMap::new()),
        }
    }

    pub async fn registry(&self, account: &str) -> KindResult<Registry> {
        let cell = {
            let mut opened = self.opened.lock().unwrap_or_else(|e| e.into_inner());
            opened.entry(account.to_string()).or_default().clone()
        };
        cell.get_or_try_init(|| self.opener.open(account))
            .await
            .cloned()
    }

    /// How many accounts have been opened so far.
    pub fn opened(&self) -> usize {
        let opened = self.opened.lock().unwrap_or_else(|e| e.into_inner());
        opened.values().filter(|cell| cell.initialized()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::KindError;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts opens per account; fails the first open of "333333333333".
    #[derive(Default)]
    struct Counting {
        opens: Mutex<HashMap<String, usize>>,
        flaky_failures: AtomicUsize,
    }

    #[async_trait]
    impl AccountOpener for Counting {
        async fn open(&self, account: &str) -> KindResult<Registry> {
            // Let concurrent callers pile up on the same cell.
            tokio::task::yield_now().await;
            *self
                .opens
                .lock()
                .unwrap()
                .entry(account.to_string())
                .or_default() += 1;
            if account == "333333333333" && self.flaky_failures.fetch_add(1, Ordering::SeqCst) == 0
            {
                return Err(KindError::new(
                    "sts:AssumeRole",
                    Some("AccessDenied".into()),
                    "not yet",
                ));
            }
            Ok(Registry::default())
        }
    }

    fn opens(opener: &Counting, account: &str) -> usize {
        opener
            .opens
            .lock()
            .unwrap()
            .get(account)
            .copied()
            .unwrap_or(0)
    }

    #[tokio::test]
    async fn each_account_is_opened_once_even_when_asked_concurrently() {
        let opener = Arc::new(Counting::default());
        let accounts = Accounts::new(opener.clone());
        let asks = (0..8).map(|i| {
            let account = if i % 2 == 0 {
                "111111111111"
            } else {
                "222222222222"
            };
            accounts.registry(account)
        });
        for result in futures::future::join_all(asks).await {
            result.unwrap();
        }
        accounts.registry("111111111111").await.unwrap();
        assert_eq!(opens(&opener, "111111111111"), 1);
        assert_eq!(opens(&opener, "222222222222"), 1);
        assert_eq!(accounts.opened(), 2);
    }

    #[tokio::test]
    async fn a_failed_open_is_reported_and_tried_again_next_time() {
        let opener = Arc::new(Counting::default());
        let accounts = Accounts::new(opener.clone());
        let err = accounts.registry("333333333333").await.err().unwrap();
        assert_eq!(err.call, "sts:AssumeRole");
        assert_eq!(accounts.opened(), 0);
        accounts.registry("333333333333").await.unwrap();
        assert_eq!(opens(&opener, "333333333333"), 2);
        assert_eq!(accounts.opened(), 1);
    }
}
