"""Proof that a wallet controls the DID it asks a credential to be bound to.

Two proofs reach the node: a DIDAuth presentation (DCC deep link and VC-API: an empty
Verifiable Presentation signed by the holder's `did:key` with `proofPurpose: authentication`
and the node's challenge, and for VC-API its domain) and an OpenID4VCI proof JWT (oid4vci.py).

The presentation check below is the delivery package's port (`PresentationCheck`): a DIDAuth
presentation carries no credentials and answers with one refusal code, so it is checked here
rather than by the verifier's `PresentationVerifier`, with the same pieces: the proof suites the
verifier accepts (`credentials.suites`: `DataIntegrityProof` eddsa-rdfc-2022 / eddsa-jcs-2022,
and `Ed25519Signature2020`, which the Learner Credential Wallet signs with) and did:key decoding
(`did.did_key`).

Holder DIDs are `did:key` (Ed25519 `z6Mk...`, P-256 `zDn...`): self-certifying, nothing to
fetch, and what LCW and most wallets use.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.credentials.suites import verify_proof
from node.delivery.errors import HolderRefused
from node.did.did_key import holder_public_key
from node.did.errors import DidResolutionError
from node.errors import InvalidInput
from node.verification.presentations import domain_matches

#: (presentation, challenge, domain or None) -> the DID that proved control; `HolderRefused`
#: (with a specific code) otherwise.
PresentationCheck = Callable[[Mapping[str, Any], str, str | None], str]

#: Largest DIDAuth presentation checked (LCW's is about 1 KB).
MAX_PRESENTATION_BYTES = 16_384
#: Longest DID a holder may bind (a did:key is ~56 characters; did:jwk of a P-256 key ~200).
MAX_DID_LENGTH = 512


@dataclass(frozen=True)
class HolderKey:
    """A holder DID and the public key its `did:key` encodes."""

    did: str
    key: Ed25519PublicKey | EllipticCurvePublicKey


def did_key(did: str) -> HolderKey:
    """The public key of an Ed25519 or P-256 `did:key`; `unsupported_holder_did` otherwise."""
    if not isinstance(did, str) or len(did) > MAX_DID_LENGTH or not did.startswith("did:key:z"):
        raise HolderRefused(
            f"holder DID {str(did)[:80]!r} is not a did:key (Ed25519 or P-256)",
            code="unsupported_holder_did",
        )
    try:
        return HolderKey(did, holder_public_key(did))
    except (DidResolutionError, InvalidInput, ValueError):
        pass
    raise HolderRefused(
        f"holder DID {did[:80]!r} is not an Ed25519 or P-256 did:key",
        code="unsupported_holder_did",
    )


def did_of_key_id(verification_method: Any) -> HolderKey:
    """The holder of a `did:key:X#X` key id (the fragment must name the DID's own key)."""
    if not isinstance(verification_method, str) or "#" not in verification_method:
        raise HolderRefused(
            "the proof's verificationMethod must be a did:key key id (did:key:z...#z...)",
            code="unsupported_holder_did",
        )
    did, fragment = verification_method.split("#", 1)
    holder = did_key(did)
    if fragment != did.removeprefix("did:key:"):
        raise HolderRefused(
            f"{verification_method[:120]!r} is not the key of {did[:80]!r}",
            code="holder_proof_invalid",
        )
    return holder


def verify_did_auth(presentation: Mapping[str, Any], challenge: str, domain: str | None) -> str:
    """The DID that signed this DIDAuth presentation for `challenge` (and `domain`)."""
    if not isinstance(presentation, Mapping) or "VerifiablePresentation" not in _types(
        presentation
    ):
        raise HolderRefused(
            "expected a Verifiable Presentation signed by the holder", code="not_a_presentation"
        )
    if len(json.dumps(presentation, default=str)) > MAX_PRESENTATION_BYTES:
        # A DIDAuth presentation is about 1 KB; canonicalizing a large one costs real CPU.
        raise HolderRefused(
            f"a DIDAuth presentation is at most {MAX_PRESENTATION_BYTES} bytes",
            code="presentation_too_large",
        )
    proof = _single_proof(presentation.get("proof"))
    if proof.get("proofPurpose") != "authentication":
        raise HolderRefused(
            "the presentation's proof must have proofPurpose 'authentication'",
            code="proof_purpose_mismatch",
        )
    given = proof.get("challenge")
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), challenge.encode()):
        raise HolderRefused(
            "the presentation does not answer this offer's challenge", code="challenge_mismatch"
        )
    if domain is not None and not domain_matches(proof.get("domain"), domain):
        raise HolderRefused(
            f"the presentation's proof must carry domain {domain!r}", code="domain_mismatch"
        )
    holder = did_of_key_id(proof.get("verificationMethod"))
    claimed = presentation.get("holder")
    claimed_id = claimed.get("id") if isinstance(claimed, Mapping) else claimed
    if claimed_id is not None and claimed_id != holder.did:
        raise HolderRefused(
            "the presentation names a holder other than the DID that signed it",
            code="holder_mismatch",
        )
    if not isinstance(holder.key, Ed25519PublicKey):
        raise HolderRefused(
            "presentations are verified for Ed25519 did:key holders", code="unsupported_holder_did"
        )
    try:
        verify_proof(
            {**presentation, "proof": proof}, holder.key, expected_proof_purpose="authentication"
        )
    except InvalidInput as error:
        raise HolderRefused(
            f"the holder's signature does not verify: {error.detail}",
            code="holder_proof_invalid",
        ) from None
    return holder.did


def _single_proof(proof: Any) -> Mapping[str, Any]:
    if isinstance(proof, list) and len(proof) == 1:
        proof = proof[0]
    if not isinstance(proof, Mapping):
        raise HolderRefused(
            "the presentation must carry exactly one proof by the holder", code="proof_missing"
        )
    return proof


def _types(document: Mapping[str, Any]) -> list[Any]:
    value = document.get("type")
    return value if isinstance(value, list) else [value]
