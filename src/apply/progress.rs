//! What the operator sees while an apply runs: on a terminal, a spinner per in-flight
//! resource with its phase and an overall bar; otherwise (CI, pipes, NO_COLOR) one plain line
//! per event on stderr; with `--json`, one JSON object per event on stdout (schema in the
//! README) and nothing else.

use super::OpKind;
use crate::kinds::KindError;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressMode {
    /// Live bars on a terminal, plain lines elsewhere.
    #[default]
    Auto,
    /// Plain lines even on a terminal (`--no-color`, NO_COLOR).
    Plain,
    /// JSON lines on stdout (`--json`).
    Json,
}

pub struct Progress {
    mode: Mode,
    /// The action of each started address, for phase events (kinds report only the address).
    actions: Mutex<HashMap<String, OpKind>>,
}

enum Mode {
    Live(Live),
    Plain,
    Json,
}

struct Live {
    multi: MultiProgress,
    overall: ProgressBar,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Progress {
    /// Live only when stderr is a terminal, outside CI, and nothing else was asked for.
    pub fn new(total: usize, display: ProgressMode) -> Progress {
        let interactive = display == ProgressMode::Auto
            && std::io::stderr().is_terminal()
            && std::env::var_os("CI").is_none();
        let mode = match display {
            ProgressMode::Json => Mode::Json,
            _ if interactive => Mode::Live(Live::new(total)),
            _ => Mode::Plain,
        };
        Progress {
            mode,
            actions: Mutex::new(HashMap::new()),
        }
    }

    pub fn started(&self, address: &str, action: OpKind) {
        lock(&self.actions).insert(address.to_string(), action);
        let verb = action.verbs().0;
        match &self.mode {
            Mode::Plain => eprintln!("{address}: {verb}..."),
            Mode::Json => emit(event("start", address, action)),
            Mode::Live(live) => live.start(address, verb),
        }
    }

    pub fn phase(&self, address: &str, phase: &str) {
        match &self.mode {
            Mode::Plain => eprintln!("{address}: {phase}"),
            Mode::Json => {
                let action = lock(&self.actions).get(address).map(|a| a.name());
                emit(
                    json!({ "event": "phase", "address": address, "action": action, "phase": phase }),
                )
            }
            Mode::Live(live) => {
                if let Some(bar) = lock(&live.bars).get(address) {
                    bar.set_message(phase.to_string());
                }
            }
        }
    }

    /// A successful step; `line` is its one-line result for people.
    pub fn done(
        &self,
        address: &str,
        action: OpKind,
        elapsed: Duration,
        id: Option<&str>,
        line: &str,
    ) {
        match &self.mode {
            Mode::Json => {
                let mut e = event("done", address, action);
                e["elapsed_ms"] = millis(elapsed).into();
                e["id"] = id.into();
                emit(e)
            }
            _ => self.finished(address, line),
        }
    }

    /// A failed step (`elapsed` is `None` when it failed before it started).
    pub fn failed(
        &self,
        address: &str,
        action: OpKind,
        elapsed: Option<Duration>,
        err: &KindError,
        line: &str,
    ) {
        match &self.mode {
            Mode::Json => {
                let mut e = event("failed", address, action);
                e["elapsed_ms"] = elapsed.map(millis).into();
                e["error"] = err.to_string().into();
                e["call"] = err.call.clone().into();
                e["code"] = err.code.clone().into();
                e["request_id"] = err.request_id.clone().into();
                emit(e)
            }
            _ => self.finished(address, line),
        }
    }

    /// A step not run because something it needs failed (people see these in the summary).
    pub fn skipped(&self, address: &str, action: OpKind) {
        if let Mode::Json = self.mode {
            emit(event("skipped", address, action))
        }
    }

    /// A step still in flight when the grace period after an interrupt ran out.
    pub fn abandoned(&self, address: &str, action: OpKind) {
        if let Mode::Json = self.mode {
            emit(event("abandoned", address, action))
        }
    }

    fn finished(&self, address: &str, line: &str) {
        match &self.mode {
            Mode::Live(live) => live.finish(address, line),
            _ => eprintln!("{line}"),
        }
    }

    /// A message for people: on stderr (above the bars when live), never in the JSON stream.
    pub fn note(&self, line: &str) {
        match &self.mode {
            Mode::Live(live) => {
                let _ = live.multi.println(line);
            }
            _ => eprintln!("{line}"),
        }
    }

    pub fn close(&self) {
        if let Mode::Live(live) = &self.mode {
            live.overall.finish_and_clear();
        }
    }
}

impl Live {
    fn new(total: usize) -> Live {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(total as u64));
        overall.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} steps, {elapsed} elapsed")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Live {
            multi,
            overall,
            bars: Mutex::new(HashMap::new()),
        }
    }

    fn start(&self, address: &str, verb: &str) {
        let bar = self
            .multi
            .insert_before(&self.overall, ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(address.to_string());
        bar.set_message(verb.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        lock(&self.bars).insert(address.to_string(), bar);
    }

    fn finish(&self, address: &str, line: &str) {
        if let Some(bar) = lock(&self.bars).remove(address) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        self.overall.inc(1);
        let _ = self.multi.println(line);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn event(name: &str, address: &str, action: OpKind) -> Value {
    json!({ "event": name, "address": address, "action": action.name() })
}

pub(crate) fn millis(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

/// One event, one line: println! holds stdout's lock for the whole line, so events from
/// concurrent steps never interleave.
pub(crate) fn emit(event: Value) {
    println!("{event}");
}
