"""A DID's ERC-1056 change history read straight from the chain, with no database.

The indexer serves resolution on a node; this walk is for whoever has nothing but an RPC URL
(the standalone verifier, onboarding right after a write). It follows the registry's
`changed[identity]` pointer and each event's `previousChange`, one block at a time, the way
`ethr-did-resolver` does, so both see the same history.
"""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address
from web3.contract import Contract
from web3.types import BlockIdentifier

from node.chain.client import ChainClient
from node.did.document import AttributeChanged, DelegateChanged, DidEvent, OwnerChanged

_EVENTS = ("DIDOwnerChanged", "DIDDelegateChanged", "DIDAttributeChanged")


def _decode(registry: Contract, raw_log: Any) -> Any | None:
    for name in _EVENTS:
        event = getattr(registry.events, name)()
        try:
            return event.process_log(raw_log)
        except Exception:
            continue
    return None


def to_did_event(decoded: Any, block_time: int) -> DidEvent:
    """One decoded registry log as the document builder's event."""
    args, block = decoded["args"], int(decoded["blockNumber"])
    if decoded["event"] == "DIDOwnerChanged":
        return OwnerChanged(block, block_time, args["owner"])
    if decoded["event"] == "DIDDelegateChanged":
        return DelegateChanged(
            block, block_time, bytes(args["delegateType"]), args["delegate"], int(args["validTo"])
        )
    return AttributeChanged(
        block, block_time, bytes(args["name"]), bytes(args["value"]), int(args["validTo"])
    )


def fetch_did_history(
    client: ChainClient, registry: Contract, identity: str, *, block: BlockIdentifier = "latest"
) -> list[DidEvent]:
    """Every change of `identity` up to `block`, oldest first (log order within a block)."""
    address = to_checksum_address(identity)
    topic = "0x" + "00" * 12 + address[2:].lower()
    previous = int(registry.functions.changed(address).call(block_identifier=block))
    history: list[DidEvent] = []
    while previous:
        number = previous
        logs = client.w3.eth.get_logs(
            {
                "address": registry.address,
                "fromBlock": number,
                "toBlock": number,
                "topics": [None, topic],
            }
        )
        block_time = client.block_timestamp(number)
        decoded = [d for d in (_decode(registry, log) for log in logs) if d is not None]
        previous = 0
        for item in reversed(decoded):
            history.insert(0, to_did_event(item, block_time))
            if int(item["args"]["previousChange"]) < number:
                previous = int(item["args"]["previousChange"])
    return history
