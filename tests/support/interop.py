"""Running the independent JavaScript implementations in tests/interop/js (Digital Bazaar's
stack, verifier-core, wallets) as oracles: one JSON request on stdin, one JSON answer out."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).parents[1] / "interop" / "js"
HARNESS = JS / "harness.mjs"
VERIFY_ISSUED = JS / "verify_issued.mjs"
ISSUER_DID = "did:ethr:0x7a69:0x5fbdb2315678afecb367f032d93f642f64180aa3"
KEY_ID = f"{ISSUER_DID}#ed25519-1"

RunJs = Callable[[str, dict[str, Any]], dict[str, Any]]


def controller_documents(verification_method: dict[str, Any]) -> dict[str, Any]:
    """The DID document and verification method the JS verifier dereferences."""
    method = {k: v for k, v in verification_method.items() if k != "@context"}
    did_document = {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": ISSUER_DID,
        "verificationMethod": [method],
        "assertionMethod": [method["id"]],
    }
    return {ISSUER_DID: did_document, method["id"]: verification_method}


def node_binary() -> str:
    """The `node` executable; the test is skipped where it is not installed."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    return node


def run_node_script(
    node: str,
    script: Path,
    request: dict[str, Any],
    *args: str,
    ca: Path | None = None,
    timeout: float = 60,
) -> dict[str, Any]:
    """Run one of the js/ scripts with `request` on stdin and return its JSON answer; with `ca`
    the script trusts that test CA (NODE_EXTRA_CA_CERTS) to reach a node over HTTPS.

    A non-zero exit is a broken harness, never a verdict (the scripts report a refused
    credential in their answer), hence the assert rather than a returned error.
    """
    env = None if ca is None else {**os.environ, "NODE_EXTRA_CA_CERTS": str(ca)}
    completed = subprocess.run(
        [node, str(script), *args],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def run_js(script: Path, command: str, request: dict[str, Any], ca: Path) -> dict[str, Any]:
    """Run a js/ script that talks to an HTTPS node (trusting the test CA); its JSON answer."""
    return run_node_script(node_binary(), script, request, command, ca=ca, timeout=120)
