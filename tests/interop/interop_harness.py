"""Shared helpers for the interop tests (the fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

HARNESS = Path(__file__).parent / "js" / "harness.mjs"
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


VERIFY_ISSUED = Path(__file__).parent / "js" / "verify_issued.mjs"


def run_node_script(node: str, script: Path, request: dict[str, Any], *args: str) -> dict[str, Any]:
    """Run one of the js/ scripts with `request` on stdin and return its JSON answer.

    A non-zero exit is a broken harness, never a verdict (the scripts report a refused
    credential in their answer), hence the assert rather than a returned error.
    """
    import json
    import subprocess

    completed = subprocess.run(
        [node, str(script), *args],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout)
    return result
