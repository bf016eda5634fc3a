//! Starts the emulator (moto server, installed by `localstack/setup.sh`) once per test binary
//! on a free loopback port. The process watches its stdin and exits when the test binary
//! does, so no emulator outlives its tests.
//!
//! `AWS_ENDPOINT_URL` set in the environment wins: the same tests then run against an
//! emulator the user started (LocalStack, or `localstack/start.sh`).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::Duration;

pub struct Emulator {
    pub endpoint: String,
    _child: Option<Mutex<Child>>,
}

static EMULATOR: OnceLock<Emulator> = OnceLock::new();

/// The endpoint of this test binary's emulator, started on first use.
pub fn endpoint() -> &'static str {
    &EMULATOR.get_or_init(start).endpoint
}

fn start() -> Emulator {
    if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
        return Emulator {
            endpoint,
            _child: None,
        };
    }
    let (child, endpoint) = spawn_listening("serve.py", &["--port", "0"]);
    Emulator {
        endpoint,
        _child: Some(Mutex::new(child)),
    }
}

/// How long a script may take to print its `listening` line. moto imports its whole service
/// catalogue first: seconds on an idle machine, more on a loaded CI runner.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// Starts `localstack/SCRIPT ARGS --until-stdin-closes` with the emulator's Python and waits
/// for its `listening http://HOST:PORT` line: the process and its endpoint. The script's
/// stderr goes to a log file under Cargo's test scratch folder, named by every failing
/// test's panic message; a script that exits or stays silent for [`START_TIMEOUT`] fails the
/// test with the tail of that log instead of hanging it.
pub fn spawn_listening(script: &str, args: &[&str]) -> (Child, String) {
    spawn_listening_within(script, args, START_TIMEOUT)
}

/// [`spawn_listening`] with its own start timeout.
pub fn spawn_listening_within(script: &str, args: &[&str], timeout: Duration) -> (Child, String) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("localstack/.venv/bin/python");
    assert!(
        python.exists(),
        "the emulator is not installed: run `bash localstack/setup.sh` (tests/run.sh does it)"
    );
    let log = log_path(script);
    let stderr = File::create(&log)
        .unwrap_or_else(|e| panic!("cannot create the log {}: {e}", log.display()));
    let mut child = Command::new(python)
        .arg(root.join("localstack").join(script))
        .args(args)
        .arg("--until-stdin-closes")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start localstack/{script}: {e}"));
    let stdout = child.stdout.take().expect("child stdout");
    let (sender, first_line) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        let _ = sender.send(read);
    });
    let line = match first_line.recv_timeout(timeout) {
        Ok(Ok(line)) => line,
        Ok(Err(e)) => start_failed(
            &mut child,
            script,
            &log,
            &format!("reading its stdout: {e}"),
        ),
        Err(_) => start_failed(
            &mut child,
            script,
            &log,
            &format!("no `listening` line within {timeout:?}"),
        ),
    };
    let Some(endpoint) = line.strip_prefix("listening ") else {
        let why = match line.is_empty() {
            true => "it exited before listening".to_string(),
            false => format!("its first line was {line:?}, not `listening http://…`"),
        };
        start_failed(&mut child, script, &log, &why)
    };
    name_log_on_panic(script, &log);
    (child, endpoint.trim().to_string())
}

/// A fresh log file for one run of `script`, in Cargo's scratch folder for this test binary.
fn log_path(script: &str) -> PathBuf {
    static RUNS: AtomicU32 = AtomicU32::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("emulator-logs");
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let test_binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "tests".into());
    let this_run = format!("{test_binary}-{}-", std::process::id());
    if RUNS.load(Ordering::SeqCst) == 0 {
        forget_earlier_runs(&dir, &format!("{test_binary}-"), &this_run);
    }
    let run = RUNS.fetch_add(1, Ordering::SeqCst);
    let stem = script.trim_end_matches(".py");
    dir.join(format!("{this_run}{stem}-{run}.log"))
}

/// Removes the logs an earlier run of this test binary left (`prefix`, not `this_run`): the
/// folder keeps the latest run of each binary, not all of them.
fn forget_earlier_runs(dir: &Path, prefix: &str, this_run: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(prefix) && !name.starts_with(this_run) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Stops a script that did not start and fails with why, naming the script and showing the
/// end of what it wrote to stderr.
fn start_failed(child: &mut Child, script: &str, log: &Path, why: &str) -> ! {
    let _ = child.kill();
    let _ = child.wait();
    panic!(
        "localstack/{script} did not start: {why}\n--- the last lines of its stderr ({})\n{}",
        log.display(),
        tail(log, 40)
    )
}

/// The last `lines` lines of the file at `path` (or why it cannot be read).
pub fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// Every panic of this test binary from now on ends with where `script`'s stderr is and its
/// last lines: a test that fails because the emulator (or a proxy) misbehaved shows why.
fn name_log_on_panic(script: &str, log: &Path) {
    static LOGS: Mutex<Vec<(String, PathBuf)>> = Mutex::new(Vec::new());
    static HOOK: OnceLock<()> = OnceLock::new();
    let mut logs = LOGS.lock().unwrap_or_else(|e| e.into_inner());
    logs.push((script.to_string(), log.to_path_buf()));
    drop(logs);
    HOOK.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            let logs = LOGS.lock().unwrap_or_else(|e| e.into_inner());
            for (script, log) in logs.iter() {
                eprintln!(
                    "--- localstack/{script} stderr ({}), last lines:\n{}",
                    log.display(),
                    tail(log, 10)
                );
            }
        }));
    });
}

/// An SDK configuration pointed at the emulator with static test credentials.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "innovate-tests",
        ))
        .load()
        .await
}

/// Environment for a child `innovate` process talking to this emulator.
pub fn child_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint().to_string()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

/// The emulator's own account id (STS GetCallerIdentity), asked once per test binary: values
/// that name an account (a KMS key ARN) are built in it, never in a made-up one. Runs on its
/// own thread so that sync and async tests can both call it.
pub fn account_id() -> String {
    static ID: OnceLock<String> = OnceLock::new();
    let ask = || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let sts = aws_sdk_sts::Client::new(&sdk_config().await);
            let me = sts
                .get_caller_identity()
                .send()
                .await
                .expect("sts:GetCallerIdentity");
            me.account().expect("an account id").to_string()
        })
    };
    ID.get_or_init(|| std::thread::spawn(ask).join().expect("account id"))
        .clone()
}

/// A KMS key ARN in the emulator's account (us-east-1, where the tests' blueprints live).
pub fn kms_key_arn(key_id: &str) -> String {
    format!("arn:aws:kms:us-east-1:{}:key/{key_id}", account_id())
}
