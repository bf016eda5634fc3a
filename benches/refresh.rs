//! Refresh at scale: AWS calls and wall time of reading 10, 100 and 1000 resources back from
//! the emulator. innovate reads each kind with one batched call (plus pages), so calls should
//! grow with kinds × pages, not with resources.
//!
//! Run: `cargo bench --bench refresh` (release profile; starts its own emulator, like the
//! tests). Prints a Markdown table for BENCHMARKS.md.

#[path = "../tests/common/emulator.rs"]
#[allow(dead_code)] // shared with the tests, which use all of it
mod emulator;

use innovate::apply::{self, ApplyOptions};
use innovate::aws::{registry, AwsContext};
use innovate::blueprint::{self, LoadOptions};
use innovate::graph::Dag;
use innovate::plan::{self, PlanOptions};
use innovate::refresh::refresh;
use innovate::state::{LocalStore, State};
use std::time::{Duration, Instant};

const RUNS: usize = 5;

/// `vpcs` VPCs, each with 5 subnets, 3 security groups and 1 route table: 10 resources
/// per VPC, 4 kinds in all.
fn blueprint(name: &str, vpcs: usize) -> String {
    let mut text = format!("blueprint: {name}\nregion: us-east-1\nresources:\n");
    for v in 0..vpcs {
        text.push_str(&format!(
            r#"
  vpc{v}: {{ kind: ec2.vpc, cidr_block: "10.{v}.0.0/16" }}
  subnet{v}:
    kind: ec2.subnet
    count: 5
    vpc_id: ${{vpc{v}.id}}
    cidr_block: "10.{v}.${{count.index}}.0/24"
  sg{v}:
    kind: ec2.security_group
    count: 3
    vpc_id: ${{vpc{v}.id}}
    description: bench
    ingress: [{{ protocol: tcp, from_port: 443, to_port: 443, cidr_blocks: ["0.0.0.0/0"] }}]
  rt{v}: {{ kind: ec2.route_table, vpc_id: "${{vpc{v}.id}}", subnet_ids: "${{subnet{v}[*].id}}" }}
"#
        ));
    }
    text
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    println!("| resources | kinds | AWS calls per refresh | median wall time | min | max |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for vpcs in [1, 10, 100] {
        let row = runtime.block_on(measure(vpcs));
        println!("{row}");
    }
}

async fn measure(vpcs: usize) -> String {
    let config = emulator::sdk_config().await;
    let aws = AwsContext::with_config(config);
    let registry = registry(aws.clone());
    let name = format!("bench{vpcs}");
    let bp = blueprint::parse(
        "bench.yaml",
        &blueprint(&name, vpcs),
        &LoadOptions::default(),
        &registry,
    )
    .unwrap_or_else(|e| panic!("{}", e.render()));
    let dag = Dag::build(&bp).expect("acyclic");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = LocalStore::new(dir.path().join("state.json"));
    let mut state = State::new(&name, "default");
    let planned = plan::plan(&bp, &dag, &state, &registry, &PlanOptions::default());
    let options = ApplyOptions {
        parallelism: 32,
        display: innovate::apply::ProgressMode::Plain,
    };
    let report = apply::execute(&planned, &bp, &mut state, &store, &registry, &options)
        .await
        .expect("apply");
    assert!(
        report.succeeded(),
        "the bench estate applies: {:?}",
        report.failed
    );

    let mut times = Vec::new();
    let mut calls = 0;
    for _ in 0..RUNS {
        let before = aws.calls();
        let started = Instant::now();
        let refreshed = refresh(&state, &registry).await.expect("refresh");
        times.push(started.elapsed());
        calls = aws.calls() - before;
        assert!(
            refreshed.drift.is_empty(),
            "nothing moved: {:?}",
            refreshed.drift
        );
    }
    times.sort();
    let kinds = 4;
    format!(
        "| {} | {kinds} | {calls} | {} | {} | {} |",
        state.resources.len(),
        ms(times[RUNS / 2]),
        ms(times[0]),
        ms(times[RUNS - 1])
    )
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
