"""The verifier reads the registries in both anchor ABIs: anchors keyed by (issuer, root) with
their block number (TEAM decision 1) and the earlier root-keyed ones; and the index rebuilds an
issuer's grants and status history from the IssuerRegistry's events exactly as the contract
stores them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_abi import encode
from eth_hash.auto import keccak

from node.chain.artifacts import load_artifact
from node.chain.contracts.types import IssuerStatus, credential_type_id
from node.store.models import IssuerEvent, IssuerEventKind
from node.verification.readers.abi import RegistryAbi, address_topic, registry_abi
from node.verification.readers.projection import OPEN, replay_issuer
from node.verification.report import Grant, IssuerStatusChange

ISSUER = "0x" + "1a" * 20
ROOT = b"\x42" * 32


def _replace(abi: Any, name: str, item: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in abi if i.get("name") != name] + [item]


def keyed_abi() -> RegistryAbi:
    """The committed ABIs with the anchor and alias members of TEAM decision 1."""
    credential = _replace(
        load_artifact("CredentialRegistry").abi,
        "anchorOf",
        {
            "type": "function",
            "name": "anchorOf",
            "stateMutability": "view",
            "inputs": [
                {"name": "issuer", "type": "address"},
                {"name": "root", "type": "bytes32"},
            ],
            "outputs": [
                {"name": "timestamp", "type": "uint64"},
                {"name": "blockNumber", "type": "uint64"},
                {"name": "count", "type": "uint32"},
            ],
        },
    )
    credential = _replace(
        credential,
        "Anchored",
        {
            "type": "event",
            "name": "Anchored",
            "anonymous": False,
            "inputs": [
                {"name": "issuer", "type": "address", "indexed": True},
                {"name": "root", "type": "bytes32", "indexed": True},
                {"name": "credentialType", "type": "bytes32", "indexed": True},
                {"name": "count", "type": "uint32", "indexed": False},
            ],
        },
    )
    issuers = [
        *load_artifact("IssuerRegistry").abi,
        {
            "type": "function",
            "name": "issuerOfAlias",
            "stateMutability": "view",
            "inputs": [{"name": "aliasHash", "type": "bytes32"}],
            "outputs": [{"name": "", "type": "address"}],
        },
    ]
    return RegistryAbi(credential, issuers, load_artifact("EthereumDIDRegistry").abi)


def test_anchors_keyed_by_issuer_and_root_carry_their_block() -> None:
    abi = keyed_abi()
    assert abi.keyed_anchors and abi.has_aliases
    call = abi.anchor_call(ISSUER, ROOT)
    assert call[:4] == keccak(b"anchorOf(address,bytes32)")[:4]
    assert call[4:] == encode(["address", "bytes32"], [ISSUER, ROOT])
    answer = abi.decode_anchor(
        ISSUER, encode(["uint64", "uint64", "uint32"], [1_750_000_000, 77, 3])
    )
    assert answer is not None
    assert (answer.issuer, answer.timestamp, answer.block, answer.count) == (
        ISSUER,
        1_750_000_000,
        77,
        3,
    )
    assert abi.decode_anchor(ISSUER, encode(["uint64", "uint64", "uint32"], [0, 0, 0])) is None
    topics = [abi.anchored_topic, address_topic(ISSUER), "0x" + ROOT.hex(), "0x" + "00" * 32]
    assert abi.anchored_args(topics) == (ISSUER, ROOT)
    alias = abi.alias_call("did:web:college.example")
    assert alias[4:] == keccak(b"did:web:college.example")


def test_root_keyed_anchors_name_their_issuer_and_leave_the_block_to_the_log() -> None:
    abi = registry_abi()
    if abi.keyed_anchors:
        pytest.skip("the committed artifacts speak TEAM decision 1: no root-keyed anchors left")
    assert abi.anchor_call(ISSUER, ROOT)[:4] == keccak(b"anchorOf(bytes32)")[:4]
    answer = abi.decode_anchor(
        ISSUER, encode(["address", "uint64", "uint32"], ["0x" + "ee" * 20, 1_750_000_000, 1])
    )
    assert answer is not None and (answer.issuer, answer.block) == ("0x" + "ee" * 20, None)
    topics = [abi.anchored_topic, "0x" + ROOT.hex(), address_topic(ISSUER), "0x" + "00" * 32]
    assert abi.anchored_args(topics) == (ISSUER, ROOT)


def event(kind: IssuerEventKind, at: int, *types: str, until: int = 0) -> IssuerEvent:
    return IssuerEvent(
        contract="0x" + "00" * 20,
        issuer=ISSUER,
        kind=kind,
        credential_types=json.dumps(["0x" + credential_type_id(t).hex() for t in types]),
        valid_from="0",
        valid_until=str(until),
        block_number=at,
        log_index=0,
        block_time=at,
    )


def test_the_issuer_history_is_the_contracts_replayed() -> None:
    ob, clr = credential_type_id("OpenBadgeCredential"), credential_type_id("ClrCredential")
    grants, statuses = replay_issuer(
        [
            event(IssuerEventKind.ACCREDITED, 100, "OpenBadgeCredential"),
            event(IssuerEventKind.SUSPENDED, 200),
            # Accrediting a suspended issuer replaces its grants but keeps it suspended.
            event(IssuerEventKind.ACCREDITED, 300, "OpenBadgeCredential", "ClrCredential"),
            event(IssuerEventKind.REINSTATED, 400),
            event(IssuerEventKind.REMOVED, 500),
        ]
    )
    assert grants == [
        Grant(ob, 100, 300, 0, 0),
        Grant(ob, 300, 500, 0, 0),
        Grant(clr, 300, 500, 0, 0),
    ]
    assert statuses == [
        IssuerStatusChange(int(IssuerStatus.ACTIVE), 100),
        IssuerStatusChange(int(IssuerStatus.SUSPENDED), 200),
        IssuerStatusChange(int(IssuerStatus.ACTIVE), 400),
        IssuerStatusChange(int(IssuerStatus.REMOVED), 500),
    ]
    open_grants, _ = replay_issuer([event(IssuerEventKind.ACCREDITED, 100, "ClrCredential")])
    assert open_grants == [Grant(clr, 100, OPEN, 0, 0)]


def test_a_reorg_takes_the_projected_events_of_the_dropped_blocks_with_it(tmp_path: Any) -> None:
    from node.indexing.indexer import DecodedLog
    from node.store.db import Database
    from node.store.models import AnchorEvent, StatusWordEvent
    from node.verification.readers.projection import verification_subscriptions

    db = Database(f"sqlite:///{tmp_path / 'index.sqlite'}")
    db.migrate()
    registry, issuers = "0x" + "c0" * 20, "0x" + "1e" * 20
    anchors, _ = verification_subscriptions(registry, issuers, registry_abi())

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
