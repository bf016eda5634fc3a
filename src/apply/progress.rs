//! What the operator sees while an apply runs: on a terminal, a spinner per in-flight
//! resource with its phase and an overall bar; otherwise (CI, pipes, NO_COLOR) one plain line
//! per event.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

pub struct Progress {
    live: Option<Live>,
}

struct Live {
    multi: MultiProgress,
    overall: ProgressBar,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Progress {
    /// Interactive when stderr is a terminal and the user did not ask for plain output.
    pub fn new(total: usize, plain: bool) -> Progress {
        let interactive =
            !plain && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        if !interactive {
            return Progress { live: None };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(total as u64));
        overall.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} steps, {elapsed} elapsed")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Progress {
            live: Some(Live {
                multi,
                overall,
                bars: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn started(&self, address: &str, verb: &str) {
        match &self.live {
            None => eprintln!("{address}: {verb}..."),
            Some(live) => {
                let bar = live
                    .multi
                    .insert_before(&live.overall, ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(address.to_string());
                bar.set_message(verb.to_string());
                bar.enable_steady_tick(Duration::from_millis(120));
                live.bars
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(address.to_string(), bar);
            }
        }
    }

    pub fn phase(&self, address: &str, phase: &str) {
        match &self.live {
            None => eprintln!("{address}: {phase}"),
            Some(live) => {
                if let Some(bar) = live
                    .bars
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(address)
                {
                    bar.set_message(phase.to_string());
                }
            }
        }
    }

    /// A finished step (successful or not): `line` is its one-line result.
    pub fn finished(&self, address: &str, line: &str) {
        match &self.live {
            None => eprintln!("{line}"),
            Some(live) => {
                if let Some(bar) = live
                    .bars
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(address)
                {
                    bar.finish_and_clear();
                    live.multi.remove(&bar);
                }
                live.overall.inc(1);
                let _ = live.multi.println(line);
            }
        }
    }

    pub fn note(&self, line: &str) {
        match &self.live {
            None => eprintln!("{line}"),
            Some(live) => {
                let _ = live.multi.println(line);
            }
        }
    }

    pub fn close(&self) {
        if let Some(live) = &self.live {
            live.overall.finish_and_clear();
        }
    }
}
