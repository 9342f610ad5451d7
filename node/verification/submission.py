"""What a verifier is handed, parsed: a credential or a holder's bundle, and whether this
verifier can evaluate it at all.

Input the engine cannot evaluate is refused before any check with an `InvalidInput`
(`not_a_credential`, `unsupported_proof_type`, `unsupported_cryptosuite`,
`unsupported_did_method`, ...): a report full of `unknown`s would hide that the input is simply
out of scope.

Issuers: `did:ethr` (the chain identity), `did:web` (checked against the chain when the
consortium bound it to an issuer address, TEAM decision 3; otherwise resolved off chain) and
`did:key` (off chain). Proofs: `DataIntegrityProof` with `eddsa-rdfc-2022` / `eddsa-jcs-2022`,
and `Ed25519Signature2020` found on older badges.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from node.credentials.ed25519_signature_2020 import PROOF_TYPE as ED25519_2020
from node.credentials.proofs import PROOF_TYPE, Cryptosuite
from node.did.identifier import EthrDid, parse_ethr_did
from node.errors import InvalidInput, LernodeError
from node.verification.report import Submission

#: DID methods whose issuers this verifier checks.
SUPPORTED_METHODS = ("ethr", "web", "key")
_DID = re.compile(r"did:([a-z0-9]+):\S+", re.ASCII)
#: The Data Integrity cryptosuites' names (iterating the enum on every request costs more).
_CRYPTOSUITES = frozenset(suite.value for suite in Cryptosuite)


@dataclass(frozen=True)
class IssuerRef:
    """The issuer a credential names: its DID, method, and for `did:ethr` the parsed DID."""

    did: str
    method: str
    ethr: EthrDid | None = None

    @property
    def address(self) -> str | None:
        """The chain address the DID itself names (did:ethr only)."""
        return self.ethr.address if self.ethr is not None else None

    @property
    def on_chain_alias(self) -> bool:
        """Whether the consortium may have bound this DID to an issuer address (did:web)."""
        return self.method == "web"


def credential_types(document: Mapping[str, Any]) -> list[Any]:
    """The document's `type` as a list (a single string is one type)."""
    value = document.get("type")
    return value if isinstance(value, list) else [value]


def issuer_id(credential: Mapping[str, Any]) -> Any:
    issuer = credential.get("issuer")
    return issuer.get("id") if isinstance(issuer, Mapping) else issuer


def require_verifiable(credential: Any) -> IssuerRef:
    """The issuer the credential names, if this verifier can evaluate `credential` at all."""
    if not isinstance(credential, Mapping) or "@context" not in credential:
        raise InvalidInput(
            "not a credential: expected a JSON object with @context and type",
            code="not_a_credential",
        )
    if "VerifiableCredential" not in credential_types(credential):
        raise InvalidInput(
            "not a credential: its type does not include VerifiableCredential",
            code="not_a_credential",
        )
    require_supported_proofs(credential.get("proof"))
    return parse_issuer(issuer_id(credential))


def parse_issuer(value: Any) -> IssuerRef:
    """An issuer id as an `IssuerRef`; `unsupported_issuer`, `unsupported_did_method`,
    `invalid_issuer` otherwise."""
    if not isinstance(value, str) or not value.startswith("did:"):
        raise InvalidInput(
            f"the issuer {str(value)[:120]!r} is not a DID; this verifier checks did:ethr, did:web "
            "and did:key issuers",
            code="unsupported_issuer",
        )
    match = _DID.fullmatch(value)
    if match is None or "#" in value or "?" in value:
        raise InvalidInput(f"issuer: not a DID: {value[:120]!r}", code="invalid_issuer")
    method = match[1]
    if method not in SUPPORTED_METHODS:
        raise InvalidInput(
            f"issuer DID method {method!r} is not supported; this verifier checks did:ethr, "
            "did:web and did:key issuers",
            code="unsupported_did_method",
        )
    if method != "ethr":
        return IssuerRef(value, method)
    try:
        return IssuerRef(value, method, parse_ethr_did(value))
    except LernodeError as error:
        raise InvalidInput(f"issuer: {error.detail}", code="invalid_issuer") from None


def require_supported_proofs(proof: Any) -> None:
    for item in proof if isinstance(proof, list) else [proof]:
        if item is None or not isinstance(item, Mapping):
            continue  # absent or malformed: the proof check reports it
        if item.get("type") == ED25519_2020:
            continue
        if item.get("type") != PROOF_TYPE:
            raise InvalidInput(
                f"proof type {str(item.get('type'))[:80]!r} is not supported (DataIntegrityProof "
                "with eddsa-rdfc-2022 or eddsa-jcs-2022, or Ed25519Signature2020)",
                code="unsupported_proof_type",
            )
        suite = item.get("cryptosuite")
        if not isinstance(suite, str) or suite not in _CRYPTOSUITES:
            raise InvalidInput(
                f"cryptosuite {str(item.get('cryptosuite'))[:80]!r} is not supported "
                "(eddsa-rdfc-2022 or eddsa-jcs-2022)",
                code="unsupported_cryptosuite",
            )


def parse_submission(body: Any, *, at: str | datetime | None = None) -> Submission:
    """A credential, or a bundle `{credential, receipt, embeddedReceipts?,
    statusListCredentials?, at?}`, as a `Submission` (`at` in the body wins)."""
    if not isinstance(body, Mapping):
        raise InvalidInput(
            "expected a JSON object: a credential or a bundle {credential, receipt}",
            code="not_a_credential",
        )
    if "credential" in body and "@context" not in body:
        credential, receipt = body["credential"], body.get("receipt")
        embedded = _listed_or_empty(body.get("embeddedReceipts"))
        lists = _listed_or_empty(body.get("statusListCredentials"))
        at = body.get("at", at)
    else:
        credential, receipt, embedded, lists = body, None, [], []
    if not isinstance(credential, dict):
        raise InvalidInput("the credential must be a JSON object", code="not_a_credential")
    if receipt is not None and not isinstance(receipt, dict):
        raise InvalidInput("the receipt must be a JSON object", code="invalid_receipt")
    if not isinstance(embedded, list) or not all(isinstance(r, dict) for r in embedded):
        raise InvalidInput("embeddedReceipts must be a list of receipts", code="invalid_receipt")
    if not isinstance(lists, list) or not all(isinstance(c, dict) for c in lists):
        raise InvalidInput(
            "statusListCredentials must be a list of credentials", code="invalid_status_list"
        )
    return Submission(
        credential=credential,
        receipt=receipt,
        embedded_receipts=tuple(embedded),
        status_lists=tuple(lists),
        at=parse_instant(at),
    )


def _listed_or_empty(value: Any) -> Any:
    """An optional list member: absent or null is empty, anything else is checked as given."""
    return [] if value is None else value


def parse_instant(value: str | datetime | None) -> datetime | None:
    """An ISO 8601 instant with a time zone (`...Z` or `...+02:00`) that exists in UTC (year 1
    at +14:00 does not)."""
    if value is None or isinstance(value, datetime):
        if isinstance(value, datetime) and value.tzinfo is None:
            raise InvalidInput("`at` needs a time zone", code="invalid_datetime")
        return value if value is None else _in_utc_range(value)
    try:
        instant = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise InvalidInput(
            f"`at` must be an ISO 8601 instant with a time zone, e.g. 2030-01-01T00:00:00Z; "
            f"got {str(value)[:80]!r}",
            code="invalid_datetime",
        )
    return _in_utc_range(instant)


def _in_utc_range(instant: datetime) -> datetime:
    try:
        instant.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(
            f"`at` {instant.isoformat()} is outside the range of UTC date-times",
            code="invalid_datetime",
        ) from None
    return instant
