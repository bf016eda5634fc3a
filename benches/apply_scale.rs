//! The executor at scale, without AWS: an in-memory kind whose calls answer at once, so the
//! figures are innovate's own cost of an apply (scheduling, recording, and above all saving
//! the state file crash-safely) as the state grows.
//!
//! Two shapes:
//! - a full apply of N resources from nothing (N = 1,000 and 10,000);
//! - 100 resources added to an estate of 10,000 already in state: every save writes the
//!   whole, large, state.
//!
//! Each row reports wall time, the state saves the run made (serial delta) and the bytes of
//! the final state file. Run: `cargo bench --bench apply_scale` (release profile). Prints
//! Markdown for BENCHMARKS.md; the per-step lines go to stderr.

use async_trait::async_trait;
use innovate::apply::{self, ApplyOptions, ProgressMode};
use innovate::blueprint::{self, LoadOptions};
use innovate::graph::Dag;
use innovate::kinds::{
    Attr, AttrType, Attrs, KindResult, Live, Price, Registry, ResourceKind, Schema, StepCx, Tags,
    Tier,
};
use innovate::plan::{self, PlanOptions};
use innovate::state::{LocalStore, State};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs per row unless `BENCH_RUNS` says otherwise.
const RUNS: usize = 3;

/// As `innovate apply` runs by default.
const PARALLELISM: usize = 64;

/// Resources per generated cell: a root and nine that reference it.
const CELL: usize = 10;

static SCHEMA: Schema = Schema {
    name: "bench.thing",
    attrs: &[
        Attr::optional("parent", AttrType::String),
        Attr::required("label", AttrType::String),
        Attr::optional("tags", AttrType::StringMap).default("{}"),
    ],
    outputs: &[],
    taggable: true,
    tier: Tier::Compute,
    price: Price::Free,
};

/// Answers every call at once with a fresh id.
#[derive(Default)]
struct Thing {
    next_id: AtomicU64,
}

#[async_trait]
impl ResourceKind for Thing {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, _cx: &StepCx, _desired: &Attrs, _tags: &Tags) -> KindResult<Live> {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        Ok(Live {
            attrs: None,
            id: format!("thing-{n:08x}"),
            outputs: Attrs::new(),
            identity: Default::default(),
        })
    }

    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        Ok(ids.iter().map(|_| None).collect())
    }

    async fn update(
        &self,
        _cx: &StepCx,
        live: &Live,
        _prior: &Attrs,
        _desired: &Attrs,
        _tags: &Tags,
    ) -> KindResult<Live> {
        Ok(live.clone())
    }

    async fn delete(&self, _cx: &StepCx, _live: &Live, _prior: &Attrs) -> KindResult<()> {
        Ok(())
    }
}

fn blueprint_text(resources: usize) -> String {
    let mut text = String::from("blueprint: scale\nregion: us-east-1\nresources:\n");
    for c in 0..resources / CELL {
        text.push_str(&format!(
            "  root{c}: {{ kind: bench.thing, label: root{c} }}\n  \
             leaf{c}: {{ kind: bench.thing, count: {}, parent: \"${{root{c}.id}}\", label: \"leaf{c}-${{count.index}}\" }}\n",
            CELL - 1
        ));
    }
    text
}

struct Measured {
    elapsed: Duration,
    saves: u64,
    bytes: u64,
}

/// Applies `resources` onto `state` (which the store already holds) and measures the run.
async fn apply(resources: usize, state: &mut State, store: &LocalStore) -> Measured {
    let mut registry = Registry::default();
    registry.register(Arc::new(Thing::default()));
    let text = blueprint_text(resources);
    let bp = blueprint::parse("scale.yaml", &text, &LoadOptions::default(), &registry)
        .unwrap_or_else(|e| panic!("{}", e.render()));
    let dag = Dag::build(&bp).expect("acyclic");
    let planned = plan::plan(&bp, &dag, state, &registry, &PlanOptions::default());
    let options = ApplyOptions {
        parallelism: PARALLELISM,
        display: ProgressMode::Plain,
    };
    let serial = state.serial;
    let started = Instant::now();
    let report = apply::execute(&planned, &bp, state, store, &registry, &options)
        .await
        .expect("apply");
    let elapsed = started.elapsed();
    assert!(report.succeeded(), "{:?}", report.failed);
    assert_eq!(state.resources.len(), resources, "every resource recorded");
    let bytes = std::fs::metadata(store.path()).expect("state file").len();
    Measured {
        elapsed,
        saves: state.serial - serial,
        bytes,
    }
}

fn fresh_store() -> (tempfile::TempDir, LocalStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = LocalStore::new(dir.path().join("state.json"));
    (dir, store)
}

async fn from_nothing(resources: usize) -> Measured {
    let (_dir, store) = fresh_store();
    let mut state = State::new("scale", "default");
    apply(resources, &mut state, &store).await
}

/// 100 resources added to an estate of 10,000 (the 10,000 applied first, not measured).
async fn added_to_large_estate() -> Measured {
    let (_dir, store) = fresh_store();
    let mut state = State::new("scale", "default");
    apply(10_000, &mut state, &store).await;
    apply(10_100, &mut state, &store).await
}

fn median(mut runs: Vec<Measured>) -> (Measured, Duration, Duration) {
    runs.sort_by_key(|m| m.elapsed);
    let min = runs[0].elapsed;
    let max = runs[runs.len() - 1].elapsed;
    (runs.swap_remove(runs.len() / 2), min, max)
}

fn row(what: &str, runs: Vec<Measured>) {
    let (m, min, max) = median(runs);
    println!(
        "| {what} | {} ms | {} ms | {} ms | {} | {:.1} MB |",
        m.elapsed.as_millis(),
        min.as_millis(),
        max.as_millis(),
        m.saves,
        m.bytes as f64 / 1e6
    );
}

/// `cargo bench --bench apply_scale -- [1000] [10000] [added]` runs the named rows only
/// (all by default); `BENCH_RUNS` sets the runs per row (default 3).
#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let wanted = |row: &str| args.is_empty() || args.iter().any(|a| a == row);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(RUNS);
    println!("| apply | median | min | max | state saves | final state file |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for resources in [1_000, 10_000] {
        if wanted(&resources.to_string()) {
            let mut measured = Vec::new();
            for _ in 0..runs {
                measured.push(from_nothing(resources).await);
            }
            row(&format!("{resources} from nothing"), measured);
        }
    }
    if wanted("added") {
        let mut measured = Vec::new();
        for _ in 0..runs {
            measured.push(added_to_large_estate().await);
        }
        row("100 added to 10,000", measured);
    }
}
