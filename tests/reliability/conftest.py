"""The fault tests import `reliability_harness` (this directory) for real node processes, and
get a PostgreSQL database of their own from `postgres_url` (tests/conftest.py)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
