#!/usr/bin/env bash
# Stops the emulator started by localstack/start.sh (by the pid it recorded).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pidfile="$here/.emulator.pid"
if [ -f "$pidfile" ]; then
  pid="$(cat "$pidfile")"
  if kill "$pid" 2>/dev/null; then
    # wait for the process to go so a following start.sh can take the port again
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    echo "localstack/stop.sh: emulator stopped (pid $pid)" >&2
  fi
  rm -f "$pidfile"
fi
