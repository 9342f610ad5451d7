"""Nothing is `anchored` or `final` that the chain does not hold.

The database can run ahead of the chain: the embedded chain restarted from an older state file,
an RPC endpoint was swapped for one that never saw our transactions. So the worker compares its
records with the chain at start-up (everything) and then every few steps (what changed within
`window`), each time in JSON-RPC batches of `anchorOf` and `statusWords` reads:

- an anchored or final batch whose (issuer, root) the chain lacks goes back to `built` (event
  `anchor_lost`) and is anchored again through the ordinary path; if the root reappears meanwhile
  the contract's `AlreadyAnchored` for our own root counts as success, so it is never anchored
  twice;
- a status update marked done whose bit the chain does not show is queued again (`status_lost`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from node.anchoring.repository import AnchoringRepository, StatusToCheck
from node.anchoring.transitions import status_lost, transition
from node.chain.bindings import Contracts
from node.chain.client import ChainClient
from node.chain.contracts.types import StatusPurpose
from node.store.models import BatchState, TxState

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(
        self,
        repo: AnchoringRepository,
        chain: ChainClient,
        contracts: Contracts,
        window: float = 600.0,
    ) -> None:
        self.repo = repo
        self.chain = chain
        self.contracts = contracts
        self.window = window

    def check(self, *, everything: bool) -> bool:
        """Compare with the chain; True if anything went back to a queue."""
        since = None if everything else datetime.now(UTC) - timedelta(seconds=self.window)
        lost = self._anchors(since)
        lost += self._status(since)
        return lost > 0

    def _anchors(self, since: datetime | None) -> int:
        candidates = self.repo.anchors_to_check(since)
        if not candidates:
            return 0
        registry = self.contracts.credential_registry
        records = registry.anchors_of(
            self.chain, [(c.issuer, bytes.fromhex(c.root[2:])) for c in candidates]
        )
        lost = [c for c, record in zip(candidates, records, strict=True) if record is None]
        for candidate in lost:
            self._lost(candidate.batch_id)
        return len(lost)

    def _lost(self, batch_id: int) -> None:
        with self.repo.session() as session:
            batch = self.repo.batch(session, batch_id)
            log.warning(
                "anchor batch %s (root %s) is %s here but not on chain: anchoring it again",
                batch_id, batch.root, batch.state,
            )  # fmt: skip
            if batch.tx_id is not None:
                tx = self.repo.tx(session, batch.tx_id)
                tx.state = TxState.DROPPED
                tx.error = "the chain no longer holds this transaction's anchor"
                tx.updated_at = datetime.now(UTC)
                session.add(tx)
            batch.tx_id = batch.block_number = batch.block_time = None
            transition(
                session, batch, BatchState.BUILT, detail="the chain does not hold this anchor"
            )

    def _status(self, since: datetime | None) -> int:
        candidates = self.repo.status_to_check(since)
        if not candidates:
            return 0
        by_list: dict[tuple[str, int, str], list[StatusToCheck]] = defaultdict(list)
        for candidate in candidates:
            key = (candidate.issuer, candidate.list_number, candidate.purpose)
            by_list[key].append(candidate)
        keys = list(by_list)
        words = self.contracts.credential_registry.status_words_of(
            self.chain, [(i, n, StatusPurpose[p.upper()]) for i, n, p in keys]
        )
        lost: list[int] = []
        for key, list_words in zip(keys, words, strict=True):
            for candidate in by_list[key]:
                index = candidate.status_index
                bit = bool((list_words[index >> 8] >> (index & 0xFF)) & 1)
                if bit != candidate.value:
                    lost.append(candidate.update_id)
        if lost:
            log.warning("%d status updates done here are not on chain: sending again", len(lost))
            with self.repo.session() as session:
                status_lost(session, lost)
        return len(lost)
