//! Engine only: parse + validate, state load, graph and plan of generated blueprints of 1,000
//! and 10,000 resources whose state already matches (every step a no-op), with no AWS call.
//! Target (issue 8): 10,000 resources in under 1 s and under 200 MB.
//!
//! Run: `cargo bench --bench engine` (release profile). Prints Markdown tables for
//! BENCHMARKS.md. `cargo bench --bench engine -- 1000` runs one size only (for profiling).

use innovate::aws::{registry, AwsContext};
use innovate::blueprint::{self, Blueprint, LoadOptions};
use innovate::graph::Dag;
use innovate::kinds::{Registry, LINEAGE_TAG};
use innovate::plan::{self, desired_attrs, Action, PlanOptions};
use innovate::state::{ResourceState, State};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const RUNS: usize = 7;

/// Resources in one generated cell (see [`cell`]).
const CELL: usize = 20;

/// Counts live heap bytes and remembers their peak, so each run can report the most memory
/// the engine held at once (the process's max RSS also counts the allocator's slack and the
/// runtime, and never goes down between runs).
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        if !moved.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        moved
    }
}

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One VPC's worth of network, 20 resources with the references a real estate has: subnets
/// in the VPC, a NAT gateway in a public subnet on an elastic IP, route tables naming the
/// internet and NAT gateways and their subnets, and a chain of security groups whose rules
/// name each other by `${sg[i].id}` (lb -> app[0..3] -> db, cache).
fn cell(c: usize) -> String {
    // VPCs may overlap (they are not peered); subnets must fit their own VPC.
    let a = c % 256;
    format!(
        r#"
  vpc{c}:
    kind: ec2.vpc
    cidr_block: "10.{a}.0.0/16"
    enable_dns_hostnames: true
    tags: {{ Name: "cell{c}", cell: "{c}" }}
  public{c}:
    kind: ec2.subnet
    count: 3
    vpc_id: ${{vpc{c}.id}}
    cidr_block: "10.{a}.${{count.index}}.0/24"
    availability_zone: "us-east-1a"
    tags: {{ Name: "cell{c}-public-${{count.index}}", tier: public }}
  private{c}:
    kind: ec2.subnet
    count: 3
    vpc_id: ${{vpc{c}.id}}
    cidr_block: "10.{a}.1${{count.index}}.0/24"
    availability_zone: "us-east-1b"
    tags: {{ Name: "cell{c}-private-${{count.index}}", tier: private }}
  gw{c}: {{ kind: ec2.internet_gateway, vpc_id: "${{vpc{c}.id}}" }}
  nat_ip{c}: {{ kind: ec2.elastic_ip, tags: {{ Name: "cell{c}-nat" }} }}
  nat{c}:
    kind: ec2.nat_gateway
    subnet_id: ${{public{c}[0].id}}
    allocation_id: ${{nat_ip{c}.id}}
    depends_on: [gw{c}]
  public_routes{c}:
    kind: ec2.route_table
    vpc_id: ${{vpc{c}.id}}
    routes: [{{ destination_cidr_block: 0.0.0.0/0, gateway_id: "${{gw{c}.id}}" }}]
    subnet_ids: ${{public{c}[*].id}}
  private_routes{c}:
    kind: ec2.route_table
    count: 3
    vpc_id: ${{vpc{c}.id}}
    routes: [{{ destination_cidr_block: 0.0.0.0/0, nat_gateway_id: "${{nat{c}.id}}" }}]
    subnet_ids: ["${{private{c}[count.index].id}}"]
  lb{c}:
    kind: ec2.security_group
    vpc_id: ${{vpc{c}.id}}
    description: load balancer
    ingress: [{{ protocol: tcp, from_port: 443, to_port: 443, cidr_blocks: ["0.0.0.0/0"] }}]
  app{c}:
    kind: ec2.security_group
    count: 3
    vpc_id: ${{vpc{c}.id}}
    description: app tier
    ingress: [{{ protocol: tcp, from_port: 8080, to_port: 8080, security_groups: ["${{lb{c}.id}}"] }}]
  db{c}:
    kind: ec2.security_group
    vpc_id: ${{vpc{c}.id}}
    description: database
    ingress: [{{ protocol: tcp, from_port: 5432, to_port: 5432, security_groups: "${{app{c}[*].id}}" }}]
  cache{c}:
    kind: ec2.security_group
    vpc_id: ${{vpc{c}.id}}
    description: cache
    ingress:
      - {{ protocol: tcp, from_port: 6379, to_port: 6379, security_groups: ["${{app{c}[1].id}}", "${{app{c}[2].id}}"] }}
"#
    )
}

fn blueprint_text(resources: usize) -> String {
    let mut text = String::from("blueprint: engine\nregion: us-east-1\nresources:\n");
    for c in 0..resources / CELL {
        text.push_str(&cell(c));
    }
    text
}

/// A state that already matches the blueprint: each instance as the planner would resolve
/// it, with a made-up id, built in dependency order so references resolve to those ids.
fn matching_state(bp: &Blueprint, dag: &Dag, registry: &Registry) -> State {
    let mut state = State::new(&bp.name, &bp.env);
    for (n, address) in dag.topological().into_iter().enumerate() {
        let instance = bp
            .instance(address)
            .expect("DAG nodes come from the blueprint");
        let schema = registry.schema(&instance.kind).expect("known kind");
        let lookup = |a: &_, attr: &str| state.read(a, attr).expect("dependency first");
        let attrs = desired_attrs(instance, schema, &lookup);
        let resource = ResourceState {
            kind: instance.kind.clone(),
            id: format!("{}-{n:08x}", instance.kind.replace('.', "-")),
            attrs,
            outputs: Default::default(),
            depends_on: instance.depends_on.clone(),
            account: None,
            // As this build records it, so the no-op plan stays a no-op.
            owner: [(LINEAGE_TAG.to_string(), state.lineage.clone())].into(),
        };
        state.resources.insert(address.clone(), resource);
    }
    state
}

/// One run's phase times and the peak of live heap bytes above what the run started with.
struct Run {
    parse: Duration,
    state: Duration,
    graph: Duration,
    plan: Duration,
    peak: usize,
}

impl Run {
    fn total(&self) -> Duration {
        self.parse + self.state + self.graph + self.plan
    }
}

/// The engine's work for `innovate plan --refresh=false`: the blueprint text and the state
/// file's JSON are inputs, as they would be read from disk.
fn run_once(text: &str, state_json: &str, registry: &Registry) -> Run {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let started = Instant::now();
    let bp = blueprint::parse("engine.yaml", text, &LoadOptions::default(), registry)
        .unwrap_or_else(|e| panic!("{}", e.render()));
    let parsed = Instant::now();
    let state: State = serde_json::from_str(state_json).expect("state JSON");
    let loaded = Instant::now();
    let dag = Dag::build(&bp).expect("acyclic");
    let built = Instant::now();
    let planned = plan::plan(&bp, &dag, &state, registry, &PlanOptions::default());
    let done = Instant::now();
    assert!(
        planned.steps.iter().all(|s| s.action == Action::NoOp),
        "the state matches: {:?}",
        planned.steps.iter().find(|s| s.action != Action::NoOp)
    );
    Run {
        parse: parsed - started,
        state: loaded - parsed,
        graph: built - loaded,
        plan: done - built,
        peak: PEAK.load(Ordering::Relaxed) - base,
    }
}

fn main() {
    // Lazily built: without an AWS call the context never loads a configuration.
    let registry = registry(AwsContext::new(Some("us-east-1".into())));
    let sizes: Vec<usize> = match std::env::args().skip(1).find_map(|a| a.parse().ok()) {
        Some(size) => vec![size],
        None => vec![1_000, 10_000],
    };
    let mut rows = Vec::new();
    for resources in sizes {
        rows.push(measure(resources, &registry));
    }
    print_tables(&rows);
    println!("\nprocess max RSS: {}", max_rss());
}

struct Measured {
    resources: usize,
    edges: usize,
    text_bytes: usize,
    state_bytes: usize,
    runs: Vec<Run>,
}

fn measure(resources: usize, registry: &Registry) -> Measured {
    let text = blueprint_text(resources);
    let bp = blueprint::parse("engine.yaml", &text, &LoadOptions::default(), registry)
        .unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(bp.instances.len(), resources);
    let dag = Dag::build(&bp).expect("acyclic");
    let state_json = serde_json::to_string(&matching_state(&bp, &dag, registry)).expect("JSON");
    let edges = dag.edges().count();
    drop((bp, dag));
    let runs = (0..RUNS)
        .map(|_| run_once(&text, &state_json, registry))
        .collect();
    Measured {
        resources,
        edges,
        text_bytes: text.len(),
        state_bytes: state_json.len(),
        runs,
    }
}

fn print_tables(rows: &[Measured]) {
    println!("| resources | edges | blueprint | state file | parse + validate | state load | graph | plan | total (median) | total min | total max | peak heap |");
    println!(
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for m in rows {
        let median = |f: &dyn Fn(&Run) -> Duration| {
            let mut times: Vec<Duration> = m.runs.iter().map(f).collect();
            times.sort();
            times
        };
        let totals = median(&|r| r.total());
        let peak = m.runs.iter().map(|r| r.peak).max().unwrap_or(0);
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | **{}** | {} | {} | {} |",
            m.resources,
            m.edges,
            mb(m.text_bytes),
            mb(m.state_bytes),
            ms(median(&|r| r.parse)[RUNS / 2]),
            ms(median(&|r| r.state)[RUNS / 2]),
            ms(median(&|r| r.graph)[RUNS / 2]),
            ms(median(&|r| r.plan)[RUNS / 2]),
            ms(totals[RUNS / 2]),
            ms(totals[0]),
            ms(totals[RUNS - 1]),
            mb(peak),
        );
    }
}

/// The process's high-water mark of resident memory (Linux: VmHWM), for the record.
fn max_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn mb(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
