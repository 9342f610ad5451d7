"""What a verifier is handed, parsed: a credential or a holder's bundle, and whether this
verifier can evaluate it at all.

Input the engine cannot evaluate is refused before any check with an `InvalidInput`
(`not_a_credential`, `unsupported_proof_type`, `unsupported_cryptosuite`,
`unsupported_did_method`, ...): a report full of `unknown`s would hide that the input is simply
out of scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from node.credentials.proofs import PROOF_TYPE, Cryptosuite
from node.did.errors import MethodNotSupported
from node.did.identifier import EthrDid, parse_ethr_did
from node.errors import InvalidInput, LernodeError
from node.verification.report import Submission


def credential_types(document: Mapping[str, Any]) -> list[Any]:
    """The document's `type` as a list (a single string is one type)."""
    value = document.get("type")
    return value if isinstance(value, list) else [value]


def require_verifiable(credential: Any) -> EthrDid:
    """The issuer's parsed DID, if this verifier can evaluate `credential` at all."""
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
    _require_supported_proofs(credential.get("proof"))
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if not isinstance(issuer_id, str) or not issuer_id.startswith("did:"):
        raise InvalidInput(
            f"the issuer {str(issuer_id)[:120]!r} is not a DID; this verifier checks did:ethr "
            "issuers",
            code="unsupported_issuer",
        )
    try:
        return parse_ethr_did(issuer_id)
    except MethodNotSupported as error:
        raise InvalidInput(
            f"issuer DID method {error.extra.get('method')!r} is not supported; this verifier "
            "checks did:ethr issuers",
            code="unsupported_did_method",
        ) from None
    except LernodeError as error:
        raise InvalidInput(f"issuer: {error.detail}", code="invalid_issuer") from None


def _require_supported_proofs(proof: Any) -> None:
    for item in proof if isinstance(proof, list) else [proof]:
        if item is None or not isinstance(item, Mapping):
            continue  # absent or malformed: the proof check reports it
        if item.get("type") != PROOF_TYPE:
            raise InvalidInput(
                f"proof type {str(item.get('type'))[:80]!r} is not supported (DataIntegrityProof "
                "with eddsa-rdfc-2022 or eddsa-jcs-2022)",
                code="unsupported_proof_type",
            )
        if not any(item.get("cryptosuite") == suite.value for suite in Cryptosuite):
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
    """An ISO 8601 instant with a time zone (`...Z` or `...+02:00`)."""
    if value is None or isinstance(value, datetime):
        if isinstance(value, datetime) and value.tzinfo is None:
            raise InvalidInput("`at` needs a time zone", code="invalid_datetime")
        return value
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
    return instant
