//! Starts the emulator (moto server, installed by `localstack/setup.sh`) once per test binary
//! on a free loopback port. The process watches its stdin and exits when the test binary
//! does, so no emulator outlives its tests.
//!
//! `AWS_ENDPOINT_URL` set in the environment wins: the same tests then run against an
//! emulator the user started (LocalStack, or `localstack/start.sh`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

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

/// Starts `localstack/SCRIPT ARGS --until-stdin-closes` with the emulator's Python and waits
/// for its `listening http://HOST:PORT` line: the process and its endpoint.
pub fn spawn_listening(script: &str, args: &[&str]) -> (Child, String) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("localstack/.venv/bin/python");
    assert!(
        python.exists(),
        "the emulator is not installed: run `bash localstack/setup.sh` (tests/run.sh does it)"
    );
    let mut child = Command::new(python)
        .arg(root.join("localstack").join(script))
        .args(args)
        .arg("--until-stdin-closes")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start localstack/{script}: {e}"));
    let stdout = child.stdout.take().expect("child stdout");
    let mut first_line = String::new();
    BufReader::new(stdout)
        .read_line(&mut first_line)
        .expect("read child stdout");
    let endpoint = first_line
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("localstack/{script} did not start: {first_line:?}"))
        .trim()
        .to_string();
    (child, endpoint)
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
