#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the emulator (a pinned moto server in a
# git-ignored venv), checks formatting and lints, then runs unit and integration tests. Each
# integration test binary starts its own emulator on a free loopback port.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/innovate-target}"
# Integration tests must talk to their own emulator, never to an endpoint left in the shell.
unset AWS_ENDPOINT_URL AWS_PROFILE

bash localstack/setup.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
