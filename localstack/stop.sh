#!/usr/bin/env bash
# Stops the emulator that localstack/start.sh started on ${EMULATOR_PORT:-4566} (by its pid).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port="${EMULATOR_PORT:-4566}"
pidfile="$here/.emulator-$port.pid"
if [ -f "$pidfile" ]; then
  pid="$(cat "$pidfile")"
  if kill "$pid" 2>/dev/null; then
    # wait for the process to go so a following start.sh can take the port again
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    echo "localstack/stop.sh: emulator stopped (pid $pid)" >&2
  fi
  rm -f "$pidfile"
fi
