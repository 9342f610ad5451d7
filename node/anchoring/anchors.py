"""Sending one institution's anchor batches and recording what the chain did with them.

Each batch becomes one `anchor(root, count, type)` transaction, stored before broadcast
(outbox.py). The contract refuses a root twice for the same issuer: an `AlreadyAnchored` revert
for our own (issuer, root) is success (a crash hid the receipt, or a lost anchor came back), and
the batch adopts the transaction found in the chain's logs. Any other refusal fails the batch
(its credentials go back to the outbox) and raises `WorkRefused` for the worker to record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel import Session

from node.anchoring.batches import BatchBuilder
from node.anchoring.outbox import TxOutbox
from node.anchoring.refusals import WorkRefused
from node.anchoring.repository import AnchoringRepository
from node.anchoring.transitions import transition
from node.chain.bindings import Contracts
from node.chain.client import ChainClient
from node.chain.sender import Receipt
from node.errors import ContractRevert
from node.store.models import AnchorBatch, BatchState, ChainTx, Institution, TxState

log = logging.getLogger(__name__)


def _root(batch: AnchorBatch) -> bytes:
    return bytes.fromhex(batch.root.removeprefix("0x"))


class AnchorSender:
    def __init__(
        self,
        repo: AnchoringRepository,
        chain: ChainClient,
        contracts: Contracts,
        builder: BatchBuilder,
        outbox_for: Callable[[Institution], TxOutbox],
    ) -> None:
        self.repo = repo
        self.chain = chain
        self.contracts = contracts
        self.builder = builder
        self._outbox_for = outbox_for

    def run(self, institution: Institution, flush: bool) -> bool:
        """Resume the institution's unfinished batches, then batch and send what is pending.
        True if anything was done."""
        assert institution.id is not None
        busy = False
        for batch in self.repo.submitted(institution.id):
            self._resume(institution, batch)
            busy = True
        for batch_id in self.builder.build(institution.id, flush):
            self._submit(institution, batch_id)
            busy = True
        return busy

    # -- sending -------------------------------------------------------------------------------

    def _submit(self, institution: Institution, batch_id: int) -> None:
        batch = self.repo.read_batch(batch_id)
        outbox = self._outbox_for(institution)
        call = self.contracts.credential_registry.anchor(
            _root(batch), batch.count, bytes.fromhex(batch.credential_type_id[2:])
        )

        def attach(session: Session, tx: ChainTx) -> None:
            stored = self.repo.batch(session, batch_id)
            stored.tx_id = tx.id
            transition(session, stored, BatchState.SUBMITTED)

        try:
            tx, signed = outbox.sign_and_store(call, "anchor", attach)
        except ContractRevert as exc:
            self._refused(institution, batch_id, exc)
            return
        outbox.broadcast(tx)
        receipt = outbox.await_mined(tx, signed)
        self._apply_receipt(institution, batch_id, receipt)

    def _refused(self, institution: Institution, batch_id: int, exc: ContractRevert) -> None:
        batch = self.repo.read_batch(batch_id)
        if exc.code == "already_anchored" and self._anchored_by_us(institution, batch):
            self._adopt(institution, batch_id)
            return
        with self.repo.session() as session:
            stored = self.repo.batch(session, batch_id)
            ids = self.repo.batch_members(session, batch_id)
            stored.last_error = exc.detail
            # The credentials are released and re-batched (same root, same row) once the
            # refusal is lifted; the worker records the refusal and backs off.
            transition(session, stored, BatchState.FAILED, detail=exc.detail, announce=False)
        raise WorkRefused(exc, ids)

    def _anchored_by_us(self, institution: Institution, batch: AnchorBatch) -> bool:
        registry = self.contracts.credential_registry
        return registry.anchor_of(institution.address, _root(batch)) is not None

    def _adopt(self, institution: Institution, batch_id: int) -> None:
        """Our root is on chain already: find its transaction in the logs and record it."""
        batch = self.repo.read_batch(batch_id)
        logs = self.contracts.credential_registry.anchored_events(
            institution.address, _root(batch), self.contracts.deployment.block_number
        )
        if not logs:
            return
        receipt = self.chain.receipt(logs[-1].transaction_hash)
        if receipt is None:
            return
        self._apply_receipt(institution, batch_id, Receipt.from_web3(receipt))

    def _apply_receipt(self, institution: Institution, batch_id: int, receipt: Receipt) -> None:
        if not receipt.succeeded:
            if self._anchored_by_us(institution, self.repo.read_batch(batch_id)):
                self._adopt(institution, batch_id)
                return
            self._refused(
                institution,
                batch_id,
                ContractRevert(f"anchor transaction {receipt.tx_hash} reverted", code="reverted"),
            )
            return
        block_time = datetime.fromtimestamp(self.chain.block_timestamp(receipt.block_number), UTC)
        with self.repo.session() as session:
            batch = self.repo.batch(session, batch_id)
            tx = self.repo.tx_by_hash(session, receipt.tx_hash)
            if tx is not None:
                batch.tx_id = tx.id
                tx.state = TxState.MINED
                tx.block_number = receipt.block_number
                tx.block_hash = receipt.block_hash
                session.add(tx)
            batch.block_number = receipt.block_number
            batch.block_time = block_time
            transition(session, batch, BatchState.ANCHORED, detail=receipt.tx_hash)

    # -- recovery ------------------------------------------------------------------------------

    def _resume(self, institution: Institution, batch: AnchorBatch) -> None:
        """A batch whose transaction was stored but whose outcome was not recorded."""
        assert batch.id is not None
        outbox = self._outbox_for(institution)
        if batch.tx_id is not None:
            tx = self.repo.read_tx(batch.tx_id)
            receipt = outbox.find_receipt(batch.tx_id)
            if receipt is not None:
                outbox.record_receipt(tx.nonce, receipt)
                self._apply_receipt(institution, batch.id, receipt)
                return
            if not outbox.nonce_used(tx.nonce) and not outbox.stranded(tx.nonce):
                # Still valid: the same bytes again (harmless if the chain has them already).
                outbox.broadcast(tx)
                return
            outbox.mark(batch.tx_id, TxState.DROPPED, "nonce consumed or stranded")
        if self._anchored_by_us(institution, batch):
            self._adopt(institution, batch.id)
            return
        # Lost (reorg or evicted): sign a fresh transaction for the same root.
        self._submit(institution, batch.id)
