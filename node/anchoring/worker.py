"""The anchoring worker: the only code that sends transactions for an institution's key.

It drains two outboxes that issuance and revocation fill inside their own database
transactions:
- pending credentials -> Merkle batches -> one `anchor(root, count, type)` transaction each;
- pending status updates -> one `updateStatusWords` transaction per (list, purpose, value).

Every step is idempotent so that a crash anywhere is repaired by simply running again:
a batch row is created together with the credentials' membership in it (so no credential joins
two batches), its transaction is stored before broadcast (see outbox.py), the contract refuses a
root twice (and an `AlreadyAnchored` revert for our own root counts as success), and finality is
re-checked against the canonical chain so a reorg sends work back to the queue instead of
leaving a wrong `final`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from eth_account.signers.local import LocalAccount
from sqlalchemy import Connection, insert, text, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from node.anchoring.outbox import TxOutbox
from node.chain.bindings import Contracts
from node.chain.client import ChainClient
from node.chain.contracts.types import StatusPurpose
from node.chain.sender import Receipt, TransactionSender
from node.credentials.merkle import MerkleTree, leaf
from node.errors import ChainError, ContractRevert, StorageError
from node.store.db import Database
from node.store.file_lease import FileLease
from node.store.models import (
    AnchorBatch,
    BatchState,
    ChainTx,
    Credential,
    CredentialEvent,
    CredentialState,
    Institution,
    StatusUpdate,
    TxState,
)

log = logging.getLogger(__name__)

#: How long an institution's anchoring pauses after the contract refused it (not accredited).
REFUSAL_BACKOFF = 30.0
#: Most status updates in one transaction.
STATUS_BATCH = 2048
#: PostgreSQL advisory lock key of the sending lease (64-bit; "lernode:anchoring-worker").
SENDER_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"lernode:anchoring-worker").digest()[:8], "big", signed=True
)


def _now() -> datetime:
    return datetime.now(UTC)


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


class SenderLease:
    """Whether this process may send for the institution keys: one sender per database.

    Several API processes sharing one PostgreSQL database each run an `AnchoringWorker`; if all
    of them sent, one key would have several nonce counters and every batch could be anchored
    by whichever process got there first. The worker therefore holds a session-level PostgreSQL
    advisory lock on a connection of its own for as long as it runs; the others stand by and try
    again each poll. If the holder dies (even by kill -9) the server ends its session and so
    releases the lock, and a standby takes over from the outboxes in the database.

    Holding is re-checked before every step: a lock connection that broke (database restart)
    means the lock may already be someone else's, so the worker drops it and competes again.
    On SQLite the lease is an exclusive file lock beside the database (`FileLease`): API
    worker processes and a second node on the same file open it too.
    """

    def __init__(self, db: Database, key: int = SENDER_LOCK_KEY) -> None:
        self.db = db
        self.key = key
        self._connection: Connection | None = None
        self._guard = threading.Lock()
        self._file = FileLease.beside(db, "sender")

    def held(self) -> bool:
        """True if this process holds the lease now (taking it if it is free)."""
        if self.db.is_sqlite:
            return self._file.held()
        with self._guard:
            if self._connection is not None:
                try:
                    self._connection.execute(text("SELECT 1"))
                    self._connection.commit()
                    return True
                except DBAPIError:
                    log.warning("lost the database session holding the sending lease")
                    self._discard()
            return self._try_take()

    def release(self) -> None:
        self._file.release()
        with self._guard:
            if self._connection is not None:
                try:
                    self._connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": self.key}
                    )
                    self._connection.commit()
                except DBAPIError:
                    pass
                self._discard()

    def _try_take(self) -> bool:
        try:
            connection = self.db.engine.connect()
        except DBAPIError:
            return False
        # Out of the pool: closing it must end the session (and so the lock), and no request
        # may ever borrow a connection that holds it.
        connection.detach()
        try:
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            ).scalar()
            connection.commit()
        except DBAPIError:
            connection.close()
            return False
        if not taken:
            connection.close()
            return False
        log.info("this process is now the chain sender (anchoring lease taken)")
        self._connection = connection
        return True

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(DBAPIError):
                connection.close()


@dataclass(frozen=True)
class WorkerConfig:
    batch_size: int
    batch_interval: float
    confirmations: int
    idle_poll: float = 0.2


class AnchoringWorker:
    """Drains the anchoring and status outboxes of every institution hosted by this node."""

    def __init__(
        self,
        db: Database,
        chain: ChainClient,
        contracts: Contracts,
        account_for: Callable[[Institution], LocalAccount],
        sender_for: Callable[[LocalAccount], TransactionSender],
        config: WorkerConfig,
    ) -> None:
        self.db = db
        self.chain = chain
        self.contracts = contracts
        self._account_for = account_for
        self._sender_for = sender_for
        self.config = config
        self.wake = threading.Event()
        self._flush = threading.Event()
        self._paused_until: dict[int, float] = {}
        self._lock = threading.Lock()  # one step at a time, whoever calls it
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.lease = SenderLease(db)

    # -- running ------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="anchoring-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.lease.release()

    def request_flush(self) -> None:
        """Anchor what is pending now instead of waiting for a full batch."""
        self._flush.set()
        self.wake.set()

    def _run(self) -> None:
        backoff = self.config.idle_poll
        while not self._stop.is_set():
            try:
                busy = self.step()
                backoff = self.config.idle_poll
            except (ChainError, StorageError) as exc:
                # Outages are expected: keep everything queued and retry with backoff.
                log.warning("anchoring paused: %s (retry in %.1fs)", exc.detail, backoff)
                busy = False
                backoff = min(backoff * 2, 30.0)
            except Exception:
                log.exception("anchoring step failed")
                busy = False
                backoff = min(backoff * 2, 30.0)
            if not busy:
                self.wake.wait(backoff)
                self.wake.clear()

    def step(self) -> bool:
        """One pass over all outboxes; True if anything was done (call again soon)."""
        with self._lock:
            if not self.lease.held():
                return False  # another process sends; stand by
            flush = self._flush.is_set()
            self._flush.clear()
            busy = self._resume_submitted()
            for institution in self._institutions():
                if self._paused(institution):
                    continue
                busy |= self._anchor_pending(institution, flush)
                busy |= self._send_status_updates(institution)
            busy |= self._finalize()
            busy |= self._finalize_status()
            return busy

    def drain(self, timeout: float = 120.0) -> None:
        """Run until nothing is pending or waiting for finality (tests, CLI `--wait`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.request_flush()
            self.step()
            if not self._outstanding():
                return
            time.sleep(0.05)
        raise ChainError("anchoring did not finish in time", code="anchoring_timeout")

    # -- anchoring ----------------------------------------------------------------------------

    def _institutions(self) -> list[Institution]:
        with self.db.session() as session:
            return list(session.exec(select(Institution)).all())

    def _paused(self, institution: Institution) -> bool:
        assert institution.id is not None
        return self._paused_until.get(institution.id, 0.0) > time.monotonic()

    def _anchor_pending(self, institution: Institution, flush: bool) -> bool:
        busy = False
        for batch_id in self._build_batches(institution, flush):
            self._submit_batch(institution, batch_id)
            busy = True
        return busy

    def _build_batches(self, institution: Institution, flush: bool) -> list[int]:
        """Cut pending credentials into batches; return ids of batches waiting for a tx,
        including ones built before a crash."""
        with self.db.session() as session:
            waiting = list(
                session.exec(
                    select(AnchorBatch.id).where(
                        AnchorBatch.institution_id == institution.id,
                        AnchorBatch.state == BatchState.BUILT,
                    )
                ).all()
            )
            types = session.exec(
                select(Credential.credential_type_id)
                .where(
                    Credential.institution_id == institution.id,
                    Credential.state == CredentialState.PENDING,
                    col(Credential.batch_id).is_(None),
                )
                .distinct()
            ).all()
            for type_id in types:
                while True:
                    batch_id = self._build_one(session, institution, type_id, flush)
                    if batch_id is None:
                        break
                    waiting.append(batch_id)
        return [b for b in waiting if b is not None]

    def _build_one(
        self, session: Session, institution: Institution, type_id: str, flush: bool
    ) -> int | None:
        rows = session.exec(
            select(Credential.id, Credential.credential_hash, Credential.created_at)
            .where(
                Credential.institution_id == institution.id,
                Credential.credential_type_id == type_id,
                Credential.state == CredentialState.PENDING,
                col(Credential.batch_id).is_(None),
            )
            .order_by(col(Credential.created_at), col(Credential.id))
            .limit(self.config.batch_size)
        ).all()
        if not rows:
            return None
        oldest = rows[0][2]
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        full = len(rows) >= self.config.batch_size
        due = _now() - oldest >= timedelta(seconds=self.config.batch_interval)
        if not (full or due or flush):
            return None
        tree = MerkleTree([leaf(bytes.fromhex(h.removeprefix("0x"))) for _, h, _ in rows])
        batch = AnchorBatch(
            institution_id=institution.id,  # type: ignore[arg-type]
            credential_type_id=type_id,
            root=_hex(tree.root),
            count=len(rows),
        )
        session.add(batch)
        session.flush()
        now = _now()
        # One executemany (ORM bulk update by primary key), not one statement per credential.
        session.execute(
            update(Credential),
            [
                {
                    "id": credential_id,
                    "batch_id": batch.id,
                    "leaf_index": index,
                    "merkle_proof": json.dumps([_hex(p) for p in tree.proof(index)]),
                    "updated_at": now,
                }
                for index, (credential_id, _, _) in enumerate(rows)
            ],
        )
        # Commit per batch: a crash later keeps the batch, which is resumed as it is.
        session.commit()
        return batch.id

    def _submit_batch(self, institution: Institution, batch_id: int) -> None:
        with self.db.session() as session:
            batch = session.get(AnchorBatch, batch_id)
            assert batch is not None
            root, count, type_id = batch.root, batch.count, batch.credential_type_id
        outbox = self._outbox(institution)
        call = self.contracts.credential_registry.anchor(
            bytes.fromhex(root[2:]), count, bytes.fromhex(type_id[2:])
        )

        def attach(session: Session, tx: ChainTx) -> None:
            stored = session.get(AnchorBatch, batch_id)
            assert stored is not None
            stored.tx_id = tx.id
            stored.state = BatchState.SUBMITTED
            stored.updated_at = _now()
            session.add(stored)

        try:
            tx, signed = outbox.sign_and_store(call, "anchor", attach)
        except ContractRevert as exc:
            self._refused(institution, batch_id, exc)
            return
        outbox.broadcast(tx)
        receipt = outbox.await_mined(tx, signed)
        self._apply_anchor_receipt(institution, batch_id, receipt)

    def _refused(self, institution: Institution, batch_id: int, exc: ContractRevert) -> None:
        """The contract refused the anchor before it was sent."""
        with self.db.session() as session:
            batch = session.get(AnchorBatch, batch_id)
            assert batch is not None
            root = batch.root
        if exc.code == "already_anchored" and self._anchored_by_us(institution, root):
            self._adopt_existing_anchor(institution, batch_id)
            return
        log.warning("anchoring refused for %s: %s", institution.did, exc.detail)
        assert institution.id is not None
        self._paused_until[institution.id] = time.monotonic() + REFUSAL_BACKOFF
        with self.db.session() as session:
            batch = session.get(AnchorBatch, batch_id)
            assert batch is not None
            batch.state = BatchState.FAILED
            batch.last_error = exc.detail
            batch.updated_at = _now()
            session.add(batch)
            # Release the credentials: they are re-batched once the refusal is lifted.
            session.execute(
                update(Credential)
                .where(col(Credential.batch_id) == batch_id)
                .values(batch_id=None, leaf_index=None, merkle_proof=None, updated_at=_now())
            )

    def _anchored_by_us(self, institution: Institution, root: str) -> bool:
        registry = self.contracts.credential_registry
        return registry.anchor_of(institution.address, bytes.fromhex(root[2:])) is not None

    def _adopt_existing_anchor(self, institution: Institution, batch_id: int) -> None:
        """Our root is already on chain (a crash hid the receipt): find its transaction."""
        with self.db.session() as session:
            batch = session.get(AnchorBatch, batch_id)
            assert batch is not None
            root = batch.root
        logs = self.contracts.credential_registry.anchored_events(
            institution.address, bytes.fromhex(root[2:]), self._search_from()
        )
        if not logs:
            return
        receipt = self.chain.receipt(logs[-1].transaction_hash)
        assert receipt is not None
        self._apply_anchor_receipt(institution, batch_id, Receipt.from_web3(receipt))

    def _search_from(self) -> int:
        return self.contracts.deployment.block_number

    def _apply_anchor_receipt(
        self, institution: Institution, batch_id: int, receipt: Receipt
    ) -> None:
        if not receipt.succeeded:
            with self.db.session() as session:
                batch = session.get(AnchorBatch, batch_id)
                assert batch is not None
                root = batch.root
            if self._anchored_by_us(institution, root):
                self._adopt_existing_anchor(institution, batch_id)
                return
            self._refused(
                institution,
                batch_id,
                ContractRevert(f"anchor transaction {receipt.tx_hash} reverted", code="reverted"),
            )
            return
        block_time = datetime.fromtimestamp(self.chain.block_timestamp(receipt.block_number), UTC)
        with self.db.session() as session:
            batch = session.get(AnchorBatch, batch_id)
            assert batch is not None
            tx = session.exec(select(ChainTx).where(ChainTx.tx_hash == receipt.tx_hash)).first()
            if tx is not None:
                batch.tx_id = tx.id
                tx.state = TxState.MINED
                tx.block_number = receipt.block_number
                tx.block_hash = receipt.block_hash
                session.add(tx)
            batch.state = BatchState.ANCHORED
            batch.block_number = receipt.block_number
            batch.block_time = block_time
            batch.updated_at = _now()
            session.add(batch)
            self._move_credentials(
                session, batch_id, CredentialState.ANCHORED, "anchored", receipt.tx_hash
            )

    @staticmethod
    def _move_credentials(
        session: Session, batch_id: int, state: CredentialState, event: str, detail: str
    ) -> None:
        ids = session.exec(select(Credential.id).where(Credential.batch_id == batch_id)).all()
        session.execute(
            update(Credential)
            .where(col(Credential.batch_id) == batch_id)
            .values(state=state, updated_at=_now())
        )
        if ids:
            session.execute(
                insert(CredentialEvent),
                [{"credential_id": i, "event": event, "detail": detail, "at": _now()} for i in ids],
            )

    # -- recovery and finality ----------------------------------------------------------------

    def _resume_submitted(self) -> bool:
        """Batches whose transaction was stored but whose outcome we did not record."""
        with self.db.session() as session:
            rows = session.exec(
                select(AnchorBatch, Institution)
                .join(Institution, col(Institution.id) == AnchorBatch.institution_id)
                .where(AnchorBatch.state == BatchState.SUBMITTED)
            ).all()
        for batch, institution in rows:
            assert batch.id is not None
            self._resume_batch(institution, batch)
        return bool(rows)

    def _resume_batch(self, institution: Institution, batch: AnchorBatch) -> None:
        assert batch.id is not None
        outbox = self._outbox(institution)
        if batch.tx_id is not None:
            with self.db.session() as session:
                tx = session.get(ChainTx, batch.tx_id)
                assert tx is not None
            receipt = outbox.find_receipt(batch.tx_id)
            if receipt is not None:
                outbox.record_receipt(tx.nonce, receipt)
                self._apply_anchor_receipt(institution, batch.id, receipt)
                return
            if not outbox.nonce_used(tx.nonce):
                # Still valid: the same bytes again (harmless if the chain has them already).
                outbox.broadcast(tx)
                return
            outbox.mark(batch.tx_id, TxState.DROPPED, "nonce consumed without this transaction")
        if self._anchored_by_us(institution, batch.root):
            self._adopt_existing_anchor(institution, batch.id)
            return
        # Lost (reorg or evicted): sign a fresh transaction for the same root.
        self._submit_batch(institution, batch.id)

    def _finalize(self) -> bool:
        """Anchored batches deep enough become final; ones a reorg removed go back."""
        with self.db.session() as session:
            rows = session.exec(
                select(AnchorBatch, ChainTx)
                .join(ChainTx, col(ChainTx.id) == AnchorBatch.tx_id)
                .where(AnchorBatch.state == BatchState.ANCHORED)
            ).all()
        if not rows:
            return False
        latest = self.chain.latest_block()
        changed = False
        for batch, tx in rows:
            assert batch.id is not None and tx.id is not None
            canonical = self.chain.receipt(tx.tx_hash)
            if canonical is None or _hex(bytes(canonical["blockHash"])) != tx.block_hash:
                self._reorged(batch.id, tx.id, canonical)
                changed = True
                continue
            if latest - (batch.block_number or 0) >= self.config.confirmations:
                with self.db.session() as session:
                    stored = session.get(AnchorBatch, batch.id)
                    assert stored is not None
                    stored.state = BatchState.FINAL
                    stored.updated_at = _now()
                    session.add(stored)
                    chain_tx = session.get(ChainTx, tx.id)
                    assert chain_tx is not None
                    chain_tx.state = TxState.FINAL
                    session.add(chain_tx)
                    self._move_credentials(
                        session, batch.id, CredentialState.FINAL, "final", f"block {latest}"
                    )
                changed = True
        return changed

    def _finalize_status(self) -> bool:
        """Mined status transactions deep enough become final; one a reorg removed goes back
        to its updates' queue.

        Without this a revocation dropped by a reorg would stay `done` in the database while
        the chain's bit (what every verifier reads) is clear: the node would report a
        credential revoked that the chain says is valid. Re-opened updates keep their
        transaction, so `_resume_status_txs` re-broadcasts the same bytes (same nonce), or
        re-signs if that nonce went to another transaction meanwhile.
        """
        with self.db.session() as session:
            txs = session.exec(
                select(ChainTx).where(ChainTx.purpose == "status", ChainTx.state == TxState.MINED)
            ).all()
        if not txs:
            return False
        latest = self.chain.latest_block()
        changed = False
        for tx in txs:
            canonical = self.chain.receipt(tx.tx_hash)
            with self.db.session() as session:
                stored = session.get(ChainTx, tx.id)
                assert stored is not None
                if canonical is None:
                    log.warning("status transaction %s left the canonical chain", tx.tx_hash)
                    stored.state = TxState.SENT
                    stored.block_number = stored.block_hash = None
                    session.execute(
                        update(StatusUpdate)
                        .where(col(StatusUpdate.tx_id) == tx.id)
                        .values(done=False)
                    )
                    changed = True
                elif _hex(bytes(canonical["blockHash"])) != tx.block_hash:
                    # Re-included in another block: still applied, count depth from there.
                    stored.block_number = int(canonical["blockNumber"])
                    stored.block_hash = _hex(bytes(canonical["blockHash"]))
                elif latest - (tx.block_number or 0) >= self.config.confirmations:
                    stored.state = TxState.FINAL
                    changed = True
                stored.updated_at = _now()
                session.add(stored)
        return changed

    def _reorged(self, batch_id: int, tx_id: int, moved: object | None) -> None:
        """The anchoring block left the canonical chain: back to `submitted` for recovery."""
        log.warning("anchor batch %s left the canonical chain; resubmitting", batch_id)
        with self.db.session() as session:
            batch = session.get(AnchorBatch, batch_id)
            tx = session.get(ChainTx, tx_id)
            assert batch is not None and tx is not None
            batch.state = BatchState.SUBMITTED
            batch.block_number = None
            batch.block_time = None
            batch.updated_at = _now()
            tx.state = TxState.SENT if moved is None else TxState.MINED
            session.add_all([batch, tx])
            self._move_credentials(
                session, batch_id, CredentialState.PENDING, "reorged", tx.tx_hash
            )

    def _outstanding(self) -> bool:
        with self.db.session() as session:
            credential = session.exec(
                select(Credential.id).where(Credential.state != CredentialState.FINAL).limit(1)
            ).first()
            update_row = session.exec(
                select(StatusUpdate.id).where(col(StatusUpdate.done).is_(False)).limit(1)
            ).first()
        return credential is not None or update_row is not None

    # -- status updates -----------------------------------------------------------------------

    def _send_status_updates(self, institution: Institution) -> bool:
        with self.db.session() as session:
            pending = list(
                session.exec(
                    select(StatusUpdate)
                    .where(
                        StatusUpdate.institution_id == institution.id,
                        col(StatusUpdate.done).is_(False),
                        col(StatusUpdate.tx_id).is_(None),
                    )
                    .order_by(col(StatusUpdate.id))
                    .limit(STATUS_BATCH)
                ).all()
            )
        if not pending:
            return self._resume_status_txs(institution)
        for group in status_groups(pending):
            self._send_status_group(institution, group)
        return True

    def _send_status_group(self, institution: Institution, group: list[StatusUpdate]) -> None:
        first = group[0]
        words, masks = word_masks(u.status_index for u in group)
        call = self.contracts.credential_registry.update_status_words(
            first.list_number,
            StatusPurpose[first.purpose.upper()],
            words,
            masks,
            first.value,
        )
        ids = [u.id for u in group]

        def attach(session: Session, tx: ChainTx) -> None:
            session.execute(
                update(StatusUpdate).where(col(StatusUpdate.id).in_(ids)).values(tx_id=tx.id)
            )

        outbox = self._outbox(institution)
        tx, signed = outbox.sign_and_store(call, "status", attach)
        outbox.broadcast(tx)
        receipt = outbox.await_mined(tx, signed)
        self._finish_status(receipt, tx)

    def _finish_status(self, receipt: Receipt, tx: ChainTx) -> None:
        with self.db.session() as session:
            if receipt.succeeded:
                session.execute(
                    update(StatusUpdate).where(col(StatusUpdate.tx_id) == tx.id).values(done=True)
                )
            else:
                # Reverted (e.g. the issuer is suspended): back to the queue, retried later.
                assert tx.id is not None
                _requeue_status_updates(session, tx.id)

    def _resume_status_txs(self, institution: Institution) -> bool:
        with self.db.session() as session:
            tx_ids = session.exec(
                select(StatusUpdate.tx_id)
                .where(
                    StatusUpdate.institution_id == institution.id,
                    col(StatusUpdate.done).is_(False),
                    col(StatusUpdate.tx_id).is_not(None),
                )
                .distinct()
            ).all()
        outbox = self._outbox(institution)
        for tx_id in tx_ids:
            assert tx_id is not None
            receipt = outbox.find_receipt(tx_id)
            with self.db.session() as session:
                tx = session.get(ChainTx, tx_id)
                assert tx is not None
            if receipt is not None:
                outbox.record_receipt(tx.nonce, receipt)
                self._finish_status(receipt, tx)
            elif not outbox.nonce_used(tx.nonce):
                outbox.broadcast(tx)
            else:
                outbox.mark(tx_id, TxState.DROPPED, "nonce consumed without this transaction")
                with self.db.session() as session:
                    _requeue_status_updates(session, tx_id)
        return bool(tx_ids)

    def _outbox(self, institution: Institution) -> TxOutbox:
        return TxOutbox(self.db, self._sender_for(self._account_for(institution)))


def _requeue_status_updates(session: Session, tx_id: int) -> None:
    """Detach the updates a failed or lost transaction carried, so the next step re-sends them."""
    session.execute(update(StatusUpdate).where(col(StatusUpdate.tx_id) == tx_id).values(tx_id=None))


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
