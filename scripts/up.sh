#!/usr/bin/env bash
# One command from a fresh clone to a running node: install, then `lernode up`
# (embedded chain + SQLite, contracts deployed, this node's institution accredited, API up).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/lernode up "$@"
