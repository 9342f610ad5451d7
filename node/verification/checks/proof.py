"""The `proof` check: the Data Integrity proof verifies with the issuer's key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.credentials import proofs
from node.errors import InvalidInput
from node.verification.report import (
    Check,
    failed,
    passed,
    unknown,
)


def check_proof(credential: Mapping[str, Any], public_key: Ed25519PublicKey | None) -> Check:
    """`proof`: the Data Integrity proof verifies with the issuer's key (the document is
    unchanged since it was signed)."""
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
    try:
        proofs.verify(credential, public_key)
    except InvalidInput as error:
        return failed(name, error.code, f"{error.detail}.")
    except ValueError as error:  # JSON-LD processing errors the canonicalizer does not map
        return failed(name, "invalid_jsonld", f"The document cannot be canonicalized: {error}.")
    return passed(
        name,
        "signature_valid",
        f"The {proof.get('cryptosuite')} signature verifies: the credential is unchanged since "
        "the issuer signed it.",
    )
