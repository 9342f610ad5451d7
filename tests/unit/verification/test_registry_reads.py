"""The verifier reads the registries' anchors keyed by (issuer, root) with their block number,
and the index rebuilds an issuer's grants and status history from the IssuerRegistry's events
exactly as the contract stores them."""

from __future__ import annotations

import json
from typing import Any

from eth_abi import encode
from eth_hash.auto import keccak

from node.chain.contracts.types import (
    AnchorRecord,
    Grant,
    IssuerStatus,
    StatusChange,
    credential_type_id,
)
from node.store.models import GovernanceEvent, GovernanceEventKind
from node.verification.readers.abi import address_topic, registry_abi
from node.verification.readers.projection import OPEN, replay_issuer

ISSUER = "0x" + "1a" * 20
ROOT = b"\x42" * 32


def test_anchors_keyed_by_issuer_and_root_carry_their_block() -> None:
    abi = registry_abi()
    call = abi.anchor_call(ISSUER, ROOT)
    assert call[:4] == keccak(b"anchorOf(address,bytes32)")[:4]
    assert call[4:] == encode(["address", "bytes32"], [ISSUER, ROOT])
    answer = abi.decode_anchor(encode(["uint64", "uint64", "uint32"], [1_750_000_000, 77, 3]))
    assert answer == AnchorRecord(1_750_000_000, 77, 3)
    assert abi.decode_anchor(encode(["uint64", "uint64", "uint32"], [0, 0, 0])) is None
    topics = [abi.anchored_topic, address_topic(ISSUER), "0x" + ROOT.hex(), "0x" + "00" * 32]
    assert abi.anchored_args(topics) == (ISSUER, ROOT)
    alias = abi.alias_call("did:web:college.example")
    assert alias[4:] == keccak(b"did:web:college.example")


def event(kind: GovernanceEventKind, at: int, *types: str, until: int = 0) -> GovernanceEvent:
    return GovernanceEvent(
        contract="0x" + "00" * 20,
        subject=ISSUER,
        kind=kind,
        proposal_id=at,
        credential_types=json.dumps(["0x" + credential_type_id(t).hex() for t in types]),
        valid_from=0,
        valid_until=until,
        block_number=at,
        log_index=0,
        block_hash="0x" + "00" * 32,
        block_time=at,
        tx_hash="0x" + "00" * 32,
    )


def test_the_issuer_history_is_the_contracts_replayed() -> None:
    ob, clr = credential_type_id("OpenBadgeCredential"), credential_type_id("ClrCredential")
    grants, statuses = replay_issuer(
        [
            event(GovernanceEventKind.ACCREDITED, 100, "OpenBadgeCredential"),
            event(GovernanceEventKind.SUSPENDED, 200),
            # Accrediting a suspended issuer replaces its grants but keeps it suspended.
            event(GovernanceEventKind.ACCREDITED, 300, "OpenBadgeCredential", "ClrCredential"),
            event(GovernanceEventKind.REINSTATED, 400),
            event(GovernanceEventKind.MEMBER_ADDED, 450),  # a membership, not the issuer's standing
            event(GovernanceEventKind.REMOVED, 500),
        ]
    )
    assert grants == [
        Grant(ob, 100, 300, 0, 0),
        Grant(ob, 300, 500, 0, 0),
        Grant(clr, 300, 500, 0, 0),
    ]
    assert statuses == [
        StatusChange(IssuerStatus.ACTIVE, 100),
        StatusChange(IssuerStatus.SUSPENDED, 200),
        StatusChange(IssuerStatus.ACTIVE, 400),
        StatusChange(IssuerStatus.REMOVED, 500),
    ]
    open_grants, _ = replay_issuer([event(GovernanceEventKind.ACCREDITED, 100, "ClrCredential")])
    assert open_grants == [Grant(clr, 100, OPEN, 0, 0)]


def test_a_reorg_takes_the_projected_events_of_the_dropped_blocks_with_it(tmp_path: Any) -> None:
    from node.indexing.indexer import DecodedLog
    from node.store.db import Database
    from node.store.models import AnchorEvent, StatusWordEvent
    from node.verification.readers.projection import credential_registry_subscription

    db = Database(f"sqlite:///{tmp_path / 'index.sqlite'}")
    db.migrate()
    registry = "0x" + "c0" * 20
    anchors = credential_registry_subscription(registry, registry_abi())

    def log(name: str, block: int, **args: Any) -> DecodedLog:
        return DecodedLog(registry, name, args, block, "0x" + "ab" * 32, block, "0x" + "cd" * 32, 0)

    with db.session() as session:
        for block in (10, 11, 12):
            anchors.handler(
                session,
                log("Anchored", block, issuer=ISSUER, root=ROOT, credentialType=ROOT, count=1),
            )
            anchors.handler(
                session,
                log(
                    "StatusWordChanged", block + 100, issuer=ISSUER, listId=0, purpose=0,
                    wordIndex=1, word=2**255,
                ),
            )  # fmt: skip
    with db.session() as session:
        anchors.rollback(session, 11)
    with db.session() as session:
        from sqlmodel import select

        assert [a.block_number for a in session.exec(select(AnchorEvent))] == [10]
        assert [w.block_number for w in session.exec(select(StatusWordEvent))] == []
        anchors.rollback(session, 0)
    db.dispose()


def test_where_the_index_stands_reads_like_the_orm_on_sqlite_and_postgresql(
    tmp_path: Any, postgres_url: str
) -> None:
    """Every verification asks where the indexers stand through a driver-level read: the values
    (the block, its hash and time, when the head was last confirmed) are the ORM's."""
    from datetime import UTC, datetime

    from node.store.cursors import read_cursor, read_cursors
    from node.store.db import Database
    from node.store.models import IndexerCursor

    checked = datetime(2026, 12, 6, 9, 30, 15, 123456, tzinfo=UTC)
    for url in (f"sqlite:///{tmp_path / 'node.db'}", postgres_url):
        db = Database(url)
        db.migrate()
        with db.session() as session:
            session.add(
                IndexerCursor(
                    name="chain",
                    block_number=41,
                    block_hash="0x" + "ab" * 32,
                    block_time=1_780_000_000,
                    checked_at=checked,
                )
            )
        found = read_cursors(db, ("chain", "no-such-indexer"))
        assert list(found) == ["chain"]
        position = found["chain"]
        assert (position.block_number, position.block_hash, position.block_time) == (
            41,
            "0x" + "ab" * 32,
            1_780_000_000,
        )
        assert position.checked_at is not None
        assert position.checked_at.replace(tzinfo=UTC) == checked
        assert read_cursor(db, "no-such-indexer") is None
        db.engine.dispose()
