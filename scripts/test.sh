#!/usr/bin/env bash
# The test suite: install (if needed), lint, type-check, then every test — unit, contracts,
# end-to-end against anvil, PostgreSQL (127.0.0.1:5432), interop with the JavaScript
# implementations, browser and the slow fault tests. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache
exec .venv/bin/python -m pytest "$@"
