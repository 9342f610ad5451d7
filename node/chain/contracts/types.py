"""The contract-shaped types, defined once: what the contracts take, store and return.

Why: services, the API, the indexers and the verifier must name proposal actions, issuer
statuses, status purposes, grants and anchors exactly as the contracts do. The enums mirror the
Solidity enums in `contracts/interfaces/` (same order, so the integer values match the ABI's
uint8); credential type ids are `keccak256(utf8(name))` of the credential's most specific VC type
(docs/design.md). Pure: no chain access.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from node.credentials.keccak import keccak256 as keccak
from node.errors import InvalidInput


class ProposalAction(IntEnum):
    """`IssuerRegistry.Action`; the value is what the contract takes and emits."""

    ACCREDIT_ISSUER = 0
    SUSPEND_ISSUER = 1
    REINSTATE_ISSUER = 2
    REMOVE_ISSUER = 3
    ADD_MEMBER = 4
    REMOVE_MEMBER = 5
    CHANGE_THRESHOLD = 6


#: Actions proposed through `proposeIssuerAction`.
ISSUER_ACTIONS = frozenset(
    {ProposalAction.SUSPEND_ISSUER, ProposalAction.REINSTATE_ISSUER, ProposalAction.REMOVE_ISSUER}
)
#: Actions proposed through `proposeMembership`.
MEMBERSHIP_ACTIONS = frozenset({ProposalAction.ADD_MEMBER, ProposalAction.REMOVE_MEMBER})


class IssuerStatus(IntEnum):
    """`IssuerRegistry.IssuerStatus`."""

    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2
    REMOVED = 3


class StatusPurpose(IntEnum):
    """`ICredentialRegistry.StatusPurpose`: the two bitmaps of a status list; revocation is
    permanent."""

    REVOCATION = 0
    SUSPENSION = 1


#: `grantedUntil` of a grant that is still open (`type(uint64).max`).
OPEN_GRANT = 2**64 - 1


@dataclass(frozen=True)
class Grant:
    """`IIssuerRegistry.Grant`: permission for one credential type over [granted_at,
    granted_until), usable inside [valid_from, valid_until) (valid_until 0 = no end)."""

    credential_type: bytes
    granted_at: int
    granted_until: int
    valid_from: int
    valid_until: int

    def covers(self, credential_type: bytes, moment: int) -> bool:
        """Whether this grant was in force for `credential_type` at `moment` (ignoring the
        issuer's status and the validity window)."""
        return self.credential_type == credential_type and (
            self.granted_at <= moment < self.granted_until
        )

    def in_window(self, moment: int) -> bool:
        return moment >= self.valid_from and (self.valid_until == 0 or moment < self.valid_until)


@dataclass(frozen=True)
class StatusChange:
    """`IIssuerRegistry.StatusChange`: the issuer's status from `at` on."""

    status: IssuerStatus
    at: int


def status_at(history: list[StatusChange], moment: int) -> IssuerStatus:
    """The issuer status in force at `moment`: the last change at or before it (the contract's
    own rule, `_statusAt`)."""
    current = IssuerStatus.NONE
    for change in history:
        if change.at > moment:
            break
        current = change.status
    return current


def accredited_at(
    grants: list[Grant], history: list[StatusChange], credential_type: bytes, moment: int
) -> bool:
    """`isAccredited(issuer, type, moment)` computed from the stored histories, exactly as the
    contract does for a past instant: Active then, and the latest grant covering the type then
    has its validity window around `moment`."""
    if status_at(history, moment) is not IssuerStatus.ACTIVE:
        return False
    for grant in reversed(grants):
        if grant.covers(credential_type, moment):
            return grant.in_window(moment)
    return False


@dataclass(frozen=True)
class AnchorRecord:
    """`anchorOf(issuer, root)`: when the root was anchored (block time and number) and how many
    credentials its batch holds."""

    timestamp: int
    block_number: int
    count: int


@dataclass(frozen=True)
class ProposalRecord:
    """`getProposal(id)` as stored; `approvals` counts current members' current approvals."""

    id: int
    action: ProposalAction
    target: str
    credential_types: tuple[bytes, ...]
    valid_from: int
    valid_until: int
    metadata_hash: bytes
    new_threshold: int
    proposer: str
    created_at: int
    expires_at: int
    executed: bool
    approvals: int
    aliases: tuple[str, ...]


OPEN_BADGE_CREDENTIAL = "OpenBadgeCredential"
CLR_CREDENTIAL = "ClrCredential"
#: Credential type names the node issues and the consortium accredits issuers for.
KNOWN_CREDENTIAL_TYPES: tuple[str, ...] = (OPEN_BADGE_CREDENTIAL, CLR_CREDENTIAL)


def credential_type_id(name: str) -> bytes:
    """The on-chain id of credential type `name`: keccak256 of its UTF-8 bytes (32 bytes)."""
    if not name:
        raise InvalidInput("a credential type name cannot be empty", code="invalid_credential_type")
    return keccak(name.encode("utf-8"))


def credential_type_name(type_id: bytes) -> str | None:
    """The known type name whose id is `type_id`, or None for a type this node does not know."""
    return _NAMES_BY_ID.get(bytes(type_id))


_NAMES_BY_ID = {credential_type_id(name): name for name in KNOWN_CREDENTIAL_TYPES}
