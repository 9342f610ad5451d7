"""An issuer's (or member's) history replayed from indexed events, by the contract's rules.

Why replay instead of asking `isAccredited`: the registry protocols ask about any instant
(TRQP's `context.time`), want the reason when the answer is no, and want the entries behind a
yes (the evidence). Replaying the `GovernanceEvent` rows in chain order rebuilds exactly what
the IssuerRegistry keeps (`accreditationHistory`, `statusHistory`), with each entry pointing at
the event that made it. The rules mirror IssuerRegistry.sol:

- an accreditation closes the issuer's open grants (grantedUntil = its block time) and opens one
  per credential type (grantedUntil = 2^64-1); it makes the issuer Active unless it was Active or
  Suspended already (a suspension is only ever lifted by a reinstatement);
- suspension and reinstatement change the status; removal closes the open grants and makes the
  issuer Removed;
- `authorized_at(type, t)`: the status in force at t (the last change at or before t) is Active,
  and the newest grant of that type with grantedAt <= t < grantedUntil has t in its validity
  window [validFrom, validUntil) (validUntil 0 = no end). That is `isAccredited`, which a test
  compares against the contract at many instants.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from node.chain.contracts.types import IssuerStatus
from node.store.models import GovernanceEvent, GovernanceEventKind

#: `grantedUntil` of an open grant.
OPEN = 2**64 - 1


@dataclass(frozen=True)
class EventRef:
    """Where the chain recorded a decision: enough to fetch and check it on any RPC endpoint."""

    kind: str
    proposal_id: int
    block_number: int
    block_hash: str
    block_time: int
    transaction_hash: str
    log_index: int

    @classmethod
    def of(cls, row: GovernanceEvent) -> EventRef:
        return cls(
            kind=row.kind.value,
            proposal_id=row.proposal_id,
            block_number=row.block_number,
            block_hash=row.block_hash,
            block_time=row.block_time,
            transaction_hash=row.tx_hash,
            log_index=row.log_index,
        )


@dataclass(frozen=True)
class GrantEntry:
    """One entry of `accreditationHistory(issuer)`, at position `index`."""

    index: int
    credential_type: str  # 0x type id
    granted_at: int
    granted_until: int
    valid_from: int
    valid_until: int
    granted_by: EventRef

    def covers(self, moment: int) -> bool:
        return self.granted_at <= moment < self.granted_until

    def in_window(self, moment: int) -> bool:
        return moment >= self.valid_from and (self.valid_until == 0 or moment < self.valid_until)


@dataclass(frozen=True)
class StatusEntry:
    """One entry of `statusHistory(issuer)`, at position `index`."""

    index: int
    status: IssuerStatus
    at: int
    changed_by: EventRef


@dataclass(frozen=True)
class Decision:
    """Whether an issuer was authorized for a type at an instant, why, and the entries used."""

    authorized: bool
    code: str
    status: StatusEntry | None
    grant: GrantEntry | None


_REFUSALS = {
    IssuerStatus.NONE: "never_accredited",
    IssuerStatus.SUSPENDED: "issuer_suspended",
    IssuerStatus.REMOVED: "issuer_removed",
}


@dataclass(frozen=True)
class IssuerHistory:
    """The replayed record of one issuer address."""

    address: str
    grants: tuple[GrantEntry, ...]
    statuses: tuple[StatusEntry, ...]
    events: tuple[EventRef, ...]
    #: The proposal of the latest accreditation (0 if never accredited).
    accreditation_proposal: int
    metadata_hash: str | None

    @property
    def status(self) -> IssuerStatus:
        return self.statuses[-1].status if self.statuses else IssuerStatus.NONE

    def status_at(self, moment: int) -> StatusEntry | None:
        """The change in force at `moment`: the last one at or before it (the contract's rule)."""
        found = None
        for entry in self.statuses:
            if entry.at > moment:
                break
            found = entry
        return found

    def open_grants(self) -> list[GrantEntry]:
        return [grant for grant in self.grants if grant.granted_until == OPEN]

    def authorized_at(self, credential_type: str, moment: int) -> Decision:
        """`isAccredited(issuer, type, moment)`, with the reason and the entries behind it."""
        status = self.status_at(moment)
        current = status.status if status else IssuerStatus.NONE
        grant = next(
            (
                g
                for g in reversed(self.grants)
                if g.credential_type == credential_type and g.covers(moment)
            ),
            None,
        )
        if current is not IssuerStatus.ACTIVE:
            return Decision(False, _REFUSALS[current], status, grant)
        if grant is None:
            return Decision(False, "not_accredited_for_type", status, None)
        if not grant.in_window(moment):
            return Decision(False, "accreditation_not_in_force", status, grant)
        return Decision(True, "accredited", status, grant)


def replay_issuer(address: str, rows: Iterable[GovernanceEvent]) -> IssuerHistory:
    """Rebuild `accreditationHistory` and `statusHistory` from the issuer's events in order."""
    grants: list[GrantEntry] = []
    statuses: list[StatusEntry] = []
    events: list[EventRef] = []
    first_open = 0
    proposal, metadata_hash = 0, None

    def close_open(at: int) -> None:
        nonlocal first_open
        for position in range(first_open, len(grants)):
            grants[position] = _closed(grants[position], at)
        first_open = len(grants)

    def set_status(status: IssuerStatus, ref: EventRef) -> None:
        statuses.append(StatusEntry(len(statuses), status, ref.block_time, ref))

    for row in rows:
        ref = EventRef.of(row)
        events.append(ref)
        current = statuses[-1].status if statuses else IssuerStatus.NONE
        if row.kind is GovernanceEventKind.ACCREDITED:
            close_open(ref.block_time)
            if current not in (IssuerStatus.SUSPENDED, IssuerStatus.ACTIVE):
                set_status(IssuerStatus.ACTIVE, ref)
            for type_id in json.loads(row.credential_types or "[]"):
                grants.append(
                    GrantEntry(
                        index=len(grants),
                        credential_type=type_id,
                        granted_at=ref.block_time,
                        granted_until=OPEN,
                        valid_from=row.valid_from or 0,
                        valid_until=row.valid_until or 0,
                        granted_by=ref,
                    )
                )
            proposal, metadata_hash = row.proposal_id, row.metadata_hash
        elif row.kind is GovernanceEventKind.SUSPENDED:
            set_status(IssuerStatus.SUSPENDED, ref)
        elif row.kind is GovernanceEventKind.REINSTATED:
            set_status(IssuerStatus.ACTIVE, ref)
        elif row.kind is GovernanceEventKind.REMOVED:
            close_open(ref.block_time)
            set_status(IssuerStatus.REMOVED, ref)
    return IssuerHistory(
        address=address,
        grants=tuple(grants),
        statuses=tuple(statuses),
        events=tuple(events),
        accreditation_proposal=proposal,
        metadata_hash=metadata_hash,
    )


def member_at(rows: Iterable[GovernanceEvent], moment: int) -> tuple[bool, EventRef | None]:
    """Whether an address was a consortium member at `moment`, and the event that made it so."""
    member, last = False, None
    for row in rows:
        if row.block_time > moment:
            break
        if row.kind is GovernanceEventKind.MEMBER_ADDED:
            member, last = True, EventRef.of(row)
        elif row.kind is GovernanceEventKind.MEMBER_REMOVED:
            member, last = False, EventRef.of(row)
    return member, last


def _closed(grant: GrantEntry, at: int) -> GrantEntry:
    return GrantEntry(
        index=grant.index,
        credential_type=grant.credential_type,
        granted_at=grant.granted_at,
        granted_until=at,
        valid_from=grant.valid_from,
        valid_until=grant.valid_until,
        granted_by=grant.granted_by,
    )
