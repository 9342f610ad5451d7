"""Transactions that survive crashes: signed, stored, then broadcast.

A transaction is written to the database (`ChainTx`, state `signed`) in the same database
transaction as the work it carries (an anchor batch, status updates) *before* it is broadcast.
After a crash, `recover` finds it again: mined (its receipt is on chain), still pending (it is
re-broadcast with the same nonce and bytes, which cannot double-apply), or lost (the work goes
back to the queue). Nothing is ever sent that the database does not know about.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel import Session, select

from node.chain.client import ChainClient
from node.chain.sender import Receipt, SignedTx, Transactable, TransactionSender
from node.errors import ChainError
from node.store.db import Database
from node.store.models import ChainTx, TxState

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class TxOutbox:
    """The persistent transaction queue of one key."""

    def __init__(self, db: Database, sender: TransactionSender) -> None:
        self.db = db
        self.sender = sender

    @property
    def client(self) -> ChainClient:
        return self.sender.client

    def sign_and_store(
        self,
        call: Transactable,
        purpose: str,
        attach: Callable[[Session, ChainTx], None],
    ) -> tuple[ChainTx, SignedTx]:
        """Sign `call` and store it, letting `attach` link it to its work in the same DB
        transaction. Raises `ContractRevert` if gas estimation already shows a revert."""
        signed = self.sender.build_and_sign(call)
        try:
            with self.db.session() as session:
                tx = ChainTx(
                    sender=self.sender.address.lower(),
                    nonce=signed.nonce,
                    tx_hash=signed.hash,
                    raw="0x" + signed.raw.hex(),
                    purpose=purpose,
                    max_fee_per_gas=signed.fees.max_fee_per_gas,
                )
                session.add(tx)
                session.flush()
                attach(session, tx)
        except BaseException:
            # The nonce was allocated but nothing will carry it: ask the chain again.
            self.sender.resync_nonce()
            raise
        return tx, signed

    def broadcast(self, tx: ChainTx) -> None:
        """Broadcast a stored transaction; a node that already has it is fine."""
        try:
            self.sender.broadcast(bytes.fromhex(tx.raw.removeprefix("0x")))
        except ChainError as exc:
            if "already known" in exc.detail.lower() or exc.code == "already_known":
                return
            raise
        self._set_state(tx, TxState.SENT)

    def await_mined(self, tx: ChainTx, signed: SignedTx) -> Receipt:
        """Wait for a receipt, storing any fee-bumped replacement before it is broadcast."""

        def store_replacement(replacement: SignedTx) -> None:
            with self.db.session() as session:
                session.add(
                    ChainTx(
                        sender=tx.sender,
                        nonce=replacement.nonce,
                        tx_hash=replacement.hash,
                        raw="0x" + replacement.raw.hex(),
                        purpose=tx.purpose,
                        state=TxState.SENT,
                        max_fee_per_gas=replacement.fees.max_fee_per_gas,
                    )
                )

        receipt = self.sender.await_receipt(signed, on_replacement=store_replacement)
        self.record_receipt(tx.nonce, receipt)
        return receipt

    def record_receipt(self, nonce: int, receipt: Receipt) -> None:
        """Mark the mined hash `mined`/`failed` and its same-nonce siblings `dropped`."""
        with self.db.session() as session:
            siblings = session.exec(
                select(ChainTx).where(
                    ChainTx.sender == self.sender.address.lower(), ChainTx.nonce == nonce
                )
            ).all()
            for sibling in siblings:
                if sibling.tx_hash == receipt.tx_hash:
                    sibling.state = TxState.MINED if receipt.succeeded else TxState.FAILED
                    sibling.block_number = receipt.block_number
                    sibling.block_hash = receipt.block_hash
                elif sibling.state in (TxState.SIGNED, TxState.SENT):
                    sibling.state = TxState.DROPPED
                sibling.updated_at = _now()
                session.add(sibling)

    def find_receipt(self, tx_id: int) -> Receipt | None:
        """The receipt of `tx_id` or of any same-nonce replacement, if one is mined."""
        with self.db.session() as session:
            tx = session.get(ChainTx, tx_id)
            assert tx is not None
            hashes = session.exec(
                select(ChainTx.tx_hash).where(
                    ChainTx.sender == tx.sender, ChainTx.nonce == tx.nonce
                )
            ).all()
        for tx_hash in hashes:
            found = self.client.receipt(tx_hash)
            if found is not None:
                return Receipt.from_web3(found)
        return None

    def is_known(self, tx: ChainTx) -> bool:
        """Whether the chain (mempool or blocks) still knows the transaction."""
        return self.client.transaction(tx.tx_hash) is not None

    def nonce_used(self, nonce: int) -> bool:
        return self.client.nonce(self.sender.address, "latest") > nonce

    def stranded(self, nonce: int) -> bool:
        """True if `nonce` can never be mined: the chain's pending count is below it, so
        earlier nonces of this key are gone (the chain lost state). The key's counter is
        re-read from the chain so the next transaction closes the gap."""
        if self.client.nonce(self.sender.address, "pending") >= nonce:
            return False
        self.sender.resync_nonce()
        return True

    def mark(self, tx_id: int, state: TxState, error: str | None = None) -> None:
        with self.db.session() as session:
            tx = session.get(ChainTx, tx_id)
            assert tx is not None
            tx.state = state
            tx.error = error
            tx.updated_at = _now()
            session.add(tx)

    def _set_state(self, tx: ChainTx, state: TxState) -> None:
        assert tx.id is not None
        self.mark(tx.id, state)
        tx.state = state
