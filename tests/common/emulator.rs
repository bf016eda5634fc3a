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

/// `--var` pairs plans/innovate.yaml requires, for the environment's key `key_id`.
pub fn innovate_estate_vars(key_id: &str) -> Vec<String> {
    vec![
        "--var".into(),
        format!("eks_secrets_kms_key_arn={}", kms_key_arn(key_id)),
    ]
}
