#!/usr/bin/env bash
# Installs the pinned AWS emulator (moto server) into a git-ignored venv: localstack/.venv.
# Idempotent: a venv that already has the pinned version is left alone.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
pin="$(cat "$here/requirements.txt")"

if [ -x "$venv/bin/moto_server" ] && "$venv/bin/python" -m pip freeze 2>/dev/null | grep -x "moto==5.2.5" >/dev/null; then
  exit 0
fi
echo "localstack/setup.sh: installing the emulator into $venv" >&2
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
"$venv/bin/moto_server" --help >/dev/null
echo "localstack/setup.sh: ready ($pin)" >&2
