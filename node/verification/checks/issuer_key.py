"""The `issuer_key` check: the proof's verification method is an assertion key of the issuer's
DID as of issuance (the anchoring block), and the key the proof must verify with.

Where the DID document comes from is the engine's choice (`KeyDocuments`): for a chain issuer
(did:ethr, or a did:web the consortium bound to an issuer address) the ERC-1056 history from the
chain facts, as of the anchoring block; for an off-chain issuer (did:key, another did:web) its
current document from a `DidDocumentSource`, which has no history to consult.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.credentials import proofs
from node.credentials.multikey import public_key_from_verification_method
from node.did.errors import DidResolutionError
from node.errors import InvalidInput
from node.verification.report import Check, failed, passed, unknown

NAME = "issuer_key"
#: Any character `str.isspace` calls whitespace (the same Unicode property).
_WHITESPACE = re.compile(r"\s")


@dataclass(frozen=True)
class KeyOutcome:
    """The `issuer_key` check and, when it passed, the key the proof must verify with."""

    check: Check
    public_key: Ed25519PublicKey | None = None


@dataclass(frozen=True)
class KeyDocuments:
    """Where the issuer's keys are looked up.

    `document_at(block)`: the DID document as of `block` (None: the latest); `method_id` maps the
    proof's verification method id to the id it has in that document (a did:web alias's keys
    sit in its did:ethr document under the same fragment); `historical`: whether documents
    before the latest exist (an off-chain DID has only its current one).
    """

    document_at: Callable[[int | None], Mapping[str, Any]]
    method_id: Callable[[str], str] = lambda method: method
    historical: bool = True


def split_did_url(value: str) -> tuple[str, str | None]:
    """(DID, fragment) of a DID URL; the query is dropped, a path refused."""
    rest, has_fragment, fragment = value.partition("#")
    did = rest.partition("?")[0]
    if not did.startswith("did:") or did.count(":") < 2 or _WHITESPACE.search(value):
        raise InvalidInput(f"{value[:120]!r} is not a DID URL", code="invalid_verification_method")
    return did, (fragment if has_fragment else None)


def check_issuer_key(
    credential: Mapping[str, Any],
    issuer_did: str,
    documents: KeyDocuments | Check,
    at_block: int | None,
    *,
    relationship: str = "assertionMethod",
) -> KeyOutcome:
    """`issuer_key`: the proof's verification method is a `relationship` key of `issuer_did`
    in its DID document as of `at_block` (the anchoring block: "as of issuance").

    `documents` is a `Check` when the keys cannot be looked up at all (a DID of another chain):
    that check is the outcome once the method is known to be the issuer's.
    """
    try:
        method_id = proofs.get_proof(credential).get("verificationMethod")
    except InvalidInput as error:
        return KeyOutcome(unknown(NAME, "no_proof", f"No key to check: {error.detail}."))
    if not isinstance(method_id, str):
        return KeyOutcome(
            failed(NAME, "invalid_verification_method", "proof.verificationMethod is missing.")
        )
    try:
        did, fragment = split_did_url(method_id)
    except InvalidInput as error:
        return KeyOutcome(failed(NAME, error.code, f"verificationMethod: {error.detail}."))
    if fragment is None:
        return KeyOutcome(
            failed(
                NAME,
                "invalid_verification_method",
                f"verificationMethod {method_id!r} names a DID, not one of its keys.",
            )
        )
    if did != issuer_did:
        return KeyOutcome(
            failed(
                NAME,
                "issuer_mismatch",
                f"The proof was made with a key of {did}, but the credential names "
                f"{issuer_did} as its issuer.",
            )
        )
    if isinstance(documents, Check):
        return KeyOutcome(documents)
    base = f"{did}#{fragment}"
    return _look_up(base, documents, at_block, relationship, issuer_did)


def _look_up(
    base: str, documents: KeyDocuments, at_block: int | None, relationship: str, issuer_did: str
) -> KeyOutcome:
    if not documents.historical:
        when = "in its current DID document (an off-chain DID keeps no history)"
    elif at_block is not None:
        when = f"in block {at_block}, when the credential was anchored"
    else:
        when = "in the current DID document (no anchor dates the issuance)"
    wanted = documents.method_id(base)
    later = False
    try:
        block = at_block if documents.historical else None
        method, authorized = _find_method(documents.document_at(block), wanted, relationship)
        if method is None and block is not None:
            later = _find_method(documents.document_at(None), wanted, relationship)[0] is not None
    except DidResolutionError as error:
        return KeyOutcome(unknown(NAME, "did_unresolvable", f"{error.detail}."))
    except InvalidInput as error:
        return KeyOutcome(unknown(NAME, "did_unresolvable", f"{error.detail}."))
    if method is None:
        if later:
            return KeyOutcome(
                failed(
                    NAME,
                    "key_added_after_issuance",
                    f"{base} was published on the DID only after block {at_block}, when "
                    "the credential was anchored: it cannot have signed it then.",
                )
            )
        return KeyOutcome(
            failed(NAME, "key_not_found", f"{base} is not a key of {issuer_did} {when}.")
        )
    purpose = "an assertion (signing)" if relationship == "assertionMethod" else relationship
    if not authorized:
        return KeyOutcome(
            failed(
                NAME,
                "key_not_authorized",
                f"{base} is on {issuer_did} but not as {purpose} key.",
            )
        )
    try:
        key = public_key_from_verification_method(method)
    except InvalidInput as error:
        return KeyOutcome(failed(NAME, error.code, f"{base}: {error.detail}."))
    kind = "an assertion" if relationship == "assertionMethod" else f"an {relationship}"
    return KeyOutcome(
        passed(NAME, "key_authorized", f"{base} is {kind} key of {issuer_did} {when}."), key
    )


def _find_method(
    document: Mapping[str, Any], method_id: str, relationship: str
) -> tuple[Mapping[str, Any] | None, bool]:
    """(the method with `method_id`, whether `relationship` references it); relative ids
    (`#key-1`) are read against the document's `id`, as DID Core allows."""
    base = str(document.get("id", ""))

    def absolute(value: Any) -> Any:
        return base + value if isinstance(value, str) and value.startswith("#") else value

    methods = document.get("verificationMethod") or []
    references = document.get(relationship) or []
    embedded = [r for r in references if isinstance(r, Mapping)]
    found = next(
        (
            m
            for m in [*methods, *embedded]
            if isinstance(m, Mapping) and absolute(m.get("id")) == method_id
        ),
        None,
    )
    authorized = any(_reference_id(ref, absolute) == method_id for ref in references)
    return found, authorized


def _reference_id(reference: Any, absolute: Callable[[Any], Any]) -> Any:
    """The method id a relationship entry names: a string, or an embedded method's `id`."""
    if isinstance(reference, str):
        return absolute(reference)
    return absolute(reference.get("id")) if isinstance(reference, Mapping) else None
