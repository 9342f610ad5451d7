"""`Ed25519Signature2020` proofs, as older Open Badges 3.0 credentials carry them (verification).

The node signs with `DataIntegrityProof` (eddsa-rdfc-2022 / eddsa-jcs-2022); badges issued before
those suites were final (and by wallets and issuers that still use Digital Bazaar's
`@digitalbazaar/ed25519-signature-2020`) carry this Linked Data Signatures suite instead. It
hashes like eddsa-rdfc-2022 but with its own proof options (jsonld-signatures'
`LinkedDataSignature.createVerifyData`):

* proof options = the proof without `proofValue` (and the legacy `jws` / `signatureValue`), with
  `@context` = the document's `@context`;
* verify data = sha256(RDFC-1.0 N-Quads of the proof options) || sha256(N-Quads of the document
  without `proof`);
* `proofValue` = multibase base58btc of the Ed25519 signature over the verify data.

The suite's terms come from `https://w3id.org/security/suites/ed25519-2020/v1` (bundled), which the
document's `@context` must include, as the suite itself requires.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.credentials.canonical import canonize
from node.credentials.jsonld import DocumentLoader, offline_document_loader
from node.credentials.multikey import decode_base58btc_multibase
from node.credentials.proofs import check_proof_fields, get_proof
from node.errors import InvalidInput

PROOF_TYPE = "Ed25519Signature2020"
SUITE_CONTEXT = "https://w3id.org/security/suites/ed25519-2020/v1"
_SIGNATURE_FIELDS = ("proofValue", "jws", "signatureValue")


def verify(
    document: Mapping[str, Any],
    public_key: Ed25519PublicKey,
    *,
    expected_proof_purpose: str | None = "assertionMethod",
    document_loader: DocumentLoader = offline_document_loader,
) -> dict[str, Any]:
    """Check the document's `Ed25519Signature2020` proof against `public_key`; return the proof.

    Raises `InvalidInput` with the codes `proofs.verify` uses (`proof_purpose_mismatch`,
    `proof_malformed`, `proof_invalid`, and canonicalization's `undefined_term` /
    `unknown_context`).
    """
    proof = get_proof(document)
    if proof.get("type") != PROOF_TYPE:
        raise InvalidInput(
            f"proof type {proof.get('type')!r} is not {PROOF_TYPE}", code="unsupported_proof_type"
        )
    check_proof_fields(proof, expected_proof_purpose)
    context = document.get("@context")
    contexts = context if isinstance(context, list) else [context]
    if SUITE_CONTEXT not in contexts:
        raise InvalidInput(
            f"an {PROOF_TYPE} document must include the {SUITE_CONTEXT} context",
            code="proof_malformed",
        )
    try:
        signature = decode_base58btc_multibase(proof["proofValue"])
    except InvalidInput as error:
        raise InvalidInput(f"proofValue: {error}", code="proof_malformed") from error
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    options = {"@context": context, **proof}
    for name in _SIGNATURE_FIELDS:
        options.pop(name, None)
    verify_data = _digest(options, document_loader) + _digest(unsecured, document_loader)
    try:
        public_key.verify(signature, verify_data)
    except InvalidSignature:
        raise InvalidInput(
            "the proof signature does not match the document", code="proof_invalid"
        ) from None
    return proof


def _digest(document: Mapping[str, Any], loader: DocumentLoader) -> bytes:
    return hashlib.sha256(canonize(document, loader).encode("utf-8")).digest()
