"""Verifying a holder's Verifiable Presentation, and every credential in it.

A presentation proves that whoever holds the key of its `holder` DID presented these credentials
to this verifier now: its proof (a `DataIntegrityProof` with eddsa-rdfc-2022 / eddsa-jcs-2022, or
an older `Ed25519Signature2020`, `proofPurpose: authentication`) signs the presentation together
with the verifier's `challenge` (freshness: no replay) and `domain` (audience: not meant for
another verifier). The checks, each with its own codes:

- `format`: a VerifiablePresentation (`not_a_presentation`);
- `proof`: the signature verifies over the presentation as sent (`proof_invalid` when anything in
  it, credentials included, was changed after signing);
- `holder_key`: the proof's key is an `authentication` key of the holder's DID (`holder_mismatch`
  when it is another DID's key, `key_not_found`, `key_not_authorized`, `did_unresolvable`);
- `challenge`: the proof carries the challenge the verifier issued (`challenge_mismatch`; without a
  challenge to compare, `unknown` `challenge_not_requested`: a replay cannot be ruled out);
- `domain`: the proof names the verifier's domain (`domain_mismatch`; `not_requested` when the
  verifier names none);
- `credentials`: every credential in it verifies (`credential_invalid` / `credential_unverified`);
  each credential's own report says why.

Holders are resolved off chain (`did:key` purely, `did:web` through the wired resolver). Used by
the VC-API (`POST /presentations/verify`), wallet exchanges and `lernode verify`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from node.credentials import proofs
from node.credentials.format_check import parse_datetime_stamp
from node.did.sources import DidDocumentSource
from node.errors import InvalidInput
from node.verification.checks.issuer_key import KeyDocuments, check_issuer_key, split_did_url
from node.verification.checks.proof import check_proof
from node.verification.engine import Budget, Verifier
from node.verification.report import (
    Check,
    CheckStatus,
    Submission,
    Verdict,
    VerificationReport,
    combine,
    failed,
    find_check,
    passed,
    unknown,
)
from node.verification.submission import credential_types, require_supported_proofs

#: The checks of a presentation, in the order they are reported.
PRESENTATION_CHECKS: tuple[str, ...] = (
    "format",
    "proof",
    "holder_key",
    "challenge",
    "domain",
    "credentials",
)
#: Credentials one presentation may carry.
MAX_PRESENTED = 50


@dataclass(frozen=True)
class PresentationReport:
    """The presentation's own checks and the report of each credential it carries."""

    checks: tuple[Check, ...]
    holder: str | None
    credentials: tuple[VerificationReport, ...]
    verified_at: str

    @property
    def verdict(self) -> Verdict:
        return combine([check.status for check in self.checks])

    def check(self, name: str) -> Check:
        return find_check(self.checks, name)

    def as_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "holder": self.holder,
            "checks": [check.as_json() for check in self.checks],
            "credentials": [report.as_json() for report in self.credentials],
            "verifiedAt": self.verified_at,
        }


def is_presentation(document: Any) -> bool:
    """Whether `document` claims to be a presentation (its `type` says so)."""
    return isinstance(document, Mapping) and "VerifiablePresentation" in credential_types(document)


class PresentationVerifier:
    """Verifies presentations; credentials inside go through the credential `Verifier`."""

    def __init__(self, credentials: Verifier, holders: DidDocumentSource) -> None:
        self.credentials = credentials
        self.holders = holders

    def verify(
        self,
        presentation: Any,
        *,
        challenge: str | None = None,
        domain: str | None = None,
        at: datetime | None = None,
    ) -> PresentationReport:
        """The report (raises `InvalidInput` for input that is not a presentation at all or
        exceeds the limits)."""
        moment = at or datetime.now(UTC)
        document = _require_presentation(presentation)
        budget = Budget(self.credentials.limits.cpu_seconds)
        holder = document.get("holder")
        holder_id = holder.get("id") if isinstance(holder, Mapping) else holder
        key = self._holder_key(document, holder_id)
        proof = _presentation_proof(document, key.public_key, moment)
        budget.check()
        reports = tuple(self._credential(item, moment, budget) for item in _presented(document))
        checks = (
            passed("format", "well_formed", "A VerifiablePresentation."),
            proof,
            key.check,
            _challenge(document, challenge),
            _domain(document, domain),
            _credentials(reports),
        )
        return PresentationReport(
            checks=checks,
            holder=holder_id if isinstance(holder_id, str) else None,
            credentials=reports,
            verified_at=moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )

    def _holder_key(self, document: Mapping[str, Any], holder: Any) -> Any:
        """`holder_key`: the proof's method is an authentication key of the holder."""
        try:
            method = proofs.get_proof(document).get("verificationMethod")
        except InvalidInput:
            method = None
        signer = None
        if isinstance(method, str):
            try:
                signer = split_did_url(method)[0]
            except InvalidInput:
                signer = None
        did = holder if isinstance(holder, str) else signer
        if did is None:
            did = ""
        outcome = check_issuer_key(
            document,
            did,
            KeyDocuments(lambda _block: self.holders.document_at(did, None), historical=False),
            None,
            relationship="authentication",
        )
        check = dataclasses.replace(outcome.check, name="holder_key")
        if check.code == "issuer_mismatch":
            check = dataclasses.replace(
                check,
                code="holder_mismatch",
                detail=f"The presentation was signed with a key of {signer}, not of its holder "
                f"{holder}.",
            )
        return dataclasses.replace(outcome, check=check)

    def _credential(self, item: Any, at: datetime, budget: Budget) -> VerificationReport:
        budget.check()
        try:
            return self.credentials.verify(Submission(item, at=at))
        except InvalidInput as error:
            if error.code in ("too_many_credentials", "verification_budget_exceeded"):
                raise
            summary = item if isinstance(item, Mapping) else {}
            return VerificationReport(
                checks=(failed("format", error.code, f"{error.detail}."),),
                credential={"id": summary.get("id") if isinstance(summary, Mapping) else None},
                verified_at=at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                chain_id=0,
            )


def _require_presentation(presentation: Any) -> Mapping[str, Any]:
    if not isinstance(presentation, Mapping) or "@context" not in presentation:
        raise InvalidInput(
            "not a presentation: expected a JSON object with @context and type",
            code="not_a_presentation",
        )
    if not is_presentation(presentation):
        raise InvalidInput(
            "not a presentation: its type does not include VerifiablePresentation",
            code="not_a_presentation",
        )
    require_supported_proofs(presentation.get("proof"))
    count = len(_presented(presentation))
    if count > MAX_PRESENTED:
        raise InvalidInput(
            f"the presentation holds {count} credentials; at most {MAX_PRESENTED} are verified "
            "in one request",
            code="too_many_credentials",
            limit=MAX_PRESENTED,
        )
    return presentation


def _presented(document: Mapping[str, Any]) -> list[Any]:
    value = document.get("verifiableCredential")
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _proof(document: Mapping[str, Any]) -> Mapping[str, Any]:
    try:
        return proofs.get_proof(document)
    except InvalidInput:
        return {}


def _presentation_proof(document: Mapping[str, Any], key: Any, moment: datetime) -> Check:
    """`proof`: the holder's signature over the presentation (challenge and domain included),
    not past its `expires`."""
    check = check_proof(document, key, proof_purpose="authentication")
    if check.status is not CheckStatus.PASSED:
        return check
    expires = _proof(document).get("expires")
    if expires is not None:
        until = parse_datetime_stamp(expires)
        if until is None or until <= moment:
            return failed(
                "proof", "proof_expired", f"The presentation's proof expired ({expires})."
            )
    return passed(
        "proof",
        "signature_valid",
        "The presentation's signature (with its challenge and domain) is the holder's: it is "
        "unchanged since it was signed.",
    )


def _challenge(document: Mapping[str, Any], expected: str | None) -> Check:
    claimed = _proof(document).get("challenge")
    if expected is None:
        return unknown(
            "challenge",
            "challenge_not_requested",
            "No challenge was given to compare: the presentation may be a replay.",
        )
    if claimed != expected:
        return failed(
            "challenge",
            "challenge_mismatch",
            "The presentation was made for another challenge (or none): it may be a replay.",
        )
    return passed("challenge", "challenge_matches", "The presentation answers this challenge.")


def _domain(document: Mapping[str, Any], expected: str | None) -> Check:
    claimed = _proof(document).get("domain")
    if expected is None:
        return passed("domain", "not_requested", "No domain was required.")
    if not domain_matches(claimed, expected):
        return failed(
            "domain",
            "domain_mismatch",
            f"The presentation was made for {claimed!r}, not for {expected!r}.",
        )
    return passed("domain", "domain_matches", f"The presentation was made for {expected}.")


def domain_matches(claimed: Any, expected: str) -> bool:
    """Whether a proof's `domain` (one value or a list of them) names `expected`."""
    names = claimed if isinstance(claimed, list) else [claimed]
    return expected in names


def _credentials(reports: tuple[VerificationReport, ...]) -> Check:
    if not reports:
        return passed("credentials", "no_credentials", "The presentation carries no credentials.")
    verdicts = [report.verdict for report in reports]
    bad = [i for i, verdict in enumerate(verdicts) if verdict is Verdict.INVALID]
    if bad:
        return failed(
            "credentials",
            "credential_invalid",
            f"Credential(s) {', '.join(str(i) for i in bad)} of the presentation are invalid.",
        )
    statuses = [CheckStatus.PASSED if v is Verdict.VALID else CheckStatus.UNKNOWN for v in verdicts]
    if combine(statuses) is not Verdict.VALID:
        return unknown(
            "credentials",
            "credential_unverified",
            "Some credentials of the presentation could not be fully verified.",
        )
    return passed(
        "credentials", "credentials_valid", f"All {len(reports)} credential(s) are valid."
    )
