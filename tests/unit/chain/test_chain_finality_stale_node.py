"""wait_final trusts the canonical block hash, not the receipt a lagging node may still serve.

Behind a load balancer, one backend can return the receipt of a transaction whose block another
backend has already reorged away. Anvil cannot be made to do that, so this test scripts such a
node: a small in-memory chain that answers the few reads `wait_final` makes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from hexbytes import HexBytes

from node.chain.anvil import dev_accounts
from node.chain.client import ChainClient, NonceSlot
from node.chain.sender import TransactionSender
from node.errors import ChainError

TX = "0x" + "aa" * 32
ORPHANED_BLOCK = HexBytes("0x" + "01" * 32)
CANONICAL_BLOCK = HexBytes("0x" + "02" * 32)


@dataclass
class StaleReceiptNode:
    """Serves a receipt in block 5 `ORPHANED_BLOCK` while the canonical block 5 is another one;
    after `heal_after` receipt reads it serves the receipt of the re-included transaction."""

    heal_after: int | None
    head: int = 10
    reads: int = 0
    slot: NonceSlot = field(default_factory=NonceSlot)

    def receipt(self, tx_hash: str) -> dict[str, Any]:
        self.reads += 1
        healed = self.heal_after is not None and self.reads > self.heal_after
        return {
            "transactionHash": HexBytes(TX),
            "blockNumber": 6 if healed else 5,
            "blockHash": CANONICAL_BLOCK if healed else ORPHANED_BLOCK,
            "status": 1,
            "gasUsed": 21_000,
            "contractAddress": None,
        }

    def latest_block(self) -> int:
        return self.head

    def block_hash(self, number: int) -> HexBytes:
        return CANONICAL_BLOCK if number == 6 else HexBytes("0x" + "05" * 32)

    def nonce_slot(self, address: str) -> NonceSlot:
        return self.slot


def sender_on(node: StaleReceiptNode) -> TransactionSender:
    return TransactionSender(
        cast(ChainClient, node), dev_accounts()[0], confirmations=2, poll_interval=0.001
    )


def test_receipt_in_an_orphaned_block_is_not_reported_final() -> None:
    with pytest.raises(ChainError) as caught:
        sender_on(StaleReceiptNode(heal_after=None)).wait_final(TX, timeout=0.2)
    assert caught.value.code == "finality_timeout"


def test_receipt_becomes_final_once_it_is_in_the_canonical_block() -> None:
    node = StaleReceiptNode(heal_after=3)
    final = sender_on(node).wait_final(TX, timeout=2)
    assert (final.block_number, final.block_hash) == (6, "0x" + CANONICAL_BLOCK.hex())
    assert node.reads == 4
