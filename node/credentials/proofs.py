"""W3C Data Integrity `DataIntegrityProof` with the EdDSA cryptosuites.

Implements `eddsa-rdfc-2022` and `eddsa-jcs-2022` as the VC Data Integrity EdDSA Cryptosuites
v1.0 specification defines them, and as Digital Bazaar's libraries produce them (checked by
`tests/interop`):

* proof configuration = the proof without `proofValue`, with `@context` = the document's
  `@context` (for JCS the signed proof keeps that `@context`, as the spec and jsonld-signatures do;
  for RDFC it is only used for canonicalization);
* hash data = sha256(canonical proof configuration) || sha256(canonical unsecured document);
* `proofValue` = multibase base58btc of the Ed25519 signature over the hash data.

Every failure is an `InvalidInput` with a distinct `code` so the verifier can report why:
`proof_missing`, `proof_set_unsupported`, `unsupported_proof_type`, `unsupported_cryptosuite`,
`proof_purpose_mismatch`, `proof_malformed`, `proof_invalid`, plus `undefined_term` /
`unknown_context` from RDFC canonicalization.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from node.credentials import jcs
from node.credentials.canonical import canonize
from node.credentials.jsonld import DocumentLoader, offline_document_loader
from node.credentials.multikey import base58btc_multibase, decode_base58btc_multibase
from node.errors import InvalidInput

PROOF_TYPE = "DataIntegrityProof"


class Cryptosuite(StrEnum):
    EDDSA_RDFC_2022 = "eddsa-rdfc-2022"
    EDDSA_JCS_2022 = "eddsa-jcs-2022"


def _canonical_rdfc(document: Mapping[str, Any], loader: DocumentLoader) -> bytes:
    return canonize(document, loader).encode("utf-8")


def _canonical_jcs(document: Mapping[str, Any], loader: DocumentLoader) -> bytes:
    return jcs.canonicalize(document)


_CANONICALIZERS: dict[Cryptosuite, Callable[[Mapping[str, Any], DocumentLoader], bytes]] = {
    Cryptosuite.EDDSA_RDFC_2022: _canonical_rdfc,
    Cryptosuite.EDDSA_JCS_2022: _canonical_jcs,
}


def xsd_datetime(moment: datetime) -> str:
    """UTC `YYYY-MM-DDTHH:MM:SSZ`, the form Data Integrity and VC 2.0 use for timestamps."""
    if moment.tzinfo is None:
        raise InvalidInput("timestamps must be timezone-aware", code="invalid_datetime")
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"{moment} is out of range", code="invalid_datetime") from None
    # isoformat, not strftime("%Y"): the year keeps four digits before 1000 (xsd:dateTime).
    return utc.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def _suite(name: Any) -> Cryptosuite:
    try:
        return Cryptosuite(name)
    except ValueError:
        raise InvalidInput(
            f"cryptosuite {name!r} is not supported (use eddsa-rdfc-2022 or eddsa-jcs-2022)",
            code="unsupported_cryptosuite",
        ) from None


def _unsecured(document: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "proof"}


def _hash_data(
    suite: Cryptosuite,
    unsecured: Mapping[str, Any],
    proof_config: Mapping[str, Any],
    loader: DocumentLoader,
    unsecured_jcs: bytes | None = None,
) -> bytes:
    """`unsecured_jcs`: the JCS bytes of `unsecured` when the caller has them already."""
    canonical = _CANONICALIZERS[suite]
    if loader is offline_document_loader:
        # Every credential of one issuance request shares its proof configuration; with the
        # bundled (immutable) contexts its canonical form depends on nothing else.
        config_hash = _offline_config_hash(suite, jcs.canonicalize(proof_config))
    else:
        config_hash = hashlib.sha256(canonical(proof_config, loader)).digest()
    if unsecured_jcs is not None and suite is Cryptosuite.EDDSA_JCS_2022:
        document_hash = hashlib.sha256(unsecured_jcs).digest()
    else:
        document_hash = hashlib.sha256(canonical(unsecured, loader)).digest()
    return config_hash + document_hash


@functools.lru_cache(maxsize=256)
def _offline_config_hash(suite: Cryptosuite, config_jcs: bytes) -> bytes:
    config = json.loads(config_jcs)
    return hashlib.sha256(_CANONICALIZERS[suite](config, offline_document_loader)).digest()


def sign(
    document: Mapping[str, Any],
    signing_key: Ed25519PrivateKey,
    verification_method: str,
    cryptosuite: Cryptosuite | str = Cryptosuite.EDDSA_RDFC_2022,
    *,
    created: datetime | None = None,
    proof_purpose: str = "assertionMethod",
    document_loader: DocumentLoader = offline_document_loader,
    challenge: str | None = None,
    domain: str | None = None,
) -> dict[str, Any]:
    """Return a copy of `document` secured with one `DataIntegrityProof` (as `proof: [...]`).

    Any existing `proof` is replaced: the node issues single-proof credentials, and proof sets or
    chains would need rules (which proof covers which) that nothing here needs yet. `challenge`
    and `domain` are signed into the proof (a presentation's, `proof_purpose="authentication"`).
    """
    suite = _suite(cryptosuite)
    unsecured = _unsecured(document)
    proof_config = _proof_config(
        suite, unsecured, verification_method, created, proof_purpose, challenge, domain
    )
    signature = signing_key.sign(_hash_data(suite, unsecured, proof_config, document_loader))
    return _secured(suite, unsecured, proof_config, base58btc_multibase(signature))


def sign_canonical(
    document: Mapping[str, Any],
    members: jcs.Members,
    signing_key: Ed25519PrivateKey,
    verification_method: str,
    cryptosuite: Cryptosuite | str,
    *,
    created: datetime | None = None,
) -> tuple[dict[str, Any], bytes]:
    """`sign` (assertion, bundled contexts) for a caller that holds the canonical members of
    `document` (`jcs.canonical_members`, without `proof`); returns the signed document and its
    JCS bytes. A bulk issuer thus canonicalizes each credential once: `eddsa-jcs-2022` hashes
    the members joined, and the signed document's JCS (what is stored and hashed for anchoring)
    is the same members and the proof's."""
    unsigned = UnsignedCanonical.of(
        document, members, verification_method, _suite(cryptosuite), created or datetime.now(UTC)
    )
    return unsigned.signed(base58btc_multibase(signing_key.sign(unsigned.message)))


@dataclass(frozen=True)
class UnsignedCanonical:
    """`sign_canonical` up to the signature: the bytes to sign (`message`) and what the signed
    document and its JCS are made of. Apart, so a bulk issuer can have the signatures computed
    elsewhere (another process) while it prepares the next documents.

    With `eddsa-rdfc-2022` the message (the document's RDF canonicalization, nearly all of the
    cost of signing) is made only when asked for: another process may make it instead, from
    `document_jcs` (`rdfc_document_hash`)."""

    suite: Cryptosuite
    unsecured: Mapping[str, Any]
    proof_config: dict[str, Any]
    members: jcs.Members
    shared: _SharedProof

    @classmethod
    def of(
        cls,
        document: Mapping[str, Any],
        members: jcs.Members,
        verification_method: str,
        suite: Cryptosuite,
        created: datetime,
    ) -> UnsignedCanonical:
        unsecured = _unsecured(document) if "proof" in document else document
        if "proof" in members.texts or members.texts.keys() != unsecured.keys():
            raise ValueError("the members must be those of the document without its proof")
        context = _context(unsecured)
        shared = _shared_proof(suite, members.texts["@context"], created, verification_method)
        proof_config = {**shared.config, "@context": context}
        return cls(suite, unsecured, proof_config, members, shared)

    @functools.cached_property
    def message(self) -> bytes:
        """sha256(canonical proof configuration) || sha256(canonical document): 64 bytes."""
        if self.suite is Cryptosuite.EDDSA_JCS_2022:
            document_hash = hashlib.sha256(self.document_jcs).digest()
        else:
            document_hash = hashlib.sha256(
                _canonical_rdfc(self.unsecured, offline_document_loader)
            ).digest()
        return self.shared.config_hash + document_hash

    @property
    def document_jcs(self) -> bytes:
        """The unsecured document's JCS bytes (its members joined)."""
        return jcs.canonical_object(self.members.texts)

    def signed(self, proof_value: str) -> tuple[dict[str, Any], bytes]:
        """The signed document and its JCS bytes, given the proof value: the Ed25519 signature
        of `message` in multibase base58btc (`base58btc_multibase`)."""
        secured = _secured(self.suite, self.unsecured, self.proof_config, proof_value)
        before, after = self.shared.proof_text
        proof_text = f"[{before}{jcs.serialize_string(proof_value)}{after}]"
        return secured, jcs.canonical_object({**self.members.texts, "proof": proof_text})


def rdfc_document_hash(document_jcs: bytes) -> bytes:
    """sha256 of the `eddsa-rdfc-2022` canonical form of the document `document_jcs` spells
    (`UnsignedCanonical.document_jcs`): the half of its message another process can make."""
    document = json.loads(document_jcs)
    return hashlib.sha256(_canonical_rdfc(document, offline_document_loader)).digest()


@dataclass(frozen=True)
class _SharedProof:
    """What the credentials one request signs share (`sign_canonical`)."""

    #: sha256 of their canonical proof configuration.
    config_hash: bytes
    #: Their proof configuration, `@context` a placeholder (the document's goes there).
    config: Mapping[str, Any]
    #: Their signed proof's canonical text around its `proofValue` literal.
    proof_text: tuple[str, str]


#: A stand-in for the proof value while the proof's canonical text is split around it: canonical
#: JSON text holds no raw control character.
_VALUE_MARK = "\x00"


@functools.lru_cache(maxsize=256)
def _shared_proof(
    suite: Cryptosuite, context: str, created: datetime, verification_method: str
) -> _SharedProof:
    """`context`: the canonical text of the documents' `@context`."""
    config = _proof_config(
        suite, {"@context": None}, verification_method, created, "assertionMethod", None, None
    )
    texts = {key: jcs.canonical_text(value) for key, value in config.items()}
    texts["@context"] = context
    config_hash = _offline_config_hash(suite, jcs.canonical_object(texts))
    if suite is not Cryptosuite.EDDSA_JCS_2022:
        del texts["@context"]
    before, after = jcs.canonical_object_text({**texts, "proofValue": _VALUE_MARK}).split(
        _VALUE_MARK
    )
    return _SharedProof(config_hash, MappingProxyType(config), (before, after))


def _context(unsecured: Mapping[str, Any]) -> Any:
    """The document's `@context`, which its proof repeats."""
    if "@context" not in unsecured:
        raise InvalidInput("a signed document needs an @context", code="invalid_jsonld")
    return unsecured["@context"]


def _proof_config(
    suite: Cryptosuite,
    unsecured: Mapping[str, Any],
    verification_method: str,
    created: datetime | None,
    proof_purpose: str,
    challenge: str | None,
    domain: str | None,
) -> dict[str, Any]:
    """The proof without `proofValue`, with the document's `@context` (see the module doc)."""
    proof: dict[str, Any] = {
        "@context": _context(unsecured),
        "type": PROOF_TYPE,
        "cryptosuite": suite.value,
        "created": xsd_datetime(created or datetime.now(UTC)),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    if challenge is not None:
        proof["challenge"] = challenge
    if domain is not None:
        proof["domain"] = domain
    return proof


def _secured(
    suite: Cryptosuite,
    unsecured: Mapping[str, Any],
    proof_config: Mapping[str, Any],
    proof_value: str,
) -> dict[str, Any]:
    """The document with its proof: for JCS the signed proof keeps its `@context`."""
    proof = dict(proof_config)
    if suite is not Cryptosuite.EDDSA_JCS_2022:
        del proof["@context"]
    proof["proofValue"] = proof_value
    # An array of one proof: the form OB 3.0's JSON Schema requires; in JSON-LD (`proof` is a
    # graph container) and for Data Integrity verifiers it is the same proof as an object.
    return {**unsecured, "proof": [proof]}


def get_proof(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document's single proof; `proof_missing` / `proof_set_unsupported` otherwise.

    Callers use it to read `verificationMethod` and resolve the key before calling `verify`.
    """
    proof = document.get("proof")
    if isinstance(proof, list) and len(proof) == 1:
        proof = proof[0]
    if proof is None or proof == []:
        raise InvalidInput("the document has no proof", code="proof_missing")
    if isinstance(proof, list):
        raise InvalidInput(
            "documents with several proofs are not supported", code="proof_set_unsupported"
        )
    if not isinstance(proof, Mapping):
        raise InvalidInput("proof must be an object", code="proof_malformed")
    return dict(proof)


def _checked_proof(
    document: Mapping[str, Any], expected_proof_purpose: str | None
) -> dict[str, Any]:
    proof = get_proof(document)
    if proof.get("type") != PROOF_TYPE:
        raise InvalidInput(
            f"proof type {proof.get('type')!r} is not supported", code="unsupported_proof_type"
        )
    _suite(proof.get("cryptosuite"))
    check_proof_fields(proof, expected_proof_purpose)
    return proof


def check_proof_fields(proof: Mapping[str, Any], expected_proof_purpose: str | None) -> None:
    """What every suite's proof needs: the expected purpose (`proof_purpose_mismatch`), and a
    `verificationMethod` and `proofValue` that are strings (`proof_malformed`)."""
    if expected_proof_purpose is not None and proof.get("proofPurpose") != expected_proof_purpose:
        raise InvalidInput(
            f"proof purpose is {proof.get('proofPurpose')!r}, expected {expected_proof_purpose!r}",
            code="proof_purpose_mismatch",
        )
    for field in ("verificationMethod", "proofValue"):
        if not isinstance(proof.get(field), str):
            raise InvalidInput(f"proof.{field} must be a string", code="proof_malformed")


def _proof_config_for_verification(
    suite: Cryptosuite, unsecured: Mapping[str, Any], proof: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Proof configuration and the document to hash, per each suite's verification algorithm."""
    config = {key: value for key, value in proof.items() if key != "proofValue"}
    if suite is Cryptosuite.EDDSA_RDFC_2022:
        return {"@context": unsecured.get("@context"), **config}, dict(unsecured)
    if "@context" not in config:
        return config, dict(unsecured)
    # eddsa-jcs-2022: the document's @context must start with the proof's, and the document is
    # hashed with the proof's @context.
    proof_context = _as_list(config["@context"])
    document_context = _as_list(unsecured.get("@context"))
    if document_context[: len(proof_context)] != proof_context:
        raise InvalidInput(
            "document @context does not start with the proof's @context", code="proof_invalid"
        )
    return config, {**unsecured, "@context": config["@context"]}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def verify(
    document: Mapping[str, Any],
    public_key: Ed25519PublicKey,
    *,
    expected_proof_purpose: str | None = "assertionMethod",
    document_loader: DocumentLoader = offline_document_loader,
) -> dict[str, Any]:
    """Check the document's `DataIntegrityProof` against `public_key`; return the proof.

    The caller is responsible for having obtained `public_key` from the proof's
    `verificationMethod` (see `get_proof`) and for checking that method is authorized for the
    issuer; this function only proves the document was signed by that key, unchanged.
    """
    proof = _checked_proof(document, expected_proof_purpose)
    suite = Cryptosuite(proof["cryptosuite"])
    try:
        signature = decode_base58btc_multibase(proof["proofValue"])
    except InvalidInput as error:
        raise InvalidInput(f"proofValue: {error}", code="proof_malformed") from error
    config, unsecured = _proof_config_for_verification(suite, _unsecured(document), proof)
    hash_data = _hash_data(suite, unsecured, config, document_loader)
    try:
        public_key.verify(signature, hash_data)
    except InvalidSignature:
        raise InvalidInput(
            "the proof signature does not match the document", code="proof_invalid"
        ) from None
    return proof
