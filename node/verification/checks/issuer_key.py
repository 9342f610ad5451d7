"""The `issuer_key` check: the proof's verification method is an assertion key of the issuer's
DID as of issuance (the anchoring block), and the key the proof must verify with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.credentials import proofs
from node.credentials.multikey import public_key_from_verification_method
from node.did.errors import DidResolutionError
from node.did.identifier import EthrDid, parse_did_url
from node.did.sources import DidDocumentSource
from node.errors import InvalidInput
from node.verification.report import (
    Check,
    failed,
    passed,
    unknown,
)


@dataclass(frozen=True)
class KeyOutcome:
    """The `issuer_key` check and, when it passed, the key the proof must verify with."""

    check: Check
    public_key: Ed25519PublicKey | None = None


def check_issuer_key(
    credential: Mapping[str, Any],
    issuer: EthrDid,
    chain_id: int,
    dids: DidDocumentSource,
    at_block: int | None,
) -> KeyOutcome:
    """`issuer_key`: the proof's verification method is an assertion key of the issuer's DID
    in the DID document as of `at_block` (the anchoring block: "as of issuance")."""
    name = "issuer_key"
    try:
        method_id = proofs.get_proof(credential).get("verificationMethod")
    except InvalidInput as error:
        return KeyOutcome(unknown(name, "no_proof", f"No key to check: {error.detail}."))
    if not isinstance(method_id, str):
        return KeyOutcome(
            failed(name, "invalid_verification_method", "proof.verificationMethod is missing.")
        )
    try:
        url = parse_did_url(method_id)
    except DidResolutionError as error:
        return KeyOutcome(
            failed(name, "invalid_verification_method", f"verificationMethod: {error.detail}.")
        )
    if url.fragment is None:
        return KeyOutcome(
            failed(
                name,
                "invalid_verification_method",
                f"verificationMethod {method_id!r} names a DID, not one of its keys.",
            )
        )
    if url.did.did != issuer.did:
        return KeyOutcome(
            failed(
                name,
                "issuer_mismatch",
                f"The proof was made with a key of {url.did.did}, but the credential names "
                f"{issuer.did} as its issuer.",
            )
        )
    if issuer.chain_id != chain_id:
        return KeyOutcome(
            unknown(name, "wrong_chain", f"{issuer.did} is not a DID of chain {hex(chain_id)}.")
        )
    when = (
        f"in block {at_block}, when the credential was anchored"
        if at_block is not None
        else "in the current DID document (no anchor dates the issuance)"
    )
    later = False
    try:
        method, authorized = _find_method(dids.document_at(issuer.did, at_block), url.base)
        if method is None:
            later = at_block is not None and (
                _find_method(dids.document_at(issuer.did, None), url.base)[0] is not None
            )
    except DidResolutionError as error:
        return KeyOutcome(unknown(name, "did_unresolvable", f"{error.detail}."))
    if method is None:
        if later:
            return KeyOutcome(
                failed(
                    name,
                    "key_added_after_issuance",
                    f"{url.base} was published on the DID only after block {at_block}, when "
                    "the credential was anchored: it cannot have signed it then.",
                )
            )
        return KeyOutcome(
            failed(name, "key_not_found", f"{url.base} is not a key of {issuer.did} {when}.")
        )
    if not authorized:
        return KeyOutcome(
            failed(
                name,
                "key_not_authorized",
                f"{url.base} is on {issuer.did} but not as an assertion (signing) key.",
            )
        )
    try:
        key = public_key_from_verification_method(method)
    except InvalidInput as error:
        return KeyOutcome(failed(name, error.code, f"{url.base}: {error.detail}."))
    return KeyOutcome(
        passed(name, "key_authorized", f"{url.base} is an assertion key of the issuer {when}."),
        key,
    )


def _find_method(
    document: Mapping[str, Any], method_id: str
) -> tuple[Mapping[str, Any] | None, bool]:
    """(the method with `method_id`, whether `assertionMethod` references it)."""
    methods = document.get("verificationMethod") or []
    found = next((m for m in methods if isinstance(m, Mapping) and m.get("id") == method_id), None)
    references = document.get("assertionMethod") or []
    authorized = any(
        ref == method_id or (isinstance(ref, Mapping) and ref.get("id") == method_id)
        for ref in references
    )
    return found, authorized
