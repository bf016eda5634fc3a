//! The `innovate` binary for commands that must never call AWS, fenced off from any real
//! account: whatever credentials, profile or instance role the machine running the tests has,
//! a call that slips through reaches a closed loopback port with made-up credentials and
//! fails at once (one attempt, no retries).

use std::process::Command;

/// A loopback port nothing listens on (binding it needs root): a call sent there is refused.
pub const CLOSED_ENDPOINT: &str = "http://127.0.0.1:1";

/// Variables that would pick credentials, a profile, a role or an endpoint from the machine.
const REMOVED: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "RUST_LOG",
];

/// What every offline command runs with: made-up static credentials, no config or
/// credentials file, no instance metadata, and every endpoint at [`CLOSED_ENDPOINT`].
pub const FENCE: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "AKIAOFFLINETESTS0000"),
    ("AWS_SECRET_ACCESS_KEY", "offline-tests-never-reach-aws"),
    ("AWS_SESSION_TOKEN", "offline-tests"),
    ("AWS_CONFIG_FILE", "/dev/null"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_ENDPOINT_URL", CLOSED_ENDPOINT),
    ("AWS_REGION", "us-east-1"),
    ("AWS_MAX_ATTEMPTS", "1"),
    ("NO_COLOR", "1"),
];

/// `innovate ARGS` in `dir`, stdin closed, fenced off from AWS.
pub fn command(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_innovate"));
    command
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null());
    for name in REMOVED {
        command.env_remove(name);
    }
    for (name, value) in FENCE {
        command.env(name, value);
    }
    command
}
