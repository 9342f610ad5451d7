"""Verifying a proof of either suite the node accepts, so every verifier dispatches the same way:
`DataIntegrityProof` (eddsa-rdfc-2022 / eddsa-jcs-2022, `proofs`) and the older
`Ed25519Signature2020` (`ed25519_signature_2020`) that Open Badges and the Learner Credential
Wallet still sign with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.credentials import ed25519_signature_2020, proofs


def is_legacy(proof: Mapping[str, Any]) -> bool:
    """Whether `proof` is an `Ed25519Signature2020` (else it is taken as Data Integrity)."""
    return proof.get("type") == ed25519_signature_2020.PROOF_TYPE


def verify_proof(
    document: Mapping[str, Any], public_key: Ed25519PublicKey, *, expected_proof_purpose: str
) -> dict[str, Any]:
    """Check the document's one proof, of either suite, against `public_key`; return the proof.
    `InvalidInput` with the suite's code otherwise."""
    if is_legacy(proofs.get_proof(document)):
        return ed25519_signature_2020.verify(
            document, public_key, expected_proof_purpose=expected_proof_purpose
        )
    return proofs.verify(document, public_key, expected_proof_purpose=expected_proof_purpose)
