"""The CredentialRegistry's Python face: anchors and status bitmaps, typed.

Anchors are keyed by (issuer, root): no issuer can anchor in another's way. `anchor_of` answers
from current state only (the contract stores the anchoring block number with the time), so a
verifier never needs archive state or logs to date an issuance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import event_abi_to_log_topic, to_checksum_address
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import BlockIdentifier

from node.chain.client import ChainClient, chain_read
from node.chain.contracts.types import AnchorRecord, StatusPurpose

#: 256-bit words in one status list (`LIST_WORDS` on chain; 131,072 entries).
WORDS_PER_LIST = 512


@dataclass(frozen=True)
class AnchoredEvent:
    """One `Anchored` log: who anchored which root, where."""

    issuer: str
    root: bytes
    credential_type: bytes
    count: int
    block_number: int
    transaction_hash: str


class CredentialRegistry:
    """Typed access to one deployed CredentialRegistry."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract

    @property
    def address(self) -> str:
        return str(self.contract.address)

    # -- discovery -----------------------------------------------------------------------------

    def issuer_registry_address(self) -> str:
        return str(chain_read(self.contract.functions.registry().call))

    def did_registry_address(self) -> str:
        return str(chain_read(self.contract.functions.didRegistry().call))

    # -- anchors -------------------------------------------------------------------------------

    def anchor(self, root: bytes, count: int, credential_type: bytes) -> ContractFunction:
        return self.contract.functions.anchor(root, count, credential_type)

    def anchor_of(self, issuer: str, root: bytes) -> AnchorRecord | None:
        """The issuer's anchor of `root`, or None when that issuer never anchored it."""
        call = self.contract.functions.anchorOf(to_checksum_address(issuer), root)
        timestamp, block_number, count = chain_read(call.call)
        if int(timestamp) == 0:
            return None
        return AnchorRecord(int(timestamp), int(block_number), int(count))

    def anchors_of(
        self, client: ChainClient, pairs: Sequence[tuple[str, bytes]], chunk: int = 500
    ) -> list[AnchorRecord | None]:
        """`anchor_of` for many (issuer, root) pairs in JSON-RPC batches (one round trip per
        `chunk`), all at the latest block: what reconciliation checks every few steps."""
        found: list[AnchorRecord | None] = []
        for start in range(0, len(pairs), chunk):
            calls = [
                self._eth_call("anchorOf", to_checksum_address(issuer), root)
                for issuer, root in pairs[start : start + chunk]
            ]
            for raw in client.read_batch(calls):
                timestamp, block_number, count = self._decode("anchorOf", raw)
                found.append(
                    None
                    if int(timestamp) == 0
                    else AnchorRecord(int(timestamp), int(block_number), int(count))
                )
        return found

    def anchored_events(self, issuer: str, root: bytes, from_block: int) -> list[AnchoredEvent]:
        """The `Anchored` logs of (issuer, root) from `from_block` on (normally one)."""
        event = self.contract.events.Anchored()
        logs = chain_read(
            lambda: event.get_logs(
                from_block=from_block,
                argument_filters={"issuer": to_checksum_address(issuer), "root": root},
            )
        )
        return [
            AnchoredEvent(
                issuer=str(log["args"]["issuer"]).lower(),
                root=bytes(log["args"]["root"]),
                credential_type=bytes(log["args"]["credentialType"]),
                count=int(log["args"]["count"]),
                block_number=int(log["blockNumber"]),
                transaction_hash="0x" + bytes(log["transactionHash"]).hex(),
            )
            for log in logs
        ]

    @property
    def anchored_topic(self) -> bytes:
        """topic0 of `Anchored` (topic1 is the issuer, topic2 the root)."""
        abi = next(
            item
            for item in self.contract.abi
            if item.get("type") == "event" and item.get("name") == "Anchored"
        )
        return bytes(event_abi_to_log_topic(abi))  # type: ignore[arg-type]

    # -- status bitmaps ------------------------------------------------------------------------

    def update_status_words(
        self,
        list_id: int,
        purpose: StatusPurpose,
        word_indexes: Sequence[int],
        masks: Sequence[int],
        value: bool,
    ) -> ContractFunction:
        return self.contract.functions.updateStatusWords(
            list_id, int(purpose), list(word_indexes), list(masks), value
        )

    def status_words_of(
        self, client: ChainClient, lists: Sequence[tuple[str, int, StatusPurpose]]
    ) -> list[tuple[int, ...]]:
        """`status_words` of many (issuer, list, purpose) in one JSON-RPC batch."""
        calls = [
            self._eth_call(
                "statusWords", to_checksum_address(issuer), number, int(purpose), 0, WORDS_PER_LIST
            )
            for issuer, number, purpose in lists
        ]
        return [
            tuple(int(w) for w in self._decode("statusWords", raw)[0])
            for raw in client.read_batch(calls)
        ]

    def _eth_call(self, function: str, *args: Any) -> tuple[str, list[Any]]:
        data = self.contract.encode_abi(function, args=list(args))
        return "eth_call", [{"to": self.address, "data": data}, "latest"]

    def _decode(self, function: str, raw: Any) -> tuple[Any, ...]:
        abi = next(
            item
            for item in self.contract.abi
            if item.get("type") == "function" and item.get("name") == function
        )
        outputs: list[Any] = list(abi.get("outputs") or [])  # type: ignore[call-overload]
        types = [str(o["type"]) for o in outputs]
        data = bytes.fromhex(str(raw).removeprefix("0x")) if isinstance(raw, str) else bytes(raw)
        return tuple(self.contract.w3.codec.decode(types, data))

    def is_status_set(self, issuer: str, list_id: int, purpose: StatusPurpose, index: int) -> bool:
        call = self.contract.functions.isStatusSet(
            to_checksum_address(issuer), list_id, int(purpose), index
        )
        return bool(chain_read(call.call))

    def status_words(
        self, issuer: str, list_id: int, purpose: StatusPurpose, block: BlockIdentifier = "latest"
    ) -> tuple[int, ...]:
        """The whole list's words for `purpose` (512 of them), at the head or at a block just
        read (recent blocks are kept by every node; never ask for old ones)."""
        call = self.contract.functions.statusWords(
            to_checksum_address(issuer), list_id, int(purpose), 0, WORDS_PER_LIST
        )
        return tuple(int(w) for w in chain_read(lambda: call.call(block_identifier=block)))
