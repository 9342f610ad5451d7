"""The registries' events projected into the tables the node's verifier reads.

The indexer (`node.indexing`) reads each event once, in chain order, and hands it to these
handlers in the same database transaction that advances its cursor (and rolls them back on a
reorg). Together with the DID registry's projection they hold every chain fact verification
needs, so a node verifies from its database alone:

- `Anchored` -> `AnchorEvent` (who anchored which root, when, in which transaction);
- `StatusWordChanged` -> `StatusWordEvent` (it carries the full new word);
- `IssuerAccredited` / `IssuerSuspended` / `IssuerReinstated` / `IssuerRemoved` ->
  `IssuerEvent`, replayed into the grants and status history the IssuerRegistry stores
  (`replay_issuer`);
- `AliasBound` -> `IssuerAlias` (DIDs such as did:web the consortium bound to an issuer, TEAM
  decision 3).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hexbytes import HexBytes
from sqlmodel import Session, SQLModel, col, delete

from node.chain.contracts.types import Grant, IssuerStatus, StatusChange
from node.indexing.indexer import DecodedLog, Subscription
from node.store.models import (
    AnchorEvent,
    IssuerAlias,
    IssuerEvent,
    IssuerEventKind,
    StatusWordEvent,
)
from node.verification.readers.abi import RegistryAbi

OPEN = 2**64 - 1
_ISSUER_EVENTS = {
    "IssuerAccredited": IssuerEventKind.ACCREDITED,
    "IssuerSuspended": IssuerEventKind.SUSPENDED,
    "IssuerReinstated": IssuerEventKind.REINSTATED,
    "IssuerRemoved": IssuerEventKind.REMOVED,
}


def verification_subscriptions(
    credential_registry: str, issuer_registry: str, abi: RegistryAbi
) -> list[Subscription]:
    """The CredentialRegistry's and IssuerRegistry's subscriptions."""
    registry = credential_registry.lower()
    issuers = issuer_registry.lower()
    issuer_events = [*_ISSUER_EVENTS, "AliasBound"]
    return [
        Subscription(
            name="credential-registry",
            address=registry,
            abi=abi.credential_registry,
            events=("Anchored", "StatusWordChanged"),
            handler=_record_registry_event,
            rollback=_rollback(registry, AnchorEvent, StatusWordEvent),
        ),
        Subscription(
            name="issuer-registry",
            address=issuers,
            abi=abi.issuer_registry,
            events=tuple(issuer_events),
            handler=_record_issuer_event,
            rollback=_rollback(issuers, IssuerEvent, IssuerAlias),
        ),
    ]


def _record_registry_event(session: Session, event: DecodedLog) -> None:
    """One `Anchored` or `StatusWordChanged` event as its row."""
    args = event.args
    if event.event == "Anchored":
        session.add(
            AnchorEvent(
                contract=event.contract,
                issuer=str(args["issuer"]).lower(),
                root=_hex(args["root"]),
                credential_type=_hex(args["credentialType"]),
                count=int(args["count"]),
                block_number=event.block_number,
                log_index=event.log_index,
                block_time=event.block_time,
                tx_hash=event.tx_hash,
            )
        )
        return
    session.add(
        StatusWordEvent(
            contract=event.contract,
            issuer=str(args["issuer"]).lower(),
            list_id=str(int(args["listId"])),
            purpose=int(args["purpose"]),
            word_index=int(args["wordIndex"]),
            word=hex(int(args["word"])),
            block_number=event.block_number,
            log_index=event.log_index,
        )
    )


def _record_issuer_event(session: Session, event: DecodedLog) -> None:
    args = event.args
    if event.event == "AliasBound":
        session.add(
            IssuerAlias(
                contract=event.contract,
                issuer=str(args["issuer"]).lower(),
                alias_hash=_hex(args["aliasHash"]),
                did=str(args["did"]),
                block_number=event.block_number,
                log_index=event.log_index,
            )
        )
        return
    row = IssuerEvent(
        contract=event.contract,
        issuer=str(args["issuer"]).lower(),
        kind=_ISSUER_EVENTS[event.event],
        block_number=event.block_number,
        log_index=event.log_index,
        block_time=event.block_time,
    )
    if event.event == "IssuerAccredited":
        row.credential_types = json.dumps([_hex(t) for t in args["credentialTypes"]])
        row.valid_from = str(int(args["validFrom"]))
        row.valid_until = str(int(args["validUntil"]))
    session.add(row)


def _rollback(contract: str, *tables: type[SQLModel]) -> Callable[[Session, int], None]:
    def rollback(session: Session, first_block: int) -> None:
        for table in tables:
            session.exec(
                delete(table).where(
                    col(table.contract) == contract,  # type: ignore[attr-defined]
                    col(table.block_number) >= first_block,  # type: ignore[attr-defined]
                )
            )

    return rollback


def replay_issuer(
    rows: Sequence[IssuerEvent],
) -> tuple[list[Grant], list[StatusChange]]:
    """The grants and status history the IssuerRegistry stores, rebuilt from its events in chain
    order with their block times (`_accredit`, `_changeIssuerStatus` in the contract)."""
    grants: list[Grant] = []
    statuses: list[StatusChange] = []
    first_open = 0
    status = IssuerStatus.NONE

    def set_status(new: IssuerStatus, at: int) -> None:
        nonlocal status
        status = new
        statuses.append(StatusChange(new, at))

    def close_open(at: int) -> None:
        nonlocal first_open
        for i in range(first_open, len(grants)):
            grants[i] = Grant(
                grants[i].credential_type,
                grants[i].granted_at,
                at,
                grants[i].valid_from,
                grants[i].valid_until,
            )
        first_open = len(grants)

    for row in rows:
        at = int(row.block_time)
        if row.kind is IssuerEventKind.ACCREDITED:
            close_open(at)
            if status not in (IssuerStatus.SUSPENDED, IssuerStatus.ACTIVE):
                set_status(IssuerStatus.ACTIVE, at)
            for type_id in json.loads(row.credential_types):
                grants.append(
                    Grant(
                        bytes(HexBytes(type_id)),
                        at,
                        OPEN,
                        int(row.valid_from),
                        int(row.valid_until),
                    )
                )
        elif row.kind is IssuerEventKind.SUSPENDED:
            set_status(IssuerStatus.SUSPENDED, at)
        elif row.kind is IssuerEventKind.REINSTATED:
            set_status(IssuerStatus.ACTIVE, at)
        else:
            close_open(at)
            set_status(IssuerStatus.REMOVED, at)
    return grants, statuses


def _hex(value: bytes | str | Mapping[str, Any]) -> str:
    return "0x" + bytes(HexBytes(value)).hex()  # type: ignore[arg-type]
