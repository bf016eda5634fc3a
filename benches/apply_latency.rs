//! Apply against AWS-like latencies: the Innovate estate (plans/innovate.yaml, dev) applied
//! through localstack/faultproxy.py, which delays every call by its action's latency in
//! [`LATENCIES`], and compared with the critical-path lower bound of its DAG.
//!
//! The bound: every resource's create makes a fixed sequence of calls, and none of them can
//! start before everything the resource references exists. So no apply can finish before the
//! longest DAG path whose node weight is the sum of the injected latencies of that resource's
//! calls. The calls of each resource are measured, not guessed: a calibration pass applies
//! the estate one resource at a time (in dependency order, `--target`-style) through a
//! proxy without latencies and reads the proxy's per-action request counts after each one.
//!
//! Run: `cargo bench --bench apply_latency` (release profile; starts its own emulator and
//! two proxies). Prints Markdown for BENCHMARKS.md.

#[path = "../tests/common/emulator.rs"]
#[allow(dead_code)] // shared with the tests, which use all of it
mod emulator;
#[path = "../tests/common/faultproxy.rs"]
#[allow(dead_code)]
mod faultproxy;
#[allow(dead_code)] // each bench uses part of it
mod support;

use faultproxy::FaultProxy;
use innovate::address::Address;
use innovate::apply::ApplyReport;
use innovate::plan::PlanOptions;
use innovate::state::State;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use support::{ms, spread, Estate};

const RUNS: usize = 3;

/// Milliseconds per call, AWS's durations scaled down about a hundredfold for the long ones.
/// The emulator answers "ACTIVE"/"available" at once, so a kind's wait is one describe: the
/// time AWS spends bringing a cluster (~10 min), a DB instance (~5-10 min), a node group
/// (~3-5 min), an add-on (~1 min) or a NAT gateway (~1-2 min) up is put on its create call.
/// Everything else (describes, tags, small creates) costs 30 ms, a typical AWS round trip.
const LATENCIES: &[(&str, u64)] = &[
    ("*", 30),
    ("POST /clusters", 6000),               // eks CreateCluster, then ACTIVE
    ("POST /clusters/*/node-groups", 3000), // eks CreateNodegroup, then ACTIVE
    ("POST /clusters/*/addons", 1000),      // eks CreateAddon, then ACTIVE
    ("CreateDBInstance", 5000),             // rds, then available
    ("CreateNatGateway", 1500),             // ec2, then available
];

fn latency(action: &str) -> u64 {
    let of = |name: &str| {
        LATENCIES
            .iter()
            .find(|(a, _)| *a == name)
            .map(|(_, ms)| *ms)
    };
    of(action).or_else(|| of("*")).unwrap_or(0)
}

/// Per-action request counts the proxy has seen so far.
fn requests(proxy: &FaultProxy) -> HashMap<String, u64> {
    per_action(proxy, "requests")
}

/// One of the proxy's per-action figures (`requests`, `upstream_ms`), so far.
fn per_action(proxy: &FaultProxy, figure: &str) -> HashMap<String, u64> {
    let stats = proxy.stats();
    let counts = stats[figure].as_object().expect("per-action stats").iter();
    counts
        .map(|(action, n)| (action.clone(), n.as_f64().unwrap_or(0.0) as u64))
        .collect()
}

/// The mean time the emulator itself took to answer each action between two snapshots of
/// the proxy's figures (the injected delay not included).
fn emulator_means(
    before: &(HashMap<String, u64>, HashMap<String, u64>),
    after: &(HashMap<String, u64>, HashMap<String, u64>),
) -> HashMap<String, u64> {
    let delta = |a: &HashMap<String, u64>, b: &HashMap<String, u64>, k: &str| {
        a.get(k).copied().unwrap_or(0) - b.get(k).copied().unwrap_or(0)
    };
    after
        .0
        .keys()
        .filter_map(|action| {
            let n = delta(&after.0, &before.0, action);
            let ms = delta(&after.1, &before.1, action);
            (n > 0).then(|| (action.clone(), ms / n))
        })
        .collect()
}

fn snapshot(proxy: &FaultProxy) -> (HashMap<String, u64>, HashMap<String, u64>) {
    (requests(proxy), per_action(proxy, "upstream_ms"))
}

/// Node weights from each resource's calls, each call costing `cost(action)`.
fn weights(
    calls: &BTreeMap<Address, Vec<(String, u64)>>,
    cost: impl Fn(&str) -> u64,
) -> HashMap<Address, u64> {
    calls
        .iter()
        .map(|(a, made)| (a.clone(), made.iter().map(|(c, n)| n * cost(c)).sum()))
        .collect()
}

/// The calls each resource's create makes: the estate applied one resource at a time, in
/// dependency order, each one's calls read off the proxy. Destroys what it built.
async fn calibrate(estate: &Estate, proxy: &FaultProxy) -> BTreeMap<Address, Vec<(String, u64)>> {
    let mut state = State::new(&estate.blueprint.name, &estate.blueprint.env);
    let mut calls = BTreeMap::new();
    let order: Vec<Address> = estate.dag.topological().into_iter().cloned().collect();
    for address in order {
        let before = requests(proxy);
        let options = PlanOptions {
            targets: vec![address.clone()],
            destroy: false,
        };
        let plan = estate.plan(&state, &options);
        estate.execute(&plan, &mut state).await;
        let after = requests(proxy);
        let mut made: Vec<(String, u64)> = after
            .into_iter()
            .map(|(action, n)| {
                let earlier = before.get(&action).copied().unwrap_or(0);
                (action, n - earlier)
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        made.sort();
        calls.insert(address, made);
    }
    estate.destroy(state).await;
    calls
}

/// The longest path through the DAG where a node weighs the injected latency of its calls,
/// with the path itself (for the record).
fn critical_path(estate: &Estate, weight: &HashMap<Address, u64>) -> (u64, Vec<Address>) {
    let mut dependencies: HashMap<&Address, Vec<&Address>> = HashMap::new();
    for (from, to) in estate.dag.edges() {
        dependencies.entry(to).or_default().push(from);
    }
    // finish[a]: the earliest a can be done, and the dependency that holds it up.
    let mut finish: HashMap<&Address, (u64, Option<&Address>)> = HashMap::new();
    for address in estate.dag.topological() {
        let deps = dependencies.get(address).map(Vec::as_slice).unwrap_or(&[]);
        let latest = deps.iter().map(|d| (finish[d].0, Some(*d))).max();
        let (start, via) = latest.unwrap_or((0, None));
        finish.insert(address, (start + weight[address], via));
    }
    let (end, &(bound, _)) = finish
        .iter()
        .max_by_key(|(_, (t, _))| *t)
        .expect("a non-empty estate");
    let mut path = vec![(*end).clone()];
    let mut current = finish[end].1;
    while let Some(address) = current {
        path.push(address.clone());
        current = finish[address].1;
    }
    path.reverse();
    (bound, path)
}

/// Operations that took noticeably longer than their calls' latencies: where the time above
/// the bound goes.
fn slower_than_modelled(report: &ApplyReport, weight: &HashMap<Address, u64>) {
    for (address, _, took) in &report.completed {
        let modelled = Duration::from_millis(weight[address]);
        if *took > modelled + Duration::from_millis(100) {
            eprintln!("SLOW {address}: {} (modelled {})", ms(*took), ms(modelled));
        }
    }
}

fn write_latency_file(dir: &std::path::Path) -> String {
    let table: serde_json::Map<String, serde_json::Value> = LATENCIES
        .iter()
        .map(|(action, ms)| (action.to_string(), (*ms).into()))
        .collect();
    let path = dir.join("latency.json");
    std::fs::write(&path, serde_json::to_string(&table).unwrap()).expect("latency file");
    path.to_str().expect("UTF-8 path").to_string()
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let counting = FaultProxy::start(&[]);
    let slow = FaultProxy::start(&["--latency", &write_latency_file(dir.path())]);
    runtime.block_on(async {
        let calibration = Estate::at(&counting.endpoint).await;
        let calls = calibrate(&calibration, &counting).await;
        let weight = weights(&calls, latency);
        let (bound, path) = critical_path(&calibration, &weight);

        let estate = Estate::at(&slow.endpoint).await;
        let mut times = Vec::new();
        let mut calls_per_run = Vec::new();
        let mut observed = Vec::new();
        for _ in 0..RUNS {
            let before = estate.aws.calls();
            let emulator_before = snapshot(&slow);
            let started = Instant::now();
            let (state, applied) = estate.apply().await;
            let took = started.elapsed();
            times.push(took);
            slower_than_modelled(&applied, &weight);
            calls_per_run.push(estate.aws.calls() - before);
            // The bound again, each call also costing what the emulator took for its action
            // in this run: the part of the overshoot that is innovate's own.
            let means = emulator_means(&emulator_before, &snapshot(&slow));
            eprintln!("emulator mean ms per action: {means:?}");
            let served = weights(&calls, |c| latency(c) + means.get(c).copied().unwrap_or(0));
            let (served_bound, _) = critical_path(&calibration, &served);
            observed.push((served_bound, took));
            // Torn down without latencies: only the apply is measured.
            calibration.destroy(state).await;
        }
        report(&calls, &weight, bound, &path, times, &calls_per_run);
        report_observed(&observed);
    });
}

fn report(
    calls: &BTreeMap<Address, Vec<(String, u64)>>,
    weight: &HashMap<Address, u64>,
    bound: u64,
    path: &[Address],
    times: Vec<Duration>,
    calls_per_run: &[usize],
) {
    let calibrated: u64 = calls.values().flatten().map(|(_, n)| n).sum();
    println!("critical path (bound {bound} ms):");
    for address in path {
        let made: Vec<String> = calls[address]
            .iter()
            .map(|(c, n)| format!("{c}×{n}"))
            .collect();
        println!("- {address}: {} ms ({})", weight[address], made.join(", "));
    }
    let bound = Duration::from_millis(bound);
    let (median, min, max) = spread(times);
    let ratio = |d: Duration| d.as_secs_f64() / bound.as_secs_f64();
    println!("\n| resources | AWS calls (calibrated / per run) | bound | median apply | min | max | median / bound |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {} | {calibrated} / {calls_per_run:?} | {} | {} | {} | {} | **{:.3}** (min {:.3}, max {:.3}) |",
        calls.len(),
        ms(bound),
        ms(median),
        ms(min),
        ms(max),
        ratio(median),
        ratio(min),
        ratio(max),
    );
}

/// Measured apply time against the bound that also counts the emulator's own answer times
/// (per action, this run's mean): what remains above 1 is innovate's scheduling, waits and
/// overhead, not the Python emulator's.
fn report_observed(runs: &[(u64, Duration)]) {
    let mut ratios: Vec<(f64, u64)> = runs
        .iter()
        .map(|(bound, took)| (took.as_secs_f64() * 1000.0 / *bound as f64, *bound))
        .collect();
    ratios.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (median, bound) = ratios[ratios.len() / 2];
    println!("\n| bound with the emulator's answer times (median run) | median / that bound | min | max |");
    println!("| ---: | ---: | ---: | ---: |");
    println!(
        "| {bound} ms | **{median:.3}** | {:.3} | {:.3} |",
        ratios[0].0,
        ratios[ratios.len() - 1].0
    );
}
