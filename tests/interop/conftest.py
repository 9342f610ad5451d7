"""Drives tests/interop/js/harness.mjs (Digital Bazaar's JS stack) as an independent oracle."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from interop_harness import HARNESS, ISSUER_DID, KEY_ID, RunJs, controller_documents

from node.credentials.multikey import multikey_verification_method


@pytest.fixture(scope="session")
def run_js() -> RunJs:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")

    def run(command: str, request: dict[str, Any]) -> dict[str, Any]:
        completed = subprocess.run(
            [node, str(HARNESS), command],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        result: dict[str, Any] = json.loads(completed.stdout)
        return result

    return run


@pytest.fixture(scope="session")
def issuer_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def multikey_documents(issuer_key: Ed25519PrivateKey) -> dict[str, Any]:
    method = multikey_verification_method(KEY_ID, ISSUER_DID, issuer_key.public_key())
    return controller_documents(method)
