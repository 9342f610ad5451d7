"""The checks about the document and its signer: format, issuer key, proof, validity period.

Each function takes plain inputs and returns a `Check` (the key check also the key it found),
so each can be specified on hand-made documents without a chain. Expected problems of the
*credential* become failed or unknown checks with their own codes; only an unreachable chain
(`ChainError`) escapes, because then nothing can be said at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.credentials import proofs
from node.credentials.format_check import check_format, parse_datetime_stamp
from node.credentials.multikey import public_key_from_verification_method
from node.credentials.proofs import xsd_datetime
from node.did.errors import DidResolutionError
from node.did.identifier import EthrDid, parse_did_url
from node.errors import InvalidInput
from node.services.verification_report import (
    Check,
    DidDocumentSource,
    failed,
    passed,
    unknown,
)

#: Format issues spelled out in one check's detail; the rest are counted.
MAX_LISTED_ISSUES = 5


def check_document_format(credential: Mapping[str, Any]) -> Check:
    """`format`: the VC 2.0 / OB 3.0 / CLR 2.0 shape; the code is the first issue's code."""
    try:
        issues = check_format(credential)
    except (TypeError, AttributeError, ValueError) as error:
        # The shape checker assumes some members have the JSON type the spec gives them; a
        # hostile document that breaks that assumption is malformed, not a server error.
        return failed("format", "malformed_credential", f"Not a well-formed credential: {error}.")
    if not issues:
        return passed("format", "well_formed", "A well-formed VC 2.0 / Open Badges 3.0 document.")
    listed = "; ".join(
        f"{issue.path or '/'}: {issue.message}" for issue in issues[:MAX_LISTED_ISSUES]
    )
    more = len(issues) - MAX_LISTED_ISSUES
    suffix = f" (and {more} more)" if more > 0 else ""
    return failed("format", issues[0].code, f"Not a well-formed credential: {listed}{suffix}.")


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


def check_validity(credential: Mapping[str, Any], at: datetime) -> Check:
    """`validity`: validFrom <= at < validUntil."""
    name = "validity"
    bounds: dict[str, datetime] = {}
    for key in ("validFrom", "validUntil"):
        if key in credential:
            moment = parse_datetime_stamp(credential[key])
            if moment is None:
                return unknown(name, "invalid_datetime", f"{key} is not a date-time with a zone.")
            bounds[key] = moment
    checked = xsd_datetime(at)
    start, end = bounds.get("validFrom"), bounds.get("validUntil")
    if start is not None and at < start:
        return failed(
            name, "not_yet_valid", f"Valid only from {xsd_datetime(start)} (checked {checked})."
        )
    if end is not None and at >= end:
        return failed(name, "expired", f"Expired at {xsd_datetime(end)} (checked {checked}).")
    span = f"from {xsd_datetime(start)}" if start else "with no start"
    span += f" until {xsd_datetime(end)}" if end else ", with no end"
    return passed(name, "in_validity_period", f"Valid {span} (checked {checked}).")
