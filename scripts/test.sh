#!/usr/bin/env bash
# The test suite: install (if needed), lint, type-check, then every test — unit, contracts,
# end-to-end against anvil, PostgreSQL (127.0.0.1:5432), interop with the JavaScript
# implementations, browser and the slow fault tests. Extra arguments go to pytest.
#
# Tests run in one process per core (LERNODE_TEST_PROCESSES, default 2), a test file at a time
# on each (pytest-xdist `loadfile`: a file's fixtures are built once); most tests wait on chains
# and processes, so two share two cores well. Tests marked `serial` (they restart PostgreSQL
# under everyone) run alone afterwards; a chosen subset runs as chosen. LERNODE_TEST_PROCESSES=0
# runs everything in one process.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache
processes=${LERNODE_TEST_PROCESSES:-2}
if [ "$processes" = "0" ]; then
  exec .venv/bin/python -m pytest "$@"
fi
if [ $# -gt 0 ]; then  # a chosen subset (e.g. -m "not slow", which leaves out the serial test)
  exec .venv/bin/python -m pytest -n "$processes" --dist loadfile "$@"
fi
.venv/bin/python -m pytest -n "$processes" --dist loadfile -m "not serial" --durations=25
exec .venv/bin/python -m pytest -m serial
