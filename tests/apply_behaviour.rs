//! How apply behaves around the happy path: partial failure, the state lock, saved plans,
//! confirmation, count changes. Real binary, real emulator.

mod common;

use common::cli::Workspace;
use serde_json::json;
use std::io::Read;
use std::net::TcpListener;

fn read_state(ws: &Workspace, file: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(ws.state_file(file)).expect("state file"))
        .expect("state JSON")
}

/// A run that died inside CreateVpc completed nothing: the state holds no resource, only
/// the intent recorded before the call, for the next run to settle.
fn assert_only_pending_main(state: &serde_json::Value) {
    assert!(addresses(state).is_empty(), "{state:#}");
    let pending: Vec<&str> = state["pending"]
        .as_array()
        .expect("the create's intent")
        .iter()
        .map(|p| p["address"].as_str().unwrap())
        .collect();
    assert_eq!(pending, ["main"], "{state:#}");
}

fn addresses(state: &serde_json::Value) -> Vec<String> {
    state["resources"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[test]
fn a_failed_step_skips_its_dependents_and_keeps_everything_else() {
    let ws = Workspace::new();
    // 10.99.0.0/24 is a valid CIDR but outside the VPC: only AWS can say no.
    let bp = ws.write_blueprint(
        r#"
blueprint: partial
region: us-east-1
resources:
  main: { kind: ec2.vpc, cidr_block: 10.30.0.0/16 }
  bad: { kind: ec2.subnet, vpc_id: "${main.id}", cidr_block: 10.99.0.0/24 }
  routes: { kind: ec2.route_table, vpc_id: "${main.id}", subnet_ids: ["${bad.id}"] }
  sg: { kind: ec2.security_group, vpc_id: "${main.id}", description: independent }
"#,
    );
    let run = ws
        .run(&["apply", bp.to_str().unwrap(), "--auto-approve", "-v"])
        .expect(1);
    let err = run.stderr();
    assert!(
        err.contains("bad: creating failed: ec2:CreateSubnet failed: InvalidSubnet.Range"),
        "{err}"
    );
    let summary_line = err
        .lines()
        .find(|l| l.starts_with("  bad: creating failed:"))
        .unwrap();
    let request_id = summary_line
        .split_once("(request id ")
        .map(|(_, id)| id.trim_end_matches(')'))
        .unwrap_or_else(|| panic!("no request id in the summary line: {summary_line}"));
    assert!(
        err.lines().any(|l| l.contains("AWS call failed")
            && l.contains("ec2:CreateSubnet")
            && l.contains(&format!("request_id=\"{request_id}\""))),
        "-v logs the failed call with its request id: {err}"
    );
    assert!(
        err.contains("skipped because a dependency failed: routes"),
        "{err}"
    );
    assert!(err.contains("2 added"), "{err}");
    let table = run.stdout();
    assert!(
        table.contains("ADDRESS  ACTION  DURATION  RESULT\n")
            && table.contains("routes   create         -  skipped (a dependency failed)\n"),
        "the table lists every step, the failed and skipped ones included: {table}"
    );
    let state = read_state(&ws, "partial-default.json");
    assert_eq!(
        addresses(&state),
        ["main", "sg"],
        "what completed is recorded, nothing else"
    );

    // Fixing the blueprint finishes the job from where it stopped.
    std::fs::write(
        &bp,
        std::fs::read_to_string(&bp)
            .unwrap()
            .replace("10.99.0.0/24", "10.30.1.0/24"),
    )
    .unwrap();
    let run = ws
        .run(&["apply", bp.to_str().unwrap(), "--auto-approve"])
        .expect(0);
    assert!(
        run.stdout().contains("2 added, 0 changed, 0 destroyed"),
        "{}",
        run.stdout()
    );
    ws.run(&["destroy", bp.to_str().unwrap(), "--auto-approve"])
        .expect(0);
}

#[test]
fn a_second_apply_on_the_same_state_is_refused_while_the_first_runs() {
    let ws = Workspace::new();
    let bp = ws.write_blueprint("blueprint: locked\nregion: us-east-1\nresources:\n  main: { kind: ec2.vpc, cidr_block: 10.40.0.0/16 }\n");
    let bp = bp.to_str().unwrap();
    // An endpoint that accepts and never answers keeps the first apply inside CreateVpc.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    // --refresh=false: no reads while planning, so the first call is CreateVpc.
    let mut first = ws.command(&["apply", bp, "--auto-approve", "--refresh=false"]);
    first
        .env("AWS_ENDPOINT_URL", &endpoint)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut first = first.spawn().unwrap();
    let (_connection, _) = silent
        .accept()
        .expect("the first apply calls AWS, holding the lock");

    let second = ws.run(&["apply", bp, "--auto-approve"]).expect(1);
    let err = second.stderr();
    assert!(err.contains("is locked by"), "{err}");
    assert!(
        err.contains(&format!("pid {}", first.id())),
        "names the holder: {err}"
    );
    assert!(err.contains("since"), "{err}");

    first.kill().unwrap();
    first.wait().unwrap();
    assert_only_pending_main(&read_state(&ws, "locked-default.json"));
    // The kernel released the dead holder's lock: the next apply proceeds.
    ws.run(&["apply", bp, "--auto-approve"]).expect(0);
    ws.run(&["destroy", bp, "--auto-approve"]).expect(0);
}

#[test]
fn a_saved_plan_applies_exactly_once_and_is_refused_when_stale() {
    let ws = Workspace::new();
    let bp = ws.write_blueprint("blueprint: saved\nregion: us-east-1\nresources:\n  main: { kind: ec2.vpc, cidr_block: 10.50.0.0/16 }\n");
    let bp = bp.to_str().unwrap();
    let plan_file = ws.path().join("saved.plan");
    let planned = ws
        .run(&[
            "plan",
            bp,
            "--out",
            plan_file.to_str().unwrap(),
            "--detailed-exitcode",
        ])
        .expect(2);
    assert!(
        planned.stdout().contains("Plan: 1 to add"),
        "{}",
        planned.stdout()
    );

    // The blueprint changes after the plan was saved: the plan still does what it showed.
    std::fs::write(bp, "blueprint: saved\nregion: us-east-1\nresources:\n  other: { kind: ec2.vpc, cidr_block: 10.51.0.0/16 }\n").unwrap();
    ws.run(&["apply", plan_file.to_str().unwrap(), "--auto-approve"])
        .expect(0);
    let state = read_state(&ws, "saved-default.json");
    assert_eq!(addresses(&state), ["main"]);
    assert_eq!(
        state["resources"]["main"]["attrs"]["cidr_block"],
        "10.50.0.0/16"
    );

    let again = ws
        .run(&["apply", plan_file.to_str().unwrap(), "--auto-approve"])
        .expect(1);
    assert!(
        again.stderr().contains("the saved plan is stale"),
        "{}",
        again.stderr()
    );
    assert_eq!(
        read_state(&ws, "saved-default.json"),
        state,
        "a refused plan changes nothing"
    );
    ws.run(&["destroy", bp, "--auto-approve"]).expect(0);
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    let ws = Workspace::new();
    let bp = ws.write_blueprint("blueprint: confirm\nregion: us-east-1\nresources:\n  main: { kind: ec2.vpc, cidr_block: 10.60.0.0/16 }\n");
    let run = ws.run(&["apply", bp.to_str().unwrap()]).expect(1);
    assert!(
        run.stderr().contains("stdin is not a terminal"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("--auto-approve"), "{}", run.stderr());
    assert!(!ws.state_file("confirm-default.json").exists());
}

#[test]
fn shrinking_count_deletes_the_last_instances_and_targets_limit_the_plan() {
    let ws = Workspace::new();
    let blueprint = |n: usize| {
        format!(
            "blueprint: shrink\nregion: us-east-1\nvariables: {{ n: {n} }}\nresources:\n  main: {{ kind: ec2.vpc, cidr_block: 10.70.0.0/16 }}\n  \
             net:\n    kind: ec2.subnet\n    count: ${{var.n}}\n    vpc_id: ${{main.id}}\n    cidr_block: \"10.70.${{count.index}}.0/24\"\n  \
             sg: {{ kind: ec2.security_group, vpc_id: \"${{main.id}}\", description: x }}\n"
        )
    };
    let bp = ws.write_blueprint(&blueprint(3));
    let bp = bp.to_str().unwrap();

    // --target: only the VPC and the first subnet.
    let targeted = ws
        .run(&["apply", bp, "--auto-approve", "--target", "net[0]"])
        .expect(0);
    assert!(
        targeted.stdout().contains("2 added"),
        "{}",
        targeted.stdout()
    );
    assert_eq!(
        addresses(&read_state(&ws, "shrink-default.json")),
        ["main", "net[0]"]
    );

    ws.run(&["apply", bp, "--auto-approve"]).expect(0);
    ws.write_blueprint(&blueprint(1));
    let plan = ws.run(&["plan", bp, "--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout()
            .contains("  - net[2] (ec2.subnet) will be destroyed"),
        "{}",
        plan.stdout()
    );
    assert!(
        plan.stdout()
            .contains("Plan: 0 to add, 0 to change, 2 to destroy."),
        "{}",
        plan.stdout()
    );
    let json = ws.run(&["plan", bp, "--json"]).expect(0);
    let json: serde_json::Value = serde_json::from_str(&json.stdout()).unwrap();
    assert_eq!(json["summary"]["destroy"], 2);
    let deleted: Vec<&str> = json["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "delete")
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    assert_eq!(deleted.len(), 2);
    assert!(deleted.contains(&"net[1]") && deleted.contains(&"net[2]"));

    ws.run(&["apply", bp, "--auto-approve"]).expect(0);
    assert_eq!(
        addresses(&read_state(&ws, "shrink-default.json")),
        ["main", "net[0]", "sg"]
    );
    ws.run(&["destroy", bp, "--auto-approve"]).expect(0);
    let mut text = String::new();
    std::fs::File::open(ws.state_file("shrink-default.json"))
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(addresses(&serde_json::from_str(&text).unwrap()).is_empty());
}

/// Starts an apply that hangs inside its first AWS call (an endpoint that never answers).
fn hanging_apply(ws: &Workspace, name: &str, grace: &str) -> (std::process::Child, TcpListener) {
    hanging_apply_with(ws, name, grace, &[])
}

/// As [`hanging_apply`], with more flags for `apply`; stdout is piped when they are given.
fn hanging_apply_with(
    ws: &Workspace,
    name: &str,
    grace: &str,
    flags: &[&str],
) -> (std::process::Child, TcpListener) {
    let bp = ws.write_blueprint(&format!("blueprint: {name}\nregion: us-east-1\nresources:\n  main: {{ kind: ec2.vpc, cidr_block: 10.80.0.0/16 }}\n"));
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    // --refresh=false: no reads while planning, so the first call is CreateVpc.
    let mut args = vec![
        "apply",
        bp.to_str().unwrap(),
        "--auto-approve",
        "--refresh=false",
    ];
    args.extend_from_slice(flags);
    let mut command = ws.command(&args);
    let stdout = if flags.is_empty() {
        std::process::Stdio::null()
    } else {
        std::process::Stdio::piped()
    };
    command
        .env(
            "AWS_ENDPOINT_URL",
            format!("http://{}", silent.local_addr().unwrap()),
        )
        .env("INNOVATE_INTERRUPT_GRACE", grace)
        .stdout(stdout)
        .stderr(std::process::Stdio::piped());
    (command.spawn().unwrap(), silent)
}

fn signal(child: &std::process::Child, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn an_interrupt_stops_the_apply_with_exit_130_and_releases_the_lock() {
    let ws = Workspace::new();
    let (child, silent) = hanging_apply(&ws, "interrupted", "1");
    let (_connection, _) = silent.accept().expect("the apply is inside CreateVpc");
    signal(&child, "INT");
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("Interrupted: starting nothing new"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "still in flight when the grace period ended, outcome unknown: main (creating)"
        ),
        "{stderr}"
    );
    assert_only_pending_main(&read_state(&ws, "interrupted-default.json"));
    // The lock went with the process: the next apply runs.
    let bp = ws.path().join("blueprint.yaml");
    ws.run(&["apply", bp.to_str().unwrap(), "--auto-approve"])
        .expect(0);
    ws.run(&["destroy", bp.to_str().unwrap(), "--auto-approve"])
        .expect(0);
}

#[test]
fn a_second_interrupt_exits_at_once_with_state_consistent_and_the_json_summary_last() {
    let ws = Workspace::new();
    // A grace period far longer than any test: only the second signal can end this run.
    let (mut child, silent) = hanging_apply_with(&ws, "twice", "3600", &["--json"]);
    let (_connection, _) = silent.accept().expect("the apply is inside CreateVpc");
    signal(&child, "TERM");
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 256];
    while !seen.contains("Interrupted: starting nothing new") {
        let n = stderr.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "innovate exited before acknowledging the first signal: {seen}"
        );
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    signal(&child, "INT");
    stderr.read_to_string(&mut seen).unwrap();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(seen.contains("Second interrupt: exiting now"), "{seen}");
    assert_only_pending_main(&read_state(&ws, "twice-default.json"));
    let events = events(&stdout);
    let last = events.last().expect("events");
    assert_eq!(
        (&last["event"], &last["result"], &last["abandoned"]),
        (&json!("summary"), &json!("interrupted"), &json!(1)),
        "{stdout}"
    );
}

/// The `--json` event stream: parsed line by line, the way CI consumes it.
fn events(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect()
}

fn position(events: &[serde_json::Value], event: &str, address: &str) -> usize {
    events
        .iter()
        .position(|e| e["event"] == event && e["address"] == address)
        .unwrap_or_else(|| panic!("no {event} event for {address}: {events:#?}"))
}

#[test]
fn apply_json_streams_one_event_per_line_and_destroy_ends_with_a_table_of_steps() {
    let ws = Workspace::new();
    let bp = ws.write_blueprint(
        "blueprint: events\nregion: us-east-1\nresources:\n  main: { kind: ec2.vpc, cidr_block: 10.50.0.0/16 }\n  net: { kind: ec2.subnet, vpc_id: \"${main.id}\", cidr_block: 10.50.1.0/24 }\n",
    );
    let bp = bp.to_str().unwrap();
    let run = ws.run(&["apply", bp, "--auto-approve", "--json"]).expect(0);
    let events = events(&run.stdout());
    for address in ["main", "net"] {
        assert!(
            position(&events, "start", address) < position(&events, "done", address),
            "{events:#?}"
        );
    }
    assert!(
        position(&events, "done", "main") < position(&events, "start", "net"),
        "the subnet waits for its VPC: {events:#?}"
    );
    let done = &events[position(&events, "done", "net")];
    assert_eq!(done["action"], "create");
    assert!(
        done["id"].as_str().unwrap().starts_with("subnet-"),
        "{done}"
    );
    assert!(done["elapsed_ms"].is_u64(), "{done}");
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary", "{events:#?}");
    assert_eq!(summary["result"], "succeeded");
    assert_eq!(summary["added"], 2);
    assert!(
        run.stderr().contains("Plan: 2 to add"),
        "the plan goes to stderr: {}",
        run.stderr()
    );

    let run = ws.run(&["destroy", bp, "--auto-approve"]).expect(0);
    let out = run.stdout();
    let table = out
        .split_once("ADDRESS  ACTION  DURATION  RESULT\n")
        .unwrap_or_else(|| panic!("no table of steps: {out}"))
        .1;
    let rows: Vec<&str> = table.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(
        rows[0].starts_with("net      delete") && rows[0].ends_with("s  done"),
        "{out}"
    );
    assert!(rows[1].starts_with("main     delete"), "{out}");
    assert!(out.contains("Destroy complete!"), "{out}");
}
