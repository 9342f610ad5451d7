"""The verifier's unit specifications import `verification_fakes` (this directory): a hand-made
issuer, an in-memory chain and DID documents, so each check can be driven case by case."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from verification_fakes import World  # noqa: E402


@pytest.fixture
def world() -> World:
    return World()
