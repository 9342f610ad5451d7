"""What a verification produces, and the small interfaces the verification engine reads through.

Why a report instead of True/False or an exception: a verifier shows a person *which* guarantee
holds and which does not (signature fine, but the issuer was suspended when it anchored), and a
machine client switches on stable codes. So each check ends in `passed`, `failed` or `unknown`
(could not be decided, e.g. no anchor receipt) with a snake_case `code` and a sentence.

The engine depends on these protocols rather than on the `Node`, so the same engine runs inside
the node (indexed DID resolution, database-backed receipt lookup) and in the RPC-only CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from node.chain.contracts.types import AnchorRecord, Grant, StatusChange


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
    if any(status is CheckStatus.FAILED for status in statuses):
        return Verdict.INVALID
    if all(status is CheckStatus.PASSED for status in statuses):
        return Verdict.VALID
    return Verdict.UNKNOWN


@dataclass(frozen=True)
class VerificationReport:
    """The checks of one credential, what it says (for display) and its embedded credentials'
    reports (a CLR), which count towards the verdict."""

    checks: tuple[Check, ...]
    credential: dict[str, Any]
    verified_at: str
    chain_id: int
    embedded: tuple[VerificationReport, ...] = ()
    #: verifier-core's `registered_issuer` entry when registries are configured; informative,
    #: not part of the verdict (checks/registered_issuer.py says why).
    registered_issuer: Mapping[str, Any] | None = None

    @property
    def verdict(self) -> Verdict:
        own = [check.status for check in self.checks]
        inner = [_as_status(report.verdict) for report in self.embedded]
        return combine(own + inner)

    def check(self, name: str) -> Check:
        """The check called `name` (KeyError if it was not run)."""
        for item in self.checks:
            if item.name == name:
                return item
        raise KeyError(name)

    def as_json(self) -> dict[str, Any]:
        return {
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


def _as_status(verdict: Verdict) -> CheckStatus:
    return {
        Verdict.VALID: CheckStatus.PASSED,
        Verdict.INVALID: CheckStatus.FAILED,
        Verdict.UNKNOWN: CheckStatus.UNKNOWN,
    }[verdict]


# -- what the engine reads ---------------------------------------------------------------------


@dataclass(frozen=True)
class AnchorEvent:
    """Where the chain recorded an anchor: block number and transaction hash (0x, lowercase)."""

    block: int
    transaction: str


class ChainReader(Protocol):
    """The chain facts verification needs; every answer comes from the chain, never the issuer.

    Addresses are lowercase 0x hex; roots and type ids are 32 bytes.
    """

    @property
    def chain_id(self) -> int: ...

    @property
    def registry_address(self) -> str: ...

    def anchor_of(self, issuer: str, root: bytes) -> AnchorRecord | None:
        """`anchorOf(issuer, root)`: when (time and block) and in how big a batch."""
        ...

    def anchor_event(self, issuer: str, root: bytes, hint: int | None) -> AnchorEvent | None:
        """The `Anchored` event of (issuer, root): its block and transaction (`hint`: the
        receipt's block, looked at first)."""
        ...

    def is_accredited(self, issuer: str, credential_type: bytes, timestamp: int) -> bool: ...

    def status_history(self, issuer: str) -> list[StatusChange]: ...

    def accreditation_history(self, issuer: str) -> list[Grant]: ...

    def is_status_set(self, issuer: str, list_number: int, purpose: int, index: int) -> bool: ...

    def latest_time(self) -> int:
        """The latest block's timestamp (the chain's "now")."""
        ...


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
