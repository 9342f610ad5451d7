"""How far behind the chain the node's outboxes are, read from the database at scrape time.

Whichever process signed, sent or confirmed, the rows say where every credential and status
change is; reading them when `/metrics` is scraped keeps the anchoring code free of metric
bookkeeping and gives the right figures right after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import col, select

from node.store.db import Database
from node.store.models import (
    AnchorBatch,
    BatchState,
    Credential,
    CredentialState,
    IndexerCursor,
    StatusUpdate,
)


@dataclass(frozen=True)
class Backlog:
    pending_credentials: int
    pending_status_updates: int
    #: Age of the oldest credential not yet in a mined block (0 when none waits).
    oldest_pending_seconds: float
    #: Credentials in mined blocks that are not yet final.
    anchored_not_final: int
    #: Blocks still to come before the oldest anchored batch is final (0 when none waits).
    blocks_to_finality: int
    #: The highest block the node's indexers have seen (None before the first pass).
    indexed_block: int | None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_backlog(db: Database, confirmations: int, now: datetime | None = None) -> Backlog:
    """The outboxes' depth and the anchoring lag, in four small indexed queries."""
    now = now or datetime.now(UTC)
    with db.session() as session:
        pending, oldest = session.exec(
            select(func.count(), func.min(Credential.created_at)).where(
                Credential.state == CredentialState.PENDING
            )
        ).one()
        anchored = session.exec(
            select(func.count()).where(Credential.state == CredentialState.ANCHORED)
        ).one()
        updates = session.exec(select(func.count()).where(col(StatusUpdate.done).is_(False))).one()
        oldest_block = session.exec(
            select(func.min(AnchorBatch.block_number)).where(
                AnchorBatch.state == BatchState.ANCHORED
            )
        ).one()
        head = session.exec(select(func.max(IndexerCursor.block_number))).one()
    to_final = 0
    if oldest_block is not None and head is not None:
        to_final = max(0, int(oldest_block) + confirmations - int(head))
    elif oldest_block is not None:
        to_final = confirmations
    return Backlog(
        pending_credentials=int(pending),
        pending_status_updates=int(updates),
        oldest_pending_seconds=(
            max(0.0, (now - _aware(oldest)).total_seconds()) if oldest is not None else 0.0
        ),
        anchored_not_final=int(anchored),
        blocks_to_finality=to_final,
        indexed_block=int(head) if head is not None else None,
    )
