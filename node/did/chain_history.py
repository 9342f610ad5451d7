"""A DID's ERC-1056 change history read straight from the chain, with no database.

The indexer serves resolution on a node; this walk is for whoever has nothing but an RPC URL
(the standalone verifier, onboarding right after a write). It reads the identity's events in
one `eth_getLogs` (ERC-1056 indexes every event by identity), which is the same history
`ethr-did-resolver` collects by following `changed[identity]` and each `previousChange`, without
needing state at a past block.
"""

from __future__ import annotations

from typing import Any

from web3.types import BlockIdentifier

from node.chain.client import ChainClient
from node.chain.contracts.did_registry import DidRegistry
from node.did.document import AttributeChanged, DelegateChanged, DidEvent, OwnerChanged


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
    client: ChainClient, registry: DidRegistry, identity: str, *, block: BlockIdentifier = "latest"
) -> list[DidEvent]:
    """Every change of `identity` up to `block`, oldest first (log order within a block).

    One `eth_getLogs` on the identity's topic (every ERC-1056 event indexes the identity), so
    the history never depends on archive state: the `changed(identity)` pointer ethr-did-resolver
    starts from would have to be read at a historical block.
    """
    times: dict[int, int] = {}
    history: list[DidEvent] = []
    for item in registry.identity_logs(client, identity, to_block=block):
        number = int(item["blockNumber"])
        if number not in times:
            times[number] = client.block_timestamp(number)
        history.append(to_did_event(item, times[number]))
    return history
