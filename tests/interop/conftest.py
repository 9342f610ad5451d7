"""Drives tests/interop/js/harness.mjs (Digital Bazaar's JS stack) as an independent oracle."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.credentials.multikey import multikey_verification_method
from tests.support.interop import (
    HARNESS,
    ISSUER_DID,
    KEY_ID,
    RunJs,
    controller_documents,
    node_binary,
    run_node_script,
)


@pytest.fixture(scope="session")
def run_js() -> RunJs:
    node = node_binary()

    def run(command: str, request: dict[str, Any]) -> dict[str, Any]:
        return run_node_script(node, HARNESS, request, command)

    return run


@pytest.fixture(scope="session")
def issuer_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def multikey_documents(issuer_key: Ed25519PrivateKey) -> dict[str, Any]:
    method = multikey_verification_method(KEY_ID, ISSUER_DID, issuer_key.public_key())
    return controller_documents(method)
