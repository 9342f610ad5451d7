"""The verifier's end-to-end specifications import `verification_nodes` (this directory) to run
real issuing nodes on chains they start themselves."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
