"""The CredentialRegistry's events projected into the tables the node's verifier reads, and the
replay of an issuer's standing from the registry projection's rows.

The indexer (`node.indexing`) reads each event once, in chain order, and hands it to these
handlers in the same database transaction that advances its cursor (and rolls them back on a
reorg). With the DID registry's projection (same cursor) and the IssuerRegistry's (the registry
projection, `GovernanceEvent` / `IssuerAlias`, its own cursor) they hold every chain fact
verification needs, so a node verifies from its database alone:

- `Anchored` -> `AnchorEvent` (who anchored which root, when, in which transaction);
- `StatusWordChanged` -> `StatusWordEvent` (it carries the full new word);
- an issuer's `GovernanceEvent` rows -> the grants and status history the IssuerRegistry stores
  (`replay_issuer`, the contract's own rules, replayed once in `node.governance.history`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hexbytes import HexBytes
from sqlmodel import Session

from node.chain.contracts.types import Grant, StatusChange
from node.governance.history import OPEN
from node.governance.history import replay_issuer as replay_history
from node.indexing.indexer import DecodedLog, Subscription, delete_rows_from
from node.store.models import AnchorEvent, GovernanceEvent, StatusWordEvent
from node.verification.readers.abi import RegistryAbi

__all__ = ["OPEN", "credential_registry_subscription", "replay_issuer"]


def credential_registry_subscription(credential_registry: str, abi: RegistryAbi) -> Subscription:
    """The CredentialRegistry's anchors and status words."""
    registry = credential_registry.lower()
    return Subscription(
        name="credential-registry",
        address=registry,
        abi=abi.credential_registry,
        events=("Anchored", "StatusWordChanged"),
        handler=_record_registry_event,
        rollback=delete_rows_from(registry, AnchorEvent, StatusWordEvent),
    )


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


def replay_issuer(rows: Sequence[GovernanceEvent]) -> tuple[list[Grant], list[StatusChange]]:
    """The grants and status history the IssuerRegistry stores, rebuilt from the issuer's
    events in chain order by the contract's rules (`governance.history`, the one replay), in the
    contract's own shapes; membership events are not the issuer's standing and are skipped."""
    history = replay_history("", rows)
    grants = [
        Grant(
            bytes(HexBytes(entry.credential_type)),
            entry.granted_at,
            entry.granted_until,
            entry.valid_from,
            entry.valid_until,
        )
        for entry in history.grants
    ]
    return grants, [StatusChange(entry.status, entry.at) for entry in history.statuses]


def _hex(value: bytes | str | Mapping[str, Any]) -> str:
    return "0x" + bytes(HexBytes(value)).hex()  # type: ignore[arg-type]
