"""Every move of an anchor batch and of its credentials, checked in one place.

A credential travels pending -> batched (it has a `batch_id`) -> sent (its batch is
`submitted`) -> anchored -> final. Its own `state` column only says pending/anchored/final; the
other two are read from its batch, so the batch's moves drive the credentials' moves:

    built ──sign──▶ submitted ──mined──▶ anchored ──deep enough──▶ final
      │  ╲            │  ▲                 │  │                      │
      │   ╲ adopted   │  └──── reorged ────┘  │                      │
      │    ╲──────────┼──────▶ anchored       │                      │
      ▼               ▼                       ▼                      ▼
    failed ◀──────────┘            built ◀── lost (the chain lacks the root) ──┘
      │
      └──rebuilt (same root, same row)──▶ built

(and submitted -> submitted: a fresh transaction for the same root when the first was lost)

`transition()` refuses any other move (a bug, never data), moves the batch's credentials with
it in the same database transaction, and records the lifecycle event a user sees for each
credential whose state changed (`anchored`, `final`, `reorged`, `anchor_lost`,
`anchor_refused`). Status updates (the revocation outbox) have their own small machine:
queued -> sent -> done, and back to queued when a transaction fails or the chain lost it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from node.store.models import (
    AnchorBatch,
    BatchState,
    Credential,
    CredentialEvent,
    CredentialState,
    StatusUpdate,
)

B = BatchState
C = CredentialState


class IllegalTransition(RuntimeError):
    """A move the state machine does not allow: a bug in the worker, never bad input."""


@dataclass(frozen=True)
class Move:
    """What a batch move does to the batch's credentials."""

    credentials_from: tuple[CredentialState, ...] = ()
    credentials_to: CredentialState | None = None
    event: str | None = None
    release: bool = False  # the credentials leave the batch (to be batched again)


#: Every allowed (from, to) of a batch; `None` is "not yet stored".
BATCH_MOVES: dict[tuple[BatchState | None, BatchState], Move] = {
    (None, B.BUILT): Move(),
    (B.BUILT, B.SUBMITTED): Move(),
    # Its transaction was lost (evicted, nonce taken): a fresh one for the same root.
    (B.SUBMITTED, B.SUBMITTED): Move(),
    (B.SUBMITTED, B.ANCHORED): Move((C.PENDING,), C.ANCHORED, "anchored"),
    # A crash hid the receipt, or the chain already had our own (issuer, root).
    (B.BUILT, B.ANCHORED): Move((C.PENDING,), C.ANCHORED, "anchored"),
    (B.ANCHORED, B.FINAL): Move((C.ANCHORED,), C.FINAL, "final"),
    (B.ANCHORED, B.SUBMITTED): Move((C.ANCHORED,), C.PENDING, "reorged"),
    (B.BUILT, B.FAILED): Move(event="anchor_refused", release=True),
    (B.SUBMITTED, B.FAILED): Move(event="anchor_refused", release=True),
    (B.FAILED, B.BUILT): Move(),
    (B.ANCHORED, B.BUILT): Move((C.ANCHORED, C.FINAL), C.PENDING, "anchor_lost"),
    (B.FINAL, B.BUILT): Move((C.ANCHORED, C.FINAL), C.PENDING, "anchor_lost"),
}


def _now() -> datetime:
    return datetime.now(UTC)


def transition(
    session: Session,
    batch: AnchorBatch,
    to: BatchState,
    *,
    detail: str = "",
    announce: bool = True,
    was: BatchState | None = None,
) -> None:
    """Move `batch` (stored or just built: `was=None` and no id yet) to `to`, with its
    credentials; `announce=False` skips the credentials' lifecycle events of a move that has
    no state change of theirs (a repeated refusal)."""
    current = was if batch.id is None else batch.state
    move = BATCH_MOVES.get((current, to))
    if move is None:
        raise IllegalTransition(f"anchor batch {batch.id}: {current} -> {to} is not allowed")
    batch.state = to
    batch.updated_at = _now()
    session.add(batch)
    if batch.id is None:
        return
    members = select(Credential.id).where(Credential.batch_id == batch.id)
    query = update(Credential).where(col(Credential.batch_id) == batch.id)
    if move.credentials_from:
        members = members.where(col(Credential.state).in_(move.credentials_from))
        query = query.where(col(Credential.state).in_(move.credentials_from))
    ids = list(session.exec(members).all())
    values: dict[str, object] = {"updated_at": _now()}
    if move.credentials_to is not None:
        values["state"] = move.credentials_to
    if move.release:
        values.update(batch_id=None, leaf_index=None, merkle_proof=None)
    session.execute(query.values(**values))
    if move.event is not None and announce:
        record_events(session, ids, move.event, detail)


def record_events(session: Session, credential_ids: list[str], event: str, detail: str) -> None:
    """One lifecycle event per credential, in one statement."""
    if credential_ids:
        at = _now()
        session.execute(
            insert(CredentialEvent),
            [
                {"credential_id": i, "event": event, "detail": detail, "at": at}
                for i in credential_ids
            ],
        )


# -- status updates ------------------------------------------------------------------------------


def status_sent(session: Session, update_ids: list[int | None], tx_id: int) -> None:
    """queued -> sent: the updates ride on transaction `tx_id` (stored before broadcast)."""
    session.execute(
        update(StatusUpdate)
        .where(col(StatusUpdate.id).in_(update_ids), col(StatusUpdate.tx_id).is_(None))
        .values(tx_id=tx_id)
    )


def status_done(session: Session, tx_id: int) -> None:
    """sent -> done: the transaction carrying them was mined and succeeded."""
    session.execute(update(StatusUpdate).where(col(StatusUpdate.tx_id) == tx_id).values(done=True))


def status_requeued(session: Session, tx_id: int) -> None:
    """sent/done -> queued: the transaction failed, was lost, or the chain no longer has it;
    the next step sends the updates again (in order, so a later change still wins)."""
    session.execute(
        update(StatusUpdate).where(col(StatusUpdate.tx_id) == tx_id).values(tx_id=None, done=False)
    )


def status_reopened(session: Session, tx_id: int) -> None:
    """done -> sent: the block holding the transaction left the canonical chain; the same
    bytes are broadcast again (or re-signed if the nonce went elsewhere)."""
    session.execute(update(StatusUpdate).where(col(StatusUpdate.tx_id) == tx_id).values(done=False))


def status_lost(session: Session, update_ids: list[int]) -> None:
    """done -> queued for updates whose bit the chain does not show (reconciliation)."""
    if not update_ids:
        return
    session.execute(
        update(StatusUpdate)
        .where(col(StatusUpdate.id).in_(update_ids))
        .values(tx_id=None, done=False)
    )
    rows = session.exec(
        select(StatusUpdate.credential_id).where(col(StatusUpdate.id).in_(update_ids))
    ).all()
    record_events(session, list(rows), "status_lost", "the chain lacks this status change")
