"""The registry's answer about one issuer is kept per registry cursor position (block and hash).
A verification hands in the position it has just read with its chain facts, so the cursor is not
read twice; an answer is never reused once the index stands elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import SQLModel

from node.did.identifier import format_ethr_did
from node.registry import service
from node.registry.service import REGISTRY_CURSOR, ConsortiumRegistry
from node.store import cursors
from node.store.db import Database
from node.store.models import IndexerCursor

CHAIN_ID = 31337
ISSUER = "0x" + "1a" * 20
DID = format_ethr_did(CHAIN_ID, ISSUER)


def registry(tmp_path: Path) -> ConsortiumRegistry:
    db = Database(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    SQLModel.metadata.create_all(db.engine)
    return ConsortiumRegistry(
        db,
        chain_id=CHAIN_ID,
        issuer_registry="0x" + "c1" * 20,
        did_registry="0x" + "c2" * 20,
        now=lambda: 0,
    )


def test_an_answer_is_kept_per_position_and_the_handed_position_is_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    consortium = registry(tmp_path)
    reads: list[str] = []

    def read_cursor(db: Database, name: str) -> cursors.CursorPosition | None:
        reads.append(name)
        return cursors.read_cursor(db, name)

    monkeypatch.setattr(service, "read_cursor", read_cursor)
    at_5 = {REGISTRY_CURSOR: (5, "0x05")}
    first = consortium.entry(DID, positions=at_5)
    assert consortium.entry(DID, positions=dict(at_5)) is first
    assert not first.listed
    moved = consortium.entry(DID, positions={REGISTRY_CURSOR: (6, "0x06")})
    assert moved is not first and moved == first
    reorged = consortium.entry(DID, positions={REGISTRY_CURSOR: (6, "0x6b")})
    assert reorged is not moved
    assert reads == []
    # Without a position (TRQP, the federation endpoints) the registry reads its own cursor.
    with consortium.db.session() as session:
        session.add(IndexerCursor(name=REGISTRY_CURSOR, block_number=7, block_hash="0x07"))
    assert consortium.entry(DID) is not reorged
    assert reads == [REGISTRY_CURSOR]
