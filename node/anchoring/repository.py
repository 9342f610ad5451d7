"""Every query of the anchoring worker, in one place.

The worker's modules ask this repository for rows and hand state changes to `transitions`; none
of them writes SQL of its own. Reads return detached rows (the session is closed), so a slow
chain call never holds a database transaction open.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, delete, or_, select
from sqlmodel.sql.expression import SelectOfScalar

from node.store.db import Database
from node.store.models import (
    AnchorBatch,
    AnchorRefusal,
    BatchState,
    ChainTx,
    Credential,
    CredentialState,
    Institution,
    StatusUpdate,
    TxState,
)

#: A credential's states before `final`, as an IN list: an index on the state serves it, where
#: `state != final` reads every row of the table.
_NOT_FINAL = [state for state in CredentialState if state is not CredentialState.FINAL]
#: What is not final yet: credentials, and status updates not on chain.
_UNFINISHED = (
    select(Credential.id).where(col(Credential.state).in_(_NOT_FINAL)),
    select(StatusUpdate.id).where(col(StatusUpdate.done).is_(False)),
)
#: Transactions signed, sent, or mined and not final.
_ON_ITS_WAY = select(ChainTx.id).where(
    col(ChainTx.state).in_([TxState.SIGNED, TxState.SENT, TxState.MINED])
)


@dataclass(frozen=True)
class AnchorToCheck:
    """An anchored or final batch, as reconciliation compares it with the chain."""

    batch_id: int
    issuer: str
    root: str


@dataclass(frozen=True)
class StatusToCheck:
    """The newest done status update of one entry, as reconciliation compares it."""

    update_id: int
    issuer: str
    list_number: int
    purpose: str
    status_index: int
    value: bool


class AnchoringRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.db.session() as session:
            yield session

    # -- institutions and batches ------------------------------------------------------------

    def institutions(self) -> list[Institution]:
        with self.db.session() as session:
            return list(session.exec(select(Institution).order_by(col(Institution.id))).all())

    def batch(self, session: Session, batch_id: int) -> AnchorBatch:
        batch = session.get(AnchorBatch, batch_id)
        if batch is None:
            raise LookupError(f"no anchor batch {batch_id}")
        return batch

    def read_batch(self, batch_id: int) -> AnchorBatch:
        with self.db.session() as session:
            return self.batch(session, batch_id)

    def built_batch_ids(self, institution_id: int) -> list[int]:
        with self.db.session() as session:
            ids = session.exec(
                select(AnchorBatch.id).where(
                    AnchorBatch.institution_id == institution_id,
                    AnchorBatch.state == BatchState.BUILT,
                )
            ).all()
        return [i for i in ids if i is not None]

    def pending_types(self, session: Session, institution_id: int) -> list[str]:
        """Credential types with credentials waiting for a batch."""
        return list(
            session.exec(
                select(Credential.credential_type_id)
                .where(
                    Credential.institution_id == institution_id,
                    Credential.state == CredentialState.PENDING,
                    col(Credential.batch_id).is_(None),
                )
                .distinct()
            ).all()
        )

    def unbatched(
        self, session: Session, institution_id: int, type_id: str, limit: int
    ) -> list[tuple[str, str, datetime]]:
        """(id, hash, created_at) of the oldest pending credentials of a type without a batch."""
        rows = session.exec(
            select(Credential.id, Credential.credential_hash, Credential.created_at)
            .where(
                Credential.institution_id == institution_id,
                Credential.credential_type_id == type_id,
                Credential.state == CredentialState.PENDING,
                col(Credential.batch_id).is_(None),
            )
            .order_by(col(Credential.created_at), col(Credential.id))
            .limit(limit)
        ).all()
        return [(i, h, t) for i, h, t in rows]

    def batch_members(self, session: Session, batch_id: int) -> list[str]:
        return list(
            session.exec(select(Credential.id).where(Credential.batch_id == batch_id)).all()
        )

    def batch_by_root(self, session: Session, root: str) -> AnchorBatch | None:
        return session.exec(select(AnchorBatch).where(AnchorBatch.root == root)).first()

    def submitted(self, institution_id: int) -> list[AnchorBatch]:
        """Batches whose transaction was stored but whose outcome is not recorded yet."""
        with self.db.session() as session:
            return list(
                session.exec(
                    select(AnchorBatch).where(
                        AnchorBatch.institution_id == institution_id,
                        AnchorBatch.state == BatchState.SUBMITTED,
                    )
                ).all()
            )

    def anchored_with_tx(self) -> list[tuple[AnchorBatch, ChainTx]]:
        with self.db.session() as session:
            rows = session.exec(
                select(AnchorBatch, ChainTx)
                .join(ChainTx, col(ChainTx.id) == AnchorBatch.tx_id)
                .where(AnchorBatch.state == BatchState.ANCHORED)
            ).all()
        return [(b, t) for b, t in rows]

    def anchors_to_check(self, since: datetime | None) -> list[AnchorToCheck]:
        """Anchored batches, and final ones that became final after `since` (all if None)."""
        with self.db.session() as session:
            query = (
                select(AnchorBatch.id, Institution.address, AnchorBatch.root)
                .join(Institution, col(Institution.id) == AnchorBatch.institution_id)
                .where(col(AnchorBatch.state).in_((BatchState.ANCHORED, BatchState.FINAL)))
            )
            if since is not None:
                query = query.where(
                    or_(
                        AnchorBatch.state == BatchState.ANCHORED,
                        col(AnchorBatch.updated_at) >= since,
                    )
                )
            rows = session.exec(query).all()
        return [AnchorToCheck(int(i), a, r) for i, a, r in rows if i is not None]

    def tx(self, session: Session, tx_id: int) -> ChainTx:
        tx = session.get(ChainTx, tx_id)
        if tx is None:
            raise LookupError(f"no stored transaction {tx_id}")
        return tx

    def read_tx(self, tx_id: int) -> ChainTx:
        with self.db.session() as session:
            return self.tx(session, tx_id)

    def tx_by_hash(self, session: Session, tx_hash: str) -> ChainTx | None:
        return session.exec(select(ChainTx).where(ChainTx.tx_hash == tx_hash)).first()

    def has_work(self) -> bool:
        """Whether a worker step could find anything to do: what `outstanding` looks for, or a
        transaction on its way (signed, sent, or mined and not final). Indexed reads (IN
        lists, which an index serves, unlike `!=`), where a whole step reads every
        institution's outboxes."""
        return self._any(*_UNFINISHED, _ON_ITS_WAY)

    def outstanding(self) -> bool:
        """Anything not final yet: a credential, or a status update not on chain."""
        return self._any(*_UNFINISHED)

    def _any(self, *queries: SelectOfScalar[Any]) -> bool:
        """Whether any of these id queries finds a row (one session, stopping at the first)."""
        with self.db.session() as session:
            return any(session.exec(query.limit(1)).first() is not None for query in queries)

    # -- status updates ------------------------------------------------------------------------

    def queued_status(self, institution_id: int, limit: int) -> list[StatusUpdate]:
        with self.db.session() as session:
            return list(
                session.exec(
                    select(StatusUpdate)
                    .where(
                        StatusUpdate.institution_id == institution_id,
                        col(StatusUpdate.done).is_(False),
                        col(StatusUpdate.tx_id).is_(None),
                    )
                    .order_by(col(StatusUpdate.id))
                    .limit(limit)
                ).all()
            )

    def open_status_tx_ids(self, institution_id: int) -> list[int]:
        with self.db.session() as session:
            ids = session.exec(
                select(StatusUpdate.tx_id)
                .where(
                    StatusUpdate.institution_id == institution_id,
                    col(StatusUpdate.done).is_(False),
                    col(StatusUpdate.tx_id).is_not(None),
                )
                .distinct()
            ).all()
        return [i for i in ids if i is not None]

    def mined_status_txs(self) -> list[ChainTx]:
        with self.db.session() as session:
            return list(
                session.exec(
                    select(ChainTx).where(
                        ChainTx.purpose == "status", ChainTx.state == TxState.MINED
                    )
                ).all()
            )

    def credentials_of_status_tx(self, session: Session, tx_id: int) -> list[str]:
        return list(
            session.exec(
                select(StatusUpdate.credential_id).where(StatusUpdate.tx_id == tx_id)
            ).all()
        )

    def status_to_check(self, since: datetime | None) -> list[StatusToCheck]:
        """The newest update of each (credential, purpose) if it is done (its transaction
        changed after `since`, or any if None); an entry with a newer open update is left to
        that update."""
        with self.db.session() as session:
            query = (
                select(StatusUpdate, Institution.address, ChainTx.updated_at)
                .join(Institution, col(Institution.id) == StatusUpdate.institution_id)
                .join(ChainTx, col(ChainTx.id) == StatusUpdate.tx_id, isouter=True)
                .order_by(col(StatusUpdate.id))
            )
            if since is not None:
                recent = (
                    select(StatusUpdate.credential_id)
                    .join(ChainTx, col(ChainTx.id) == StatusUpdate.tx_id)
                    .where(col(StatusUpdate.done).is_(True), col(ChainTx.updated_at) >= since)
                )
                query = query.where(col(StatusUpdate.credential_id).in_(recent))
            rows = session.exec(query).all()
        newest: dict[tuple[str, str], tuple[StatusUpdate, str, datetime | None]] = {}
        for update_row, address, changed_at in rows:
            key = (update_row.credential_id, update_row.purpose)
            newest[key] = (update_row, address, changed_at)
        found = []
        for update_row, address, _ in newest.values():
            if not update_row.done or update_row.id is None:
                continue
            found.append(
                StatusToCheck(
                    update_row.id,
                    address,
                    update_row.list_number,
                    update_row.purpose,
                    update_row.status_index,
                    update_row.value,
                )
            )
        return found

    # -- refusals ------------------------------------------------------------------------------

    def refusal(self, session: Session, institution_id: int, work: str) -> AnchorRefusal | None:
        return session.get(AnchorRefusal, (institution_id, work))

    def refusals(self) -> list[tuple[AnchorRefusal, Institution]]:
        with self.db.session() as session:
            rows = session.exec(
                select(AnchorRefusal, Institution)
                .join(Institution, col(Institution.id) == AnchorRefusal.institution_id)
                .order_by(col(AnchorRefusal.institution_id), col(AnchorRefusal.work))
            ).all()
        return [(r, i) for r, i in rows]

    def clear_refusal(self, institution_id: int, work: str) -> bool:
        with self.db.session() as session:
            result = session.execute(
                delete(AnchorRefusal).where(
                    col(AnchorRefusal.institution_id) == institution_id,
                    col(AnchorRefusal.work) == work,
                )
            )
        return bool(getattr(result, "rowcount", 0))
