"""A reorg that drops an accreditation is undone in the registry: the issuer stops being listed,
its alias is unbound and the published metadata forgotten, as the canonical chain says.

The reorg is anvil's `evm_revert` to a snapshot taken before the accreditation, after which the
chain grows past the indexed height with other blocks: the registry indexer finds its cursor's
block replaced and re-reads, rolling the registry tables back.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from node.chain.bindings import Contracts, Deployment
from node.chain.contracts.types import credential_type_id
from node.chain.sender import TransactionSender
from node.did.identifier import format_ethr_did
from node.governance.metadata import IssuerMetadata
from node.indexing.indexer import Indexer
from node.registry.projection import issuer_registry_subscription
from node.registry.service import REGISTRY_CURSOR, ConsortiumRegistry, UnknownSubject
from node.store.db import Database

if TYPE_CHECKING:
    from tests.support.chain import DevChain

pytestmark = pytest.mark.anvil


def test_a_reorg_that_drops_an_accreditation_is_rolled_back_in_the_registry(
    clean_chain: DevChain, deployment: Deployment, tmp_path: Path
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    db.migrate()
    client = clean_chain.client()
    indexer = Indexer(
        db,
        client,
        [issuer_registry_subscription(deployment.issuer_registry)],
        cursor=REGISTRY_CURSOR,
        start_block=deployment.block_number,
        reorg_depth=20,
    )
    registry = ConsortiumRegistry(
        db,
        chain_id=clean_chain.chain_id,
        issuer_registry=deployment.issuer_registry,
        did_registry=deployment.did_registry,
        now=lambda: 0,
    )
    issuer = clean_chain.accounts[7].address
    did = format_ethr_did(clean_chain.chain_id, issuer)
    alias = "did:web:reorged.example"
    faces = Contracts(client, deployment).issuer_registry
    sender = TransactionSender(client, clean_chain.accounts[0])
    indexer.poll_once()
    snapshot = clean_chain.rpc("evm_snapshot")

    receipt = sender.transact(
        faces.propose_accreditation(
            issuer,
            [credential_type_id("OpenBadgeCredential")],
            0,
            0,
            IssuerMetadata(organization_name="Short-lived College").to_chain(),
            [alias],
        )
    )
    sender.transact(faces.execute(faces.created_proposal_id(receipt.raw)))
    indexer.poll_once()
    assert registry.entry(alias).listed
    assert registry.entry(did).metadata is not None

    clean_chain.rpc("evm_revert", snapshot)
    clean_chain.rpc("anvil_mine", "0x5")  # a longer chain without the accreditation
    indexer.poll_once()

    assert not registry.entry(did).listed
    assert registry.entry(did).metadata is None
    with pytest.raises(UnknownSubject):
        registry.entry(alias)
    assert registry.entries() == []
    db.dispose()
