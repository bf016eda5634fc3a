#!/usr/bin/env bash
# The main job end to end on the local emulator: install and start the emulator, build
# innovate, then validate, check, estimate the cost, plan, apply, re-plan (expecting no
# changes), look for drift, show the outputs and destroy. Usage: bash localstack/demo.sh [BLUEPRINT] [ENV]   (defaults: plans/innovate.yaml dev)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
blueprint="${1:-plans/innovate.yaml}"
env="${2:-dev}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/innovate-target}"
export EMULATOR_PORT="${EMULATOR_PORT:-4566}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "starting the emulator (moto server) on 127.0.0.1:$EMULATOR_PORT"
eval "$(bash localstack/start.sh)"
trap 'bash localstack/stop.sh' EXIT
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

step "building innovate"
cargo build --bin innovate
innovate="$CARGO_TARGET_DIR/debug/innovate"
state="$(mktemp -d)/demo-$env.json"   # a fresh emulator knows nothing of older state files

# The shipped blueprints require what only the user knows (no placeholder defaults): the
# organization needs a domain for the member accounts' e-mails (override with EMAIL_DOMAIN);
# the workload estate makes its own keys and needs nothing.
vars=()
case "$(basename "$blueprint")" in
  innovate-org.yaml) vars=(--var "email_domain=${EMAIL_DOMAIN:-emulator.innovate-inc.com}") ;;
esac

step "innovate validate $blueprint --env $env"
"$innovate" validate "$blueprint" --env "$env" ${vars[@]+"${vars[@]}"}
step "innovate check (security and reliability findings; exit 2 when there are some)"
"$innovate" check "$blueprint" --env "$env" ${vars[@]+"${vars[@]}"} || [ $? -eq 2 ]
step "innovate cost"
"$innovate" cost "$blueprint" --env "$env" ${vars[@]+"${vars[@]}"}
step "innovate plan"
"$innovate" plan "$blueprint" --env "$env" ${vars[@]+"${vars[@]}"} --state "$state"
step "innovate apply"
"$innovate" apply "$blueprint" --env "$env" ${vars[@]+"${vars[@]}"} --state "$state" --auto-approve
step "innovate plan --detailed-exitcode (expect: no changes, exit 0)"
"$innovate" plan "$blueprint" --env "$env" ${vars[@]+"${vars[@]}"} --state "$state" --detailed-exitcode
step "innovate drift (expect: none, exit 0)"
"$innovate" drift "$blueprint" --env "$env" ${vars[@]+"${vars[@]}"} --state "$state"
step "innovate output"
"$innovate" output "$blueprint" --env "$env" ${vars[@]+"${vars[@]}"} --state "$state"
step "innovate destroy"
"$innovate" destroy "$blueprint" --env "$env" ${vars[@]+"${vars[@]}"} --state "$state" --auto-approve
step "done: checked, costed, planned, applied, re-planned with no changes, no drift, showed outputs, destroyed"
