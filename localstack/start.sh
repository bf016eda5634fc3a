#!/usr/bin/env bash
# Starts the emulator in the background on 127.0.0.1:${EMULATOR_PORT:-4566} and waits until it
# answers. Prints the export line to use it. Stop it with localstack/stop.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port="${EMULATOR_PORT:-4566}"
pidfile="$here/.emulator-$port.pid"
logfile="$here/.emulator-$port.log"

bash "$here/setup.sh"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "localstack/start.sh: emulator already running (pid $(cat "$pidfile"))" >&2
  echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$port"
  exit 0
fi

"$here/.venv/bin/python" "$here/serve.py" --port "$port" >"$logfile" 2>&1 &
echo $! >"$pidfile"
# serve.py prints "listening ..." once its socket accepts requests; give it 60 s at most.
for _ in $(seq 600); do
  if grep -q '^listening ' "$logfile" 2>/dev/null; then
    echo "localstack/start.sh: emulator up on 127.0.0.1:$port (pid $(cat "$pidfile"), log $logfile)" >&2
    echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$port"
    exit 0
  fi
  kill -0 "$(cat "$pidfile")" 2>/dev/null || break
  sleep 0.1
done
echo "localstack/start.sh: emulator did not start; its log:" >&2
cat "$logfile" >&2
exit 1
