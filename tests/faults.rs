//! AWS misbehaving: throttling, server errors, lost responses and permanent errors, injected
//! by a proxy (localstack/faultproxy.py) between the real binary and the real emulator.
//! Afterwards `drift` (against the emulator directly) proves what AWS holds: it exits 2 for
//! any resource tagged with the blueprint that the state does not know, so a duplicate or an
//! orphan cannot hide.

mod common;

use common::cli::{Run, Workspace};
use common::faultproxy::FaultProxy;
use std::sync::Mutex;

/// `innovate ARGS...` through `proxy`.
fn through(ws: &Workspace, proxy: &FaultProxy, args: &[&str]) -> Run {
    ws.run_with_env(args, &[("AWS_ENDPOINT_URL", proxy.endpoint.as_str())])
}

/// Several VPCs' worth of network: about a hundred mutating calls, most of them creates
/// without an idempotency token (CreateVpc, CreateSubnet, AllocateAddress, ...).
fn wide_network(name: &str, second_octet: u8) -> String {
    format!(
        r#"blueprint: {name}
region: us-east-1
variables:
  azs: [us-east-1a, us-east-1b, us-east-1c]
  vpc_of: [0, 1, 2, 0, 1, 2, 0, 1, 2]   # what element(main[*].id, i) picks
resources:
  main:
    kind: ec2.vpc
    count: 3
    cidr_block: "10.{second_octet}${{count.index}}.0.0/16"
  net:
    kind: ec2.subnet
    count: 9
    vpc_id: ${{element(main[*].id, count.index)}}
    cidr_block: "10.{second_octet}${{var.vpc_of[count.index]}}.${{count.index}}.0/24"
    availability_zone: ${{element(var.azs, count.index)}}
  gw: {{ kind: ec2.internet_gateway, count: 3, vpc_id: "${{main[count.index].id}}" }}
  ip: {{ kind: ec2.elastic_ip, count: 4 }}
  web:
    kind: ec2.security_group
    count: 3
    vpc_id: ${{main[count.index].id}}
    description: web
    ingress:
      - {{ protocol: tcp, from_port: 443, to_port: 443, cidr_blocks: ["0.0.0.0/0"] }}
      - {{ protocol: tcp, from_port: 80, to_port: 80, cidr_blocks: ["0.0.0.0/0"] }}
  routes:
    kind: ec2.route_table
    count: 3
    vpc_id: ${{main[count.index].id}}
    routes: [{{ destination_cidr_block: 0.0.0.0/0, gateway_id: "${{gw[count.index].id}}" }}]
"#
    )
}

fn assert_no_drift_and_no_strays(ws: &Workspace, bp: &str) {
    let drift = ws.run(&["drift", bp]);
    assert_eq!(
        drift.code(),
        0,
        "AWS holds exactly what the state records:\n{}\n{}",
        drift.stdout(),
        drift.stderr()
    );
}

#[test]
fn lost_responses_leave_exactly_one_resource_per_address() {
    let ws = Workspace::new();
    let bp = ws.write_blueprint(&wide_network("lost", 1));
    let bp = bp.to_str().unwrap();
    let proxy = FaultProxy::start(&["--lost", "0.05", "--spread"]);

    let applied = through(&ws, &proxy, &["apply", bp, "--auto-approve"]);
    assert_eq!(applied.code(), 0, "{}", applied.stderr());
    assert!(
        proxy.injected("lost") > 0,
        "the proxy lost answers: {}",
        proxy.stats()
    );
    assert_no_drift_and_no_strays(&ws, bp);
    ws.run(&["plan", bp, "--detailed-exitcode"]).expect(0);
    ws.run(&["destroy", bp, "--auto-approve"]).expect(0);
}

#[test]
fn connection_resets_and_slow_answers_are_ridden_out() {
    let ws = Workspace::new();
    let bp = ws.write_blueprint(&wide_network("bumpy", 2));
    let bp = bp.to_str().unwrap();
    let faults = [
        "--reset",
        "0.05",
        "--slow",
        "0.05",
        "--slow-ms",
        "300",
        "--spread",
    ];
    let proxy = FaultProxy::start(&faults);

    let applied = through(&ws, &proxy, &["apply", bp, "--auto-approve"]);
    assert_eq!(applied.code(), 0, "{}", applied.stderr());
    assert!(proxy.injected("reset") > 0, "{}", proxy.stats());
    assert!(proxy.injected("slow") > 0, "{}", proxy.stats());
    assert_no_drift_and_no_strays(&ws, bp);
    let destroyed = through(&ws, &proxy, &["destroy", bp, "--auto-approve"]);
    assert_eq!(destroyed.code(), 0, "{}", destroyed.stderr());
}

#[test]
fn a_permanent_error_fails_fast_with_aws_message_and_no_retries() {
    let ws = Workspace::new();
    let bp = ws.write_blueprint("blueprint: permanent\nregion: us-east-1\nresources:\n  main: { kind: ec2.vpc, cidr_block: 10.3.0.0/16 }\n  net: { kind: ec2.subnet, vpc_id: \"${main.id}\", cidr_block: 10.3.1.0/24 }\n");
    let bp = bp.to_str().unwrap();
    let proxy = FaultProxy::start(&["--fail", "CreateSubnet=InvalidParameterValue"]);

    let applied = through(&ws, &proxy, &["apply", bp, "--auto-approve"]);
    assert_eq!(applied.code(), 1);
    let err = applied.stderr();
    assert!(
        err.contains("net: creating failed: ec2:CreateSubnet failed: InvalidParameterValue: injected permanent error InvalidParameterValue"),
        "{err}"
    );
    assert_eq!(
        proxy.requests("CreateSubnet"),
        1,
        "no retry of a permanent error"
    );
    ws.run(&["destroy", bp, "--auto-approve"]).expect(0);
}

/// The customer's dev estate has fixed names (roles, cluster, database): one at a time.
static ONE_ESTATE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A copy of plans/innovate.yaml in the workspace, its names (`innovate-${env}-...`) made
/// this test's own with `prefix`: IAM role names are account-wide, and a name another test's
/// estate holds is a conflict, never adopted.
fn dev_estate(ws: &Workspace, prefix: &str) -> String {
    let bp = ws.path().join("innovate.yaml");
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/plans/innovate.yaml");
    let text = std::fs::read_to_string(source).unwrap();
    assert!(text.contains("innovate-${env}"));
    let text = text.replace("innovate-${env}", &format!("{prefix}-${{env}}"));
    std::fs::write(&bp, text).unwrap();
    bp.to_str().unwrap().to_string()
}

/// Applies the dev estate through `proxy`, proves AWS holds exactly what the state records,
/// and destroys it through the proxy too.
fn apply_check_and_destroy_dev(proxy: &FaultProxy, prefix: &str) {
    let ws = Workspace::new();
    let bp = dev_estate(&ws, prefix);
    let dev = vec!["--env", "dev"];
    let approved = [&dev[..], &["--auto-approve"]].concat();
    let applied = through(
        &ws,
        proxy,
        &[&["apply", bp.as_str()][..], &approved].concat(),
    );
    assert_eq!(applied.code(), 0, "{}", applied.stderr());
    let drift = ws.run(&[&["drift", bp.as_str()][..], &dev].concat());
    assert_eq!(drift.code(), 0, "{}\n{}", drift.stdout(), drift.stderr());
    let destroyed = through(
        &ws,
        proxy,
        &[&["destroy", bp.as_str()][..], &approved].concat(),
    );
    assert_eq!(destroyed.code(), 0, "{}", destroyed.stderr());
}

/// The customer's whole dev estate (EKS, RDS, IAM, the network) through a proxy that fails
/// a quarter of all calls.
#[test]
fn the_dev_estate_applies_through_throttling_and_server_errors() {
    let _one = ONE_ESTATE_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let proxy = FaultProxy::start(&["--throttle", "0.2", "--server-error", "0.05", "--spread"]);
    apply_check_and_destroy_dev(&proxy, "fthrottle");
    assert!(proxy.injected("throttle") > 20, "{}", proxy.stats());
    assert!(proxy.injected("server_error") > 5, "{}", proxy.stats());
}

/// Every twentieth mutating call of the whole dev estate does its work in AWS and loses its
/// answer: creates without idempotency tokens are retried by the SDK, name-keyed creates
/// meet their own earlier attempt. One resource per address all the same.
#[test]
fn the_dev_estate_applies_through_lost_responses_with_one_resource_per_address() {
    let _one = ONE_ESTATE_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let proxy = FaultProxy::start(&["--lost", "0.05", "--spread"]);
    apply_check_and_destroy_dev(&proxy, "flost");
    assert!(proxy.injected("lost") >= 5, "{}", proxy.stats());
}

/// The helpers' own guard: a script that exits instead of listening fails the test at once,
/// naming the script and showing what it wrote to stderr (kept in a log file), instead of
/// hanging on a line that never comes.
#[test]
fn a_script_that_does_not_start_fails_with_its_stderr() {
    let failed = std::panic::catch_unwind(|| {
        common::emulator::spawn_listening("faultproxy.py", &["--no-such-flag"])
    });
    let message = match failed {
        Ok((mut child, endpoint)) => {
            let _ = child.kill();
            panic!("a proxy with an unknown flag started at {endpoint}")
        }
        Err(panic) => panic.downcast_ref::<String>().cloned().unwrap_or_default(),
    };
    assert!(
        message.contains("localstack/faultproxy.py did not start: it exited before listening"),
        "{message}"
    );
    assert!(
        message.contains("the following arguments are required: --target"),
        "the stderr tail is shown: {message}"
    );
    assert!(message.contains("emulator-logs/"), "{message}");
}

/// The start timeout: a script that is still silent when it runs out (here the emulator,
/// given 1 ms to import moto) is stopped and the test fails naming the script and the
/// timeout, instead of waiting for ever.
#[test]
fn a_script_silent_past_its_start_timeout_is_stopped_and_named() {
    let started = std::time::Instant::now();
    let failed = std::panic::catch_unwind(|| {
        common::emulator::spawn_listening_within(
            "serve.py",
            &["--port", "0"],
            std::time::Duration::from_millis(1),
        )
    });
    let message = match failed {
        Ok((mut child, endpoint)) => {
            let _ = child.kill();
            panic!("the emulator listened at {endpoint} within 1 ms")
        }
        Err(panic) => panic.downcast_ref::<String>().cloned().unwrap_or_default(),
    };
    assert!(
        message.contains("localstack/serve.py did not start: no `listening` line within 1ms"),
        "{message}"
    );
    assert!(
        message.contains("the last lines of its stderr"),
        "{message}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "it did not wait for the emulator: {:?}",
        started.elapsed()
    );
}
