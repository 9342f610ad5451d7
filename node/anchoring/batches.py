"""Cutting an institution's pending credentials into Merkle batches, one type at a time.

A batch row is created together with its credentials' membership (so no credential joins two
batches) and committed per batch, so a crash later keeps it and it is resumed as it is. The same
credentials give the same root: a batch that the chain refused is rebuilt on its own row
(failed -> built), never as a second row that `UNIQUE(anchorbatch.root)` would refuse on every
step.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session

from node.anchoring.repository import AnchoringRepository
from node.anchoring.transitions import IllegalTransition, transition
from node.credentials.merkle import MerkleTree, leaf
from node.store.models import AnchorBatch, BatchState, Credential


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


class BatchBuilder:
    def __init__(self, repo: AnchoringRepository, batch_size: int, batch_interval: float) -> None:
        self.repo = repo
        self.batch_size = batch_size
        self.batch_interval = batch_interval

    def build(self, institution_id: int, flush: bool) -> list[int]:
        """Ids of the institution's batches waiting for a transaction, including ones built
        before a crash and the ones cut now."""
        waiting = self.repo.built_batch_ids(institution_id)
        with self.repo.session() as session:
            for type_id in self.repo.pending_types(session, institution_id):
                while (
                    batch_id := self._build_one(session, institution_id, type_id, flush)
                ) is not None:
                    if batch_id not in waiting:
                        waiting.append(batch_id)
        return waiting

    def _build_one(
        self, session: Session, institution_id: int, type_id: str, flush: bool
    ) -> int | None:
        rows = self.repo.unbatched(session, institution_id, type_id, self.batch_size)
        if not rows:
            return None
        oldest = rows[0][2]
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        full = len(rows) >= self.batch_size
        due = datetime.now(UTC) - oldest >= timedelta(seconds=self.batch_interval)
        if not (full or due or flush):
            return None
        tree = MerkleTree([leaf(bytes.fromhex(h.removeprefix("0x"))) for _, h, _ in rows])
        batch = self._row_for(session, institution_id, type_id, _hex(tree.root), len(rows))
        now = datetime.now(UTC)
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
        session.commit()
        return batch.id

    def _row_for(
        self, session: Session, institution_id: int, type_id: str, root: str, count: int
    ) -> AnchorBatch:
        """A new row, or the failed row of the same root (same credentials) built again."""
        batch = self.repo.batch_by_root(session, root)
        if batch is None:
            batch = AnchorBatch(
                institution_id=institution_id, credential_type_id=type_id, root=root, count=count
            )
            transition(session, batch, BatchState.BUILT, was=None)
            session.flush()
            return batch
        if batch.state != BatchState.FAILED or batch.institution_id != institution_id:
            raise IllegalTransition(f"root {root} is already batch {batch.id} ({batch.state})")
        transition(session, batch, BatchState.BUILT)
        batch.tx_id = batch.block_number = batch.block_time = None
        session.add(batch)
        session.flush()
        return batch
