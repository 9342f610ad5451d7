"""The verifier's unit specifications use `tests.support.verification_fakes`: a hand-made
issuer, an in-memory chain and DID documents, so each check can be driven case by case."""

from __future__ import annotations

import pytest

from tests.support.verification_fakes import World


@pytest.fixture
def world() -> World:
    return World()
