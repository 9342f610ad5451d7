"""What a verification produces, and the small interfaces the verification engine reads through.

Why a report instead of True/False or an exception: a verifier shows a person *which* guarantee
holds and which does not (signature fine, but the issuer was suspended when it anchored), and a
machine client switches on stable codes. So each check ends in `passed`, `failed` or `unknown`
(could not be decided, e.g. no anchor receipt) with a snake_case `code` and a sentence.

The engine depends on small protocols rather than on the `Node` (here, and the chain's read
model in `readers/facts.py`), so the same engine runs inside the node (its event index,
database-backed receipt lookup) and in the RPC-only CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any


class CheckStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    UNKNOWN = "unknown"


class Verdict(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    UNKNOWN = "unknown"


#: The checks of one credential, in the order they are reported.
CHECK_NAMES: tuple[str, ...] = (
    "format",
    "proof",
    "issuer_key",
    "accreditation",
    "anchor",
    "status",
    "validity",
)


@dataclass(frozen=True)
class Check:
    """The outcome of one check: `code` is stable for machines, `detail` is for people."""

    name: str
    status: CheckStatus
    code: str
    detail: str

    def as_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "status": self.status.value,
            "code": self.code,
            "detail": self.detail,
        }


def passed(name: str, code: str, detail: str) -> Check:
    return Check(name, CheckStatus.PASSED, code, detail)


def failed(name: str, code: str, detail: str) -> Check:
    return Check(name, CheckStatus.FAILED, code, detail)


def unknown(name: str, code: str, detail: str) -> Check:
    return Check(name, CheckStatus.UNKNOWN, code, detail)


def combine(statuses: list[CheckStatus]) -> Verdict:
    """`valid` only if everything passed; any failure makes it `invalid`; else `unknown`."""
    if CheckStatus.FAILED in statuses:
        return Verdict.INVALID
    if statuses.count(CheckStatus.PASSED) == len(statuses):
        return Verdict.VALID
    return Verdict.UNKNOWN


def find_check(checks: tuple[Check, ...], name: str) -> Check:
    """The check called `name` (KeyError if it was not run)."""
    for item in checks:
        if item.name == name:
            return item
    raise KeyError(name)


@dataclass(frozen=True)
class VerificationReport:
    """The checks of one credential, what it says (for display) and its embedded credentials'
    reports (a CLR), which count towards the verdict."""

    checks: tuple[Check, ...]
    credential: dict[str, Any]
    verified_at: str
    chain_id: int
    embedded: tuple[VerificationReport, ...] = ()
    #: The block the chain facts reflect and their source (top-level report only).
    chain_state: Mapping[str, Any] | None = None
    #: verifier-core's `registered_issuer` entry when registries are configured; informative,
    #: not part of the verdict (checks/registered_issuer.py says why).
    registered_issuer: Mapping[str, Any] | None = None

    @cached_property
    def verdict(self) -> Verdict:
        """Worked out once: the node counts it and the API then writes it (the report is
        frozen, so it cannot change in between)."""
        statuses = [check.status for check in self.checks]
        statuses += [_STATUS_OF_VERDICT[report.verdict] for report in self.embedded]
        return combine(statuses)

    def check(self, name: str) -> Check:
        return find_check(self.checks, name)

    def as_json(self) -> dict[str, Any]:
        data = {
            "verdict": self.verdict.value,
            "checks": [check.as_json() for check in self.checks],
            "credential": self.credential,
            "embedded": [report.as_json() for report in self.embedded],
            "verifiedAt": self.verified_at,
            "chainId": self.chain_id,
            **(
                {"registeredIssuer": dict(self.registered_issuer)}
                if self.registered_issuer is not None
                else {}
            ),
        }
        if self.chain_state is not None:
            data["chainState"] = dict(self.chain_state)
        if self.registered_issuer is not None:
            data["registeredIssuer"] = dict(self.registered_issuer)
        return data


#: An embedded credential's verdict as a status of the credential that bundles it.
_STATUS_OF_VERDICT = {
    Verdict.VALID: CheckStatus.PASSED,
    Verdict.INVALID: CheckStatus.FAILED,
    Verdict.UNKNOWN: CheckStatus.UNKNOWN,
}


# -- what the engine reads ---------------------------------------------------------------------

#: credential hash (32 bytes) -> an anchor receipt for it, or None (the node's own database).
AnchorLookup = Callable[[bytes], Mapping[str, Any] | None]
#: status list credential URL -> that credential, or None (the node's own lists).
StatusListLookup = Callable[[str], Mapping[str, Any] | None]


@dataclass(frozen=True)
class Submission:
    """What a verifier was handed: a credential, and what a holder may keep next to it."""

    credential: dict[str, Any]
    receipt: dict[str, Any] | None = None
    embedded_receipts: tuple[dict[str, Any], ...] = ()
    status_lists: tuple[dict[str, Any], ...] = ()
    at: datetime | None = None
