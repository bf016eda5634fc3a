//! The Innovate estate (plans/innovate.yaml, dev) against the plain emulator: a full apply
//! from nothing, then a no-op plan with refresh (what `innovate plan` does on an estate that
//! matches), each with its wall time and AWS calls; destroyed between runs.
//!
//! Run: `cargo bench --bench estate` (release profile; starts its own emulator). Prints a
//! Markdown table for BENCHMARKS.md.

#[path = "../tests/common/emulator.rs"]
#[allow(dead_code)] // shared with the tests, which use all of it
mod emulator;
#[allow(dead_code)] // each bench uses part of it
mod support;

use innovate::plan::{Action, PlanOptions};
use innovate::refresh::refresh;
use std::time::{Duration, Instant};
use support::{ms, spread, Estate};

const RUNS: usize = 5;

struct Run {
    apply: Duration,
    apply_calls: usize,
    plan: Duration,
    plan_calls: usize,
    resources: usize,
}

async fn run_once(estate: &Estate) -> Run {
    let calls = estate.aws.calls();
    let started = Instant::now();
    let (state, _) = estate.apply().await;
    let apply = started.elapsed();
    let apply_calls = estate.aws.calls() - calls;

    let calls = estate.aws.calls();
    let started = Instant::now();
    let refreshed = refresh(&state, &estate.registry).await.expect("refresh");
    let plan = estate.plan(&refreshed.state, &PlanOptions::default());
    let planned = started.elapsed();
    let plan_calls = estate.aws.calls() - calls;
    assert!(
        refreshed.drift.is_empty(),
        "no drift: {:?}",
        refreshed.drift
    );
    let changes = plan.steps.iter().filter(|s| s.action != Action::NoOp);
    assert_eq!(changes.count(), 0, "the applied estate plans no change");

    let resources = state.resources.len();
    estate.destroy(state).await;
    Run {
        apply,
        apply_calls,
        plan: planned,
        plan_calls,
        resources,
    }
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let runs: Vec<Run> = runtime.block_on(async {
        let estate = Estate::plain().await;
        let mut runs = Vec::new();
        for _ in 0..RUNS {
            runs.push(run_once(&estate).await);
        }
        runs
    });
    let (apply, apply_min, apply_max) = spread(runs.iter().map(|r| r.apply).collect());
    let (plan, plan_min, plan_max) = spread(runs.iter().map(|r| r.plan).collect());
    // Calls are the same every run (no faults, no throttling); the last run's stand for all.
    let last = runs.last().expect("runs");
    println!("| step | resources | AWS calls | median wall time | min | max |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| full apply | {} | {} | {} | {} | {} |",
        last.resources,
        last.apply_calls,
        ms(apply),
        ms(apply_min),
        ms(apply_max)
    );
    println!(
        "| no-op plan with refresh | {} | {} | {} | {} | {} |",
        last.resources,
        last.plan_calls,
        ms(plan),
        ms(plan_min),
        ms(plan_max)
    );
    let calls: Vec<_> = runs.iter().map(|r| (r.apply_calls, r.plan_calls)).collect();
    println!("\ncalls per run (apply, plan): {calls:?}");
}
