//! The executor: walks the operation graph on tokio with bounded concurrency. An operation
//! starts the moment everything it needs is done. Each completed operation is recorded in
//! state, and nothing starts before the save that holds what it needs (its dependencies'
//! results, its own create intent); one save covers every step that finished meanwhile
//! (group commit), so a large state is not rewritten once per step. A failed operation
//! skips what depends on it while independent branches finish.

mod intents;
mod interrupt;
mod ops;
mod prepare;
mod progress;
mod steps;

pub use interrupt::INTERRUPTED_EXIT_CODE;
use interrupt::{grace_period, Interrupts};
pub use ops::{Op, OpGraph, OpKind};
pub use prepare::tags_for;
use prepare::{prepare, Prepared};
pub use progress::{Progress, ProgressMode};
pub use steps::{render_table, summary_event, Step, StepResult};

/// Prints the closing `summary` event of a `--json` run.
pub fn emit_summary(report: &ApplyReport, command: &str) {
    progress::emit(summary_event(report, command));
}

use crate::address::Address;
use crate::blueprint::Blueprint;
use crate::kinds::{
    owner_tags, Attrs, KindError, KindResult, Live, Registry, ResourceKind, StepCx, Tags,
};
use crate::plan::Plan;
#[cfg(test)]
use crate::state::LocalStore; // the store of apply/tests.rs
use crate::state::{Deposed, ResourceState, State, StateStore};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

pub const DEFAULT_PARALLELISM: usize = 10;

pub struct ApplyOptions {
    pub parallelism: usize,
    /// Live bars, plain lines or JSON events.
    pub display: ProgressMode,
}

/// How each operation ended.
#[derive(Debug, Default)]
pub struct ApplyReport {
    pub completed: Vec<(Address, OpKind, Duration)>,
    pub failed: Vec<(Address, OpKind, KindError)>,
    pub skipped: Vec<(Address, OpKind)>,
    /// A SIGINT / SIGTERM stopped the run early.
    pub interrupted: bool,
    /// In flight when the grace period ran out: their outcome is unknown to the state.
    pub abandoned: Vec<(Address, OpKind)>,
    /// Every operation in the order it ended (the table after the run).
    pub steps: Vec<Step>,
    /// How long the whole run took.
    pub elapsed: Duration,
}

impl ApplyReport {
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty() && !self.interrupted
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The state could not be saved: stop at once, the file on disk is the last good one.
    #[error("{0}")]
    State(String),
    /// The operations cannot be ordered; found before anything runs.
    #[error("{0}")]
    Order(String),
}

pub async fn execute(
    plan: &Plan,
    blueprint: &Blueprint,
    state: &mut State,
    store: &dyn StateStore,
    registry: &Registry,
    options: &ApplyOptions,
) -> Result<ApplyReport, ApplyError> {
    let graph = OpGraph::build(plan, blueprint, state);
    let deadlocked = graph.deadlocked();
    if !deadlocked.is_empty() {
        let names: Vec<String> = deadlocked
            .iter()
            .map(|&i| format!("{} ({:?})", graph.ops[i].address, graph.ops[i].kind))
            .collect();
        return Err(ApplyError::Order(format!(
            "nothing was changed: these operations would wait on each other: {}",
            names.join(", ")
        )));
    }
    let run_started = Instant::now();
    let mut run = Executor::new(&graph, options);
    let mut interrupts = Interrupts::listen();
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        if deadline.is_none() {
            run.launch(blueprint, state, registry, store).await?;
        }
        let grace_over = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            joined = run.running.join_next() => {
                let Some(joined) = joined else { break };
                if let Err(crash) = run.complete_finished(joined, blueprint, state) {
                    // Keep what did complete before reporting the crash.
                    run.flush(state, store).await?;
                    return Err(crash);
                }
                if deadline.is_some() {
                    // Nothing launches during the grace period; save what finished now.
                    run.flush(state, store).await?;
                }
            }
            () = interrupts.next() => {
                if deadline.is_some() {
                    // No more waiting: what is in flight is abandoned, as when the grace
                    // period ends, and the run still reports (`--json` ends with its summary).
                    run.progress.note("Second interrupt: exiting now. The state file holds every operation that completed.");
                    run.abandon();
                    break;
                }
                let grace = grace_period();
                run.progress.note(&format!(
                    "Interrupted: starting nothing new; waiting up to {}s for {} operation(s) in flight (interrupt again to exit now).",
                    grace.as_secs(),
                    run.running.len()
                ));
                run.report.interrupted = true;
                deadline = Some(tokio::time::Instant::now() + grace);
            }
            () = grace_over => {
                run.abandon();
                break;
            }
        }
    }
    run.flush(state, store).await?;
    run.progress.close();
    run.report.elapsed = run_started.elapsed();
    Ok(run.report)
}

/// The state of one run: what waits, what is ready, what runs.
struct Executor<'g> {
    graph: &'g OpGraph,
    progress: Arc<Progress>,
    waiting: Vec<usize>,
    ready: VecDeque<usize>,
    blocked: Vec<bool>,
    report: ApplyReport,
    running: JoinSet<Outcome>,
    in_flight: Vec<usize>,
    parallelism: usize,
    /// `state` holds changes the file does not have yet.
    unsaved: bool,
    /// Steps recorded in `state` but not yet saved: announced once they are.
    unannounced: Vec<Finished>,
}

/// A step that completed, as the operator will be told once it is saved.
struct Finished {
    index: usize,
    elapsed: Duration,
    id: Option<String>,
    line: String,
}

impl<'g> Executor<'g> {
    fn new(graph: &'g OpGraph, options: &ApplyOptions) -> Self {
        let waiting: Vec<usize> = graph.needs.iter().map(Vec::len).collect();
        let ready = (0..graph.ops.len())
            .filter(|&i| waiting[i] == 0)
            .rev()
            .collect();
        Executor {
            graph,
            progress: Arc::new(Progress::new(graph.ops.len(), options.display)),
            waiting,
            ready,
            blocked: vec![false; graph.ops.len()],
            report: ApplyReport::default(),
            running: JoinSet::new(),
            in_flight: Vec::new(),
            parallelism: options.parallelism.max(1),
            unsaved: false,
            unannounced: Vec::new(),
        }
    }

    /// Starts ready operations up to the parallelism bound. The intents of the creates
    /// among them are saved, with every result recorded since the last save, before any is
    /// sent.
    async fn launch(
        &mut self,
        blueprint: &Blueprint,
        state: &mut State,
        registry: &Registry,
        store: &dyn StateStore,
    ) -> Result<(), ApplyError> {
        let mut batch = Vec::new();
        while self.running.len() + batch.len() < self.parallelism {
            let Some(i) = self.ready.pop_back() else {
                break;
            };
            match prepare(i, &self.graph.ops[i], blueprint, state, registry) {
                Ok(prepared) => batch.push(prepared),
                Err(err) => self.fail(i, None, err),
            }
        }
        for p in batch.iter().filter(|p| p.kind == OpKind::Create) {
            let depends_on = blueprint
                .instance(&p.address)
                .map(|i| i.depends_on.as_slice())
                .unwrap_or(&[]);
            intents::begin(
                state,
                &p.address,
                p.resource.as_ref(),
                (&p.desired, &p.tags),
                depends_on,
                p.account.as_deref(),
            );
            self.unsaved = true;
        }
        self.flush(state, store).await?;
        for prepared in batch {
            self.progress
                .started(&prepared.address.to_string(), prepared.kind);
            self.in_flight.push(prepared.index);
            self.running.spawn(run(prepared, self.progress.clone()));
        }
        Ok(())
    }

    /// Records `first` and every other operation that has finished by now, so that one
    /// save covers them all.
    fn complete_finished(
        &mut self,
        first: Result<Outcome, tokio::task::JoinError>,
        blueprint: &Blueprint,
        state: &mut State,
    ) -> Result<(), ApplyError> {
        let mut joined = Some(first);
        while let Some(outcome) = joined {
            let outcome =
                outcome.map_err(|e| ApplyError::State(format!("an apply task crashed: {e}")))?;
            self.complete(outcome, blueprint, state);
            joined = self.running.try_join_next();
        }
        Ok(())
    }

    /// Records a finished operation in `state` and readies what it unblocks; they start
    /// only after the next [`Executor::flush`].
    fn complete(
        &mut self,
        (i, started, result): Outcome,
        blueprint: &Blueprint,
        state: &mut State,
    ) {
        self.in_flight.retain(|&x| x != i);
        let op = &self.graph.ops[i];
        let elapsed = started.elapsed();
        let live = match result {
            Ok(live) => live,
            Err(err) => {
                if op.kind == OpKind::Create && intents::end(state, &op.address, Some(&err)) {
                    self.unsaved = true;
                }
                self.fail(i, Some(elapsed), err);
                return;
            }
        };
        record(state, blueprint, op, live);
        self.unsaved = true;
        let id = state
            .resources
            .get(&op.address)
            .filter(|_| op.kind != OpKind::Delete)
            .map(|r| r.id.clone());
        self.unannounced.push(Finished {
            index: i,
            elapsed,
            id,
            line: done_line(op, state, elapsed),
        });
        for &j in &self.graph.dependents[i] {
            self.waiting[j] -= 1;
            if self.waiting[j] == 0 && !self.blocked[j] {
                self.ready.push_front(j);
            }
        }
    }

    /// Saves what was recorded since the last save (one write for any number of steps),
    /// then tells the operator about the steps it made durable.
    async fn flush(&mut self, state: &mut State, store: &dyn StateStore) -> Result<(), ApplyError> {
        if !self.unsaved {
            return Ok(());
        }
        state.serial += 1;
        store
            .save(state)
            .await
            .map_err(|e| ApplyError::State(e.to_string()))?;
        self.unsaved = false;
        let graph = self.graph;
        for finished in std::mem::take(&mut self.unannounced) {
            let op = &graph.ops[finished.index];
            self.progress.done(
                &op.address.to_string(),
                op.kind,
                finished.elapsed,
                finished.id.as_deref(),
                &finished.line,
            );
            self.report
                .completed
                .push((op.address.clone(), op.kind, finished.elapsed));
            self.record_step(op, Some(finished.elapsed), StepResult::Done);
        }
        Ok(())
    }

    /// `elapsed`: how long it ran, `None` when it failed before it was sent.
    fn fail(&mut self, i: usize, elapsed: Option<Duration>, err: KindError) {
        let graph = self.graph;
        let op = &graph.ops[i];
        let line = format!("{}: {} failed: {err}", op.address, op.kind.verbs().0);
        self.progress
            .failed(&op.address.to_string(), op.kind, elapsed, &err, &line);
        self.record_step(op, elapsed, StepResult::Failed(err.to_string()));
        self.report.failed.push((op.address.clone(), op.kind, err));
        for j in graph.dependents_of(i) {
            if !self.blocked[j] {
                self.blocked[j] = true;
                let skipped = &graph.ops[j];
                self.progress
                    .skipped(&skipped.address.to_string(), skipped.kind);
                self.record_step(skipped, None, StepResult::Skipped);
                self.report
                    .skipped
                    .push((skipped.address.clone(), skipped.kind));
            }
        }
    }

    fn record_step(&mut self, op: &Op, elapsed: Option<Duration>, result: StepResult) {
        self.report.steps.push(Step {
            address: op.address.clone(),
            action: op.kind,
            elapsed,
            result,
        });
    }

    /// The grace period ran out: stop waiting for what is still in flight.
    fn abandon(&mut self) {
        self.running.abort_all();
        let graph = self.graph;
        for i in std::mem::take(&mut self.in_flight) {
            let op = &graph.ops[i];
            self.progress.abandoned(&op.address.to_string(), op.kind);
            self.record_step(op, None, StepResult::Abandoned);
            self.report.abandoned.push((op.address.clone(), op.kind));
        }
    }
}

fn done_line(op: &Op, state: &State, elapsed: Duration) -> String {
    let id = state
        .resources
        .get(&op.address)
        .map(|r| format!(" [id={}]", r.id))
        .unwrap_or_default();
    format!(
        "{}: {} after {:.1}s{id}",
        op.address,
        op.kind.verbs().1,
        elapsed.as_secs_f64()
    )
}

/// A finished create or update: what AWS reported, the attributes to record (sensitive
/// ones left out), the account it happened in and the ownership tags it now carries.
type Done = (Live, Attrs, Option<String>, Tags);

type Outcome = (usize, Instant, Result<Option<Done>, KindError>);

async fn run(p: Prepared, progress: Arc<Progress>) -> Outcome {
    let started = Instant::now();
    let result = match in_account(&p).await {
        Ok(resource) => operate(&p, resource, progress).await,
        Err(err) => Err(err),
    };
    (p.index, started, result)
}

/// The kind acting in the operation's account: credentials for a member account are
/// assumed on first use and shared by every later operation there.
async fn in_account(p: &Prepared) -> Result<Arc<dyn ResourceKind>, KindError> {
    match &p.account {
        None => Ok(p.resource.clone()),
        Some(account) => {
            let name = p.resource.schema().name;
            p.registry.kind_in(Some(account), name).await
        }
    }
}

async fn operate(
    p: &Prepared,
    resource: Arc<dyn ResourceKind>,
    progress: Arc<Progress>,
) -> Result<Option<Done>, KindError> {
    let listener = progress.clone();
    let cx = StepCx::new(
        p.address.to_string(),
        Arc::new(move |address: &str, phase: &str| listener.phase(address, phase)),
    )
    .with_timeout(p.timeout);
    let mut stored = p.desired.clone();
    stored.retain(|name, _| resource.schema().attr(name).is_none_or(|a| !a.sensitive));
    let account = p.account.clone();
    let owner = owner_tags(&p.tags);
    match (p.kind, &p.prior) {
        (OpKind::Create, _) => match create(resource.as_ref(), &cx, p).await {
            Ok(live) => {
                sweep_after_create(resource.as_ref(), &cx, p, &live).await;
                Ok(Some((live, stored, account, owner)))
            }
            Err(err) => Err(err),
        },
        (OpKind::Update, Some(prior)) => resource
            .update(&cx, &prior.live(), &prior.attrs, &p.desired, &p.tags)
            .await
            .map(|live| Some((live, stored, account, owner))),
        (OpKind::Delete, Some(prior)) => resource
            .delete(&cx, &prior.live(), &prior.attrs)
            .await
            .map(|()| None),
        (_, None) => Err(KindError::local("innovate", "nothing in state to change")),
    }
}

/// Removes copies a retried token-less create left behind. A resource with a unique name
/// (a natural id) cannot have a copy: AWS refused the retry. Best effort: a failed sweep must
/// not turn a created resource into a failure.
async fn sweep_after_create(resource: &dyn ResourceKind, cx: &StepCx, p: &Prepared, live: &Live) {
    if resource.natural_id(&p.desired).is_some() {
        return;
    }
    if let Err(err) = intents::sweep_duplicates(resource, cx, &p.tags, live).await {
        tracing::warn!(
            "{}: could not look for duplicates of {}: {err}",
            p.address,
            live.id
        );
    }
}

/// Creates the resource, adopting it instead when AWS says it exists already and it is this
/// instance's own (an earlier attempt's answer was lost and the SDK retried).
async fn create(resource: &dyn ResourceKind, cx: &StepCx, p: &Prepared) -> KindResult<Live> {
    match resource.create(cx, &p.desired, &p.tags).await {
        Err(err) if err.has_code_in(resource.conflict_codes()) => {
            let adopted = intents::adopt_after_conflict(resource, cx, &p.desired, &p.tags).await?;
            adopted.ok_or(err)
        }
        other => other,
    }
}

/// Writes one finished operation into the state (`attrs` come without sensitive values).
fn record(state: &mut State, blueprint: &Blueprint, op: &Op, result: Option<Done>) {
    match result {
        None if op.deposed => state.deposed.retain(|d| d.address != op.address),
        None => {
            state.resources.remove(&op.address);
        }
        Some((live, attrs, account, owner)) => {
            if op.kind == OpKind::Create {
                intents::end(state, &op.address, None);
            }
            let instance = blueprint.instance(&op.address);
            let kind = instance.map(|i| i.kind.clone()).unwrap_or_default();
            let depends_on = instance.map(|i| i.depends_on.clone()).unwrap_or_default();
            if op.kind == OpKind::Create {
                // Create-before-destroy: the old object waits in `deposed` for its delete.
                if let Some(old) = state.resources.remove(&op.address) {
                    state.deposed.push(Deposed {
                        address: op.address.clone(),
                        resource: old,
                    });
                }
            }
            state.resources.insert(
                op.address.clone(),
                ResourceState {
                    kind,
                    id: live.id,
                    attrs,
                    outputs: live.outputs,
                    depends_on,
                    account,
                    owner,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests;
