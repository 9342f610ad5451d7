"""The `accreditation` check: was the issuer accredited by the consortium for this credential
type when it anchored the credential?

Accreditation is judged at the anchoring time, not now: a university suspended today did not
retroactively lose the right to issue last year's diplomas, and a suspended issuer cannot mint
new ones (the contract refuses its anchors). When it fails, the issuer's status history says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from node.chain.contracts.types import IssuerStatus, credential_type_id, status_at
from node.credentials.format_check import credential_kind
from node.did.document import iso_time
from node.errors import InvalidInput
from node.verification.report import (
    ChainReader,
    Check,
    failed,
    passed,
    unknown,
)

_STATUS_FAILURES = {
    IssuerStatus.NONE: ("never_accredited", "was never accredited by the consortium"),
    IssuerStatus.SUSPENDED: ("issuer_suspended", "was suspended by the consortium"),
    IssuerStatus.REMOVED: ("issuer_removed", "had been removed by the consortium"),
}


def check_accreditation(
    credential: Mapping[str, Any], issuer: str, chain: ChainReader, anchor_time: int | None
) -> Check:
    """`accreditation`: `isAccredited(issuer, keccak256(kind), anchorTime)`."""
    name = "accreditation"
    try:
        kind = credential_kind(credential)
    except InvalidInput as error:
        return unknown(name, error.code, f"{error.detail}.")
    type_id = credential_type_id(kind)
    if anchor_time is None:
        now = chain.latest_time()
        if chain.is_accredited(issuer, type_id, now):
            return unknown(
                name,
                "no_anchor_time",
                f"The issuer is accredited for {kind} now, but without an anchor the time of "
                "issuance is unknown.",
            )
        return failed(name, *_why_not(chain, issuer, type_id, kind, now, "now"))
    when = iso_time(anchor_time)
    if chain.is_accredited(issuer, type_id, anchor_time):
        return passed(
            name, "accredited", f"The issuer was accredited for {kind} when it anchored ({when})."
        )
    return failed(name, *_why_not(chain, issuer, type_id, kind, anchor_time, f"at {when}"))


def _why_not(
    chain: ChainReader, issuer: str, type_id: bytes, kind: str, moment: int, when: str
) -> tuple[str, str]:
    status = status_at(chain.status_history(issuer), moment)
    if status in _STATUS_FAILURES:
        code, what = _STATUS_FAILURES[status]
        return code, f"The issuer {what} {when}."
    granted = any(grant.covers(type_id, moment) for grant in chain.accreditation_history(issuer))
    if granted:
        return (
            "accreditation_not_in_force",
            f"The issuer's accreditation for {kind} was outside its validity window {when}.",
        )
    return "not_accredited_for_type", f"The issuer was not accredited for {kind} {when}."
