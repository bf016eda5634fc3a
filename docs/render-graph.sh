#!/usr/bin/env bash
# Regenerates docs/innovate-dev.svg: the dependency graph of plans/innovate.yaml (env dev),
# grouped by tier, rendered by Graphviz. Run from anywhere: bash docs/render-graph.sh
# Needs `dot` (Debian/Ubuntu: apt-get install graphviz). INNOVATE=path/to/innovate skips the
# cargo build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v dot >/dev/null || { echo "render-graph.sh: needs Graphviz's dot (apt-get install graphviz)" >&2; exit 1; }
innovate=(${INNOVATE:-cargo run --quiet --})
"${innovate[@]}" graph plans/innovate.yaml --env dev --group tier | dot -Tsvg -o docs/innovate-dev.svg
echo "wrote docs/innovate-dev.svg"
