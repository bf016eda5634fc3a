//! SIGINT / SIGTERM during an apply: the first stops new operations and gives in-flight ones
//! a grace period to finish and be recorded; the second exits at once. State stays
//! consistent either way: it is only ever replaced atomically, after a completed operation.

use std::time::Duration;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// Exit code of an interrupted run (128 + SIGINT), as shells expect.
pub const INTERRUPTED_EXIT_CODE: u8 = 130;

/// How long in-flight operations may take to finish after the first interrupt;
/// `INNOVATE_INTERRUPT_GRACE` (seconds) overrides it.
pub fn grace_period() -> Duration {
    std::env::var("INNOVATE_INTERRUPT_GRACE")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(30))
}

pub struct Interrupts {
    int: Option<Signal>,
    term: Option<Signal>,
}

impl Interrupts {
    /// Listens for SIGINT and SIGTERM (if the platform refuses, interrupts keep their
    /// default effect).
    pub fn listen() -> Interrupts {
        Interrupts {
            int: signal(SignalKind::interrupt()).ok(),
            term: signal(SignalKind::terminate()).ok(),
        }
    }

    /// Resolves at the next SIGINT or SIGTERM.
    pub async fn next(&mut self) {
        async fn recv(signal: &mut Option<Signal>) {
            match signal {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            _ = recv(&mut self.int) => {}
            _ = recv(&mut self.term) => {}
        }
    }
}
