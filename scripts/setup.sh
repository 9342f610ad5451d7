#!/usr/bin/env bash
# Install everything lernode needs into this checkout: a Python virtualenv (.venv) with the
# package and its test tools, and the npm tools (anvil, solc-js, interop verifiers).
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: lernode needs Python 3.11 or newer (found: $("$python" --version 2>&1))" >&2
  exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm (Node.js 18+) is needed for anvil and the interop tools" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=.venv/.lernode-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test]'
  touch "$stamp"
fi
if [ ! -x node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil ] || [ package-lock.json -nt node_modules ]; then
  # `npm install` rather than `npm ci`: the lock cannot list anvil's builds for other platforms
  # where the registry does not serve them, which `npm ci` treats as out of sync. Versions are
  # still the locked ones.
  npm install --no-audit --no-fund --loglevel=error
  touch node_modules
fi
