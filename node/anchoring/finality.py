"""Finality: anchored batches and mined status transactions deep enough become final; ones a
reorg removed go back.

Finality is re-checked against the canonical chain (the receipt's block hash), so a reorg sends
work back to the queue instead of leaving a wrong `final`. Before anything is recorded `final`,
`make_durable(block)` is called: on the embedded chain it persists the chain's state, so an
acknowledged `final` survives a crash of either process (external chains: no-op).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from node.anchoring.repository import AnchoringRepository
from node.anchoring.transitions import status_reopened, transition
from node.chain.client import ChainClient
from node.store.models import BatchState, TxState

log = logging.getLogger(__name__)

#: Called with a block number before any `final` is recorded at that height.
MakeDurable = Callable[[int], None]


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


class Finality:
    def __init__(
        self,
        repo: AnchoringRepository,
        chain: ChainClient,
        confirmations: int,
        make_durable: MakeDurable | None = None,
    ) -> None:
        self.repo = repo
        self.chain = chain
        self.confirmations = confirmations
        self._make_durable = make_durable

    def _durable(self, block: int) -> None:
        if self._make_durable is not None:
            self._make_durable(block)

    def anchors(self) -> bool:
        rows = self.repo.anchored_with_tx()
        if not rows:
            return False
        latest = self.chain.latest_block()
        changed, durable = False, False
        for batch, tx in rows:
            assert batch.id is not None and tx.id is not None
            canonical = self.chain.receipt(tx.tx_hash)
            if canonical is None or _hex(bytes(canonical["blockHash"])) != tx.block_hash:
                self._reorged(batch.id, tx.id, moved=canonical is not None)
                changed = True
                continue
            if latest - (batch.block_number or 0) < self.confirmations:
                continue
            if not durable:
                self._durable(latest)
                durable = True
            with self.repo.session() as session:
                stored = self.repo.batch(session, batch.id)
                chain_tx = self.repo.tx(session, tx.id)
                chain_tx.state = TxState.FINAL
                chain_tx.updated_at = datetime.now(UTC)
                session.add(chain_tx)
                transition(session, stored, BatchState.FINAL, detail=f"block {latest}")
            changed = True
        return changed

    def _reorged(self, batch_id: int, tx_id: int, *, moved: bool) -> None:
        """The anchoring block left the canonical chain: back to `submitted` for recovery."""
        log.warning("anchor batch %s left the canonical chain; resubmitting", batch_id)
        with self.repo.session() as session:
            batch = self.repo.batch(session, batch_id)
            tx = self.repo.tx(session, tx_id)
            batch.block_number = None
            batch.block_time = None
            tx.state = TxState.MINED if moved else TxState.SENT
            session.add(tx)
            transition(session, batch, BatchState.SUBMITTED, detail=tx.tx_hash)

    def status(self) -> bool:
        """Mined status transactions deep enough become final; one a reorg removed goes back
        to its updates' queue.

        Without this a revocation dropped by a reorg would stay `done` in the database while
        the chain's bit (what every verifier reads) is clear. Re-opened updates keep their
        transaction, so the status sender re-broadcasts the same bytes (same nonce), or
        re-signs if that nonce went to another transaction meanwhile.
        """
        txs = self.repo.mined_status_txs()
        if not txs:
            return False
        latest = self.chain.latest_block()
        changed, durable = False, False
        for tx in txs:
            assert tx.id is not None
            canonical = self.chain.receipt(tx.tx_hash)
            deep = latest - (tx.block_number or 0) >= self.confirmations
            if canonical is not None and deep and not durable:
                self._durable(latest)
                durable = True
            with self.repo.session() as session:
                stored = self.repo.tx(session, tx.id)
                if canonical is None:
                    log.warning("status transaction %s left the canonical chain", tx.tx_hash)
                    stored.state = TxState.SENT
                    stored.block_number = stored.block_hash = None
                    status_reopened(session, tx.id)
                    changed = True
                elif _hex(bytes(canonical["blockHash"])) != tx.block_hash:
                    # Re-included in another block: still applied, count depth from there.
                    stored.block_number = int(canonical["blockNumber"])
                    stored.block_hash = _hex(bytes(canonical["blockHash"]))
                elif deep:
                    stored.state = TxState.FINAL
                    changed = True
                stored.updated_at = datetime.now(UTC)
                session.add(stored)
        return changed
