"""The DID registry's events projected into `DidChange` rows, which resolution replays.

The indexer (`node.indexing`) reads each ERC-1056 event once, in chain order, and hands it to
`record_did_change` in the same database transaction that advances its cursor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hexbytes import HexBytes
from sqlmodel import Session

from node.chain.artifacts import load_artifact
from node.indexing.indexer import DecodedLog, Subscription, delete_rows_from
from node.store.models import DidChange, DidChangeKind

DID_EVENTS = ("DIDOwnerChanged", "DIDDelegateChanged", "DIDAttributeChanged")


def did_registry_subscription(
    address: str, abi: Sequence[Mapping[str, Any]] | None = None
) -> Subscription:
    """Project an EthereumDIDRegistry's events into `DidChange` rows."""
    if abi is None:
        abi = load_artifact("EthereumDIDRegistry").abi
    contract = address.lower()

    return Subscription(
        name="did-registry",
        address=contract,
        abi=abi,
        events=DID_EVENTS,
        handler=record_did_change,
        rollback=delete_rows_from(contract, DidChange),
    )


def record_did_change(session: Session, event: DecodedLog) -> None:
    """Store one ERC-1056 event as a `DidChange` row."""
    args = event.args
    row = DidChange(
        contract=event.contract,
        identity=str(args["identity"]).lower(),
        block_number=event.block_number,
        log_index=event.log_index,
        block_hash=event.block_hash,
        block_time=event.block_time,
        tx_hash=event.tx_hash,
        kind=_KINDS[event.event],
        previous_change=int(args["previousChange"]),
    )
    if event.event == "DIDOwnerChanged":
        row.owner = str(args["owner"]).lower()
    elif event.event == "DIDDelegateChanged":
        row.delegate_type = _hex(args["delegateType"])
        row.delegate = str(args["delegate"]).lower()
        row.valid_to = str(int(args["validTo"]))
    else:
        row.name = _hex(args["name"])
        row.value = _hex(args["value"])
        row.valid_to = str(int(args["validTo"]))
    session.add(row)


_KINDS = {
    "DIDOwnerChanged": DidChangeKind.OWNER,
    "DIDDelegateChanged": DidChangeKind.DELEGATE,
    "DIDAttributeChanged": DidChangeKind.ATTRIBUTE,
}


def _hex(value: bytes | str) -> str:
    return "0x" + bytes(HexBytes(value)).hex()
