"""Sending one institution's status updates (revocations, suspensions) as status words.

Updates are grouped by (list, purpose, value) into `updateStatusWords` transactions. They are
sent whatever the anchor state of their credentials: a revocation must reach the status list
even while the credential's batch waits, or was refused. A refused or reverted transaction
sends its updates back to the queue and raises `WorkRefused`, so the worker backs off for this
institution only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from sqlmodel import Session

from node.anchoring.outbox import TxOutbox
from node.anchoring.refusals import WorkRefused
from node.anchoring.repository import AnchoringRepository
from node.anchoring.transitions import status_done, status_requeued, status_sent
from node.chain.bindings import Contracts
from node.chain.contracts.types import StatusPurpose
from node.chain.sender import Receipt
from node.errors import ContractRevert
from node.store.models import ChainTx, Institution, StatusUpdate, TxState

#: Most status updates in one transaction.
STATUS_BATCH = 2048


class StatusSender:
    def __init__(
        self,
        repo: AnchoringRepository,
        contracts: Contracts,
        outbox_for: Callable[[Institution], TxOutbox],
    ) -> None:
        self.repo = repo
        self.contracts = contracts
        self._outbox_for = outbox_for

    def run(self, institution: Institution) -> bool:
        """Send the queued updates, or follow the ones already sent; True if anything was."""
        assert institution.id is not None
        queued = self.repo.queued_status(institution.id, STATUS_BATCH)
        if not queued:
            return self._resume(institution)
        for group in status_groups(queued):
            self._send_group(institution, group)
        return True

    def _send_group(self, institution: Institution, group: list[StatusUpdate]) -> None:
        first = group[0]
        words, masks = word_masks(u.status_index for u in group)
        call = self.contracts.credential_registry.update_status_words(
            first.list_number, StatusPurpose[first.purpose.upper()], words, masks, first.value
        )
        ids = [u.id for u in group]

        def attach(session: Session, tx: ChainTx) -> None:
            assert tx.id is not None
            status_sent(session, ids, tx.id)

        outbox = self._outbox_for(institution)
        try:
            tx, signed = outbox.sign_and_store(call, "status", attach)
        except ContractRevert as exc:
            raise WorkRefused(exc, [u.credential_id for u in group]) from exc
        outbox.broadcast(tx)
        self._finish(outbox.await_mined(tx, signed), tx)

    def _finish(self, receipt: Receipt, tx: ChainTx) -> None:
        assert tx.id is not None
        with self.repo.session() as session:
            if receipt.succeeded:
                status_done(session, tx.id)
                return
            credential_ids = self.repo.credentials_of_status_tx(session, tx.id)
            status_requeued(session, tx.id)
        revert = ContractRevert(f"status transaction {receipt.tx_hash} reverted", code="reverted")
        raise WorkRefused(revert, credential_ids)

    def _resume(self, institution: Institution) -> bool:
        """Transactions stored with their updates but not known to have succeeded."""
        assert institution.id is not None
        tx_ids = self.repo.open_status_tx_ids(institution.id)
        outbox = self._outbox_for(institution)
        for tx_id in tx_ids:
            receipt = outbox.find_receipt(tx_id)
            tx = self.repo.read_tx(tx_id)
            if receipt is not None:
                outbox.record_receipt(tx.nonce, receipt)
                self._finish(receipt, tx)
            elif not outbox.nonce_used(tx.nonce) and not outbox.stranded(tx.nonce):
                outbox.broadcast(tx)
            else:
                outbox.mark(tx_id, TxState.DROPPED, "nonce consumed or stranded")
                with self.repo.session() as session:
                    status_requeued(session, tx_id)
        return bool(tx_ids)


def status_groups(pending: list[StatusUpdate]) -> list[list[StatusUpdate]]:
    """Group updates by (list, purpose, value), in order, stopping at the first update that
    touches an entry already in the groups with another value: applying that one before the
    earlier one would reverse their order on chain."""
    groups: dict[tuple[int, str, bool], list[StatusUpdate]] = defaultdict(list)
    seen: dict[tuple[int, str, int], bool] = {}
    for item in pending:
        entry = (item.list_number, item.purpose, item.status_index)
        if entry in seen and seen[entry] != item.value:
            break
        seen[entry] = item.value
        groups[(item.list_number, item.purpose, item.value)].append(item)
    return list(groups.values())


def word_masks(indexes: Iterable[int]) -> tuple[list[int], list[int]]:
    """Status-list indexes as (word index, bit mask) pairs, for `updateStatusWords`."""
    masks: dict[int, int] = defaultdict(int)
    for index in indexes:
        masks[index >> 8] |= 1 << (index & 0xFF)
    words = sorted(masks)
    return words, [masks[w] for w in words]
