"""The `proof` check: the Data Integrity proof verifies with the issuer's key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.credentials import proofs, suites
from node.errors import InvalidInput
from node.verification.report import (
    Check,
    failed,
    passed,
    unknown,
)


def check_proof(
    credential: Mapping[str, Any],
    public_key: Ed25519PublicKey | None,
    *,
    proof_purpose: str = "assertionMethod",
) -> Check:
    """`proof`: the Data Integrity proof (or an older `Ed25519Signature2020`) verifies with the
    issuer's key (the document is unchanged since it was signed)."""
    name = "proof"
    try:
        proof = proofs.get_proof(credential)
    except InvalidInput as error:
        return failed(name, error.code, f"{error.detail}.")
    if public_key is None:
        return unknown(
            name,
            "key_unavailable",
            "The signature cannot be checked without the issuer's key (see issuer_key).",
        )
    legacy = suites.is_legacy(proof)
    try:
        suites.verify_proof(credential, public_key, expected_proof_purpose=proof_purpose)
    except InvalidInput as error:
        return failed(name, error.code, f"{error.detail}.")
    except ValueError as error:  # JSON-LD processing errors the canonicalizer does not map
        return failed(name, "invalid_jsonld", f"The document cannot be canonicalized: {error}.")
    return passed(
        name,
        "signature_valid",
        f"The {proof.get('type') if legacy else proof.get('cryptosuite')} signature verifies: "
        "the document is unchanged since it was signed.",
    )
