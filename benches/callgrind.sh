#!/usr/bin/env bash
# Repeatable instruction counts for the engine (parse + validate, state load, graph, plan):
# the engine bench at one size under valgrind's callgrind, which counts instructions instead
# of timing them, so two builds compare within a fraction of a percent on a noisy machine.
# Prints the total and the functions that execute the most instructions themselves.
#
#   bash benches/callgrind.sh [RESOURCES]    # default 1000; needs valgrind (Debian package)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/innovate-target}"
resources="${1:-1000}"

command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 1; }
exe=$(cargo bench --bench engine --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("executable"):
        print(message["executable"])' | tail -1)

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$out/engine.out" "$exe" "$resources" \
  >/dev/null 2>"$out/valgrind.log"
# The total, then the 15 functions with the most instructions of their own.
callgrind_annotate --inclusive=no "$out/engine.out" 2>/dev/null |
  awk '/PROGRAM TOTALS/ { print; next }
       /file:function/ { table = 1; print; next }
       table && /^-+$/ { next }
       table && NF && shown < 15 { print; shown++ }'
