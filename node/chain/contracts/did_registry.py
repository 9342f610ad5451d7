"""The ERC-1056 EthereumDIDRegistry's Python face: what issuers publish on their DIDs.

History is read from event logs (one `eth_getLogs` on the identity's topic), never from a
historical `changed(identity)` call, so nothing depends on archive state.
"""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import BlockIdentifier

from node.chain.client import ChainClient, chain_read

#: The registry's three change events, in the order ethr-did-resolver knows them.
DID_EVENTS = ("DIDOwnerChanged", "DIDDelegateChanged", "DIDAttributeChanged")


def identity_topic(identity: str) -> str:
    """topic1 of every ERC-1056 event of `identity` (the address, left-padded to 32 bytes)."""
    return "0x" + "00" * 12 + to_checksum_address(identity)[2:].lower()


class DidRegistry:
    """Typed access to one deployed EthereumDIDRegistry."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def set_attribute(
        self, identity: str, name: bytes, value: bytes, validity: int
    ) -> ContractFunction:
        return self.contract.functions.setAttribute(
            to_checksum_address(identity), name, value, validity
        )

    def revoke_attribute(self, identity: str, name: bytes, value: bytes) -> ContractFunction:
        return self.contract.functions.revokeAttribute(to_checksum_address(identity), name, value)

    def changed(self, identity: str) -> int:
        """The block of the identity's latest change (0: never changed), at the chain head."""
        call = self.contract.functions.changed(to_checksum_address(identity))
        return int(chain_read(call.call))

    def decode(self, raw_log: Any) -> Any | None:
        """One raw registry log decoded (web3 event data), or None if it is not a DID event."""
        for name in DID_EVENTS:
            try:
                return getattr(self.contract.events, name)().process_log(raw_log)
            except Exception:
                continue
        return None

    def identity_logs(
        self, client: ChainClient, identity: str, to_block: BlockIdentifier = "latest"
    ) -> list[Any]:
        """Every change event of `identity` up to `to_block`, decoded, in chain order."""
        raw = chain_read(
            lambda: client.w3.eth.get_logs(
                {
                    "address": self.contract.address,
                    "fromBlock": 0,
                    "toBlock": to_block,
                    "topics": [None, identity_topic(identity)],
                }
            )
        )
        ordered = sorted(raw, key=lambda log: (int(log["blockNumber"]), int(log["logIndex"])))
        return [d for d in (self.decode(log) for log in ordered) if d is not None]
