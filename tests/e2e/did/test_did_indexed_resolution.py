"""did:ethr resolution end to end: registry writes on anvil -> indexer -> database -> resolver."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING

import base58
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from node.api.problems import install_problem_handlers
from node.api.routes.resolver import router
from node.chain.revert import ErrorDecoder
from node.chain.sender import TransactionSender
from node.did.attributes import ED25519_ASSERTION_KEY, encode_bytes32, publish_ed25519_key
from node.did.errors import DidNotFound
from node.did.projection import did_registry_subscription
from node.errors import ContractRevert
from node.indexing.indexer import Indexer

if TYPE_CHECKING:
    from tests.support.chain import DidRegistryDriver, DidResolution

pytestmark = pytest.mark.anvil

YEAR = 365 * 86_400
KEY = bytes(range(32, 64))


def did_of(registry: DidRegistryDriver, address: str) -> str:
    return f"did:ethr:{hex(registry.chain.chain_id)}:{address.lower()}"


def method_ids(document: dict[str, object]) -> list[str]:
    methods = document["verificationMethod"]
    assert isinstance(methods, list)
    return [str(m["id"]).rsplit("#", 1)[1] for m in methods]


def test_a_did_without_changes_has_only_its_controller(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    address = did_registry.chain.accounts[9].address
    assert did_resolution.sync() == 0
    result = did_resolution.resolver.resolve(did_of(did_registry, address))
    assert method_ids(result.did_document) == ["controller"]
    assert result.did_document["verificationMethod"][0]["blockchainAccountId"] == (
        f"eip155:{did_registry.chain.chain_id}:{address}"
    )
    assert result.did_document_metadata == {}


def test_a_published_ed25519_key_is_an_assertion_method_with_block_metadata(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    issuer = did_registry.chain.accounts[5].address
    attribute = publish_ed25519_key(KEY)
    block = did_registry.send(
        "setAttribute", issuer, attribute.name, attribute.value, YEAR, sender=issuer
    )
    assert block is not None
    assert did_resolution.sync() == 1
    did = did_of(did_registry, issuer)
    result = did_resolution.resolver.resolve(did)
    key = result.did_document["verificationMethod"][1]
    assert key == {
        "id": f"{did}#delegate-1",
        "type": "Ed25519VerificationKey2018",
        "controller": did,
        "publicKeyBase58": base58.b58encode(KEY).decode(),
    }
    assert result.did_document["assertionMethod"] == [f"{did}#controller", f"{did}#delegate-1"]
    stamp = datetime.fromtimestamp(did_registry.block_time(block), UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert result.did_document_metadata == {
        "created": stamp,
        "versionId": str(block),
        "updated": stamp,
    }


def test_fifty_changes_and_historical_versions(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    issuer = did_registry.chain.accounts[6].address
    blocks: list[int | None] = []
    for i in range(50):
        if i == 10:
            did_registry.advance(10)  # anvil stamps fast blocks with the same second
        blocks.append(
            did_registry.set_attribute(issuer, "did/pub/Ed25519/veriKey/hex", bytes([i]) * 32, YEAR)
        )
    assert did_resolution.sync() == 50
    did = did_of(did_registry, issuer)
    latest = did_resolution.resolver.resolve(did)
    assert method_ids(latest.did_document) == ["controller"] + [
        f"delegate-{i}" for i in range(1, 51)
    ]
    middle = did_resolution.resolver.resolve(did, version_id=blocks[24])
    assert len(middle.did_document["verificationMethod"]) == 1 + 25
    assert middle.did_document_metadata["versionId"] == str(blocks[24])
    assert middle.did_document_metadata["nextVersionId"] == str(blocks[25])
    assert blocks[9] is not None
    at_time = datetime.fromtimestamp(did_registry.block_time(blocks[9]), UTC)
    assert len(did_resolution.resolver.resolve(did, version_time=at_time).did_document[
        "verificationMethod"
    ]) == 1 + 10  # fmt: skip


def test_changes_in_one_block_apply_in_log_order(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    issuer = did_registry.chain.accounts[7].address
    with did_registry.same_block():
        for value in (b"\x01", b"\x02", b"\x03"):
            did_registry.set_attribute(issuer, "did/pub/Ed25519/veriKey/hex", value * 32, YEAR)
    did_resolution.sync()
    document = did_resolution.resolver.resolve(did_of(did_registry, issuer)).did_document
    keys = [m.get("publicKeyHex", "")[:2] for m in document["verificationMethod"][1:]]
    assert keys == ["01", "02", "03"]
    assert method_ids(document)[1:] == ["delegate-1", "delegate-2", "delegate-3"]


def test_owner_change_moves_control_and_the_old_owner_is_refused(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    chain = did_registry.chain
    identity, new_owner = chain.accounts[5], chain.accounts[6]
    did_registry.change_owner(identity.address, new_owner.address)
    did_registry.set_attribute(
        identity.address, ED25519_ASSERTION_KEY, KEY, YEAR, sender=new_owner.address
    )
    sender = TransactionSender(
        chain.client(),
        identity,
        error_decoder=ErrorDecoder({"EthereumDIDRegistry": did_registry.abi}),
    )
    write = did_registry.registry.functions.setAttribute(
        identity.address, encode_bytes32(ED25519_ASSERTION_KEY), b"\xff" * 32, YEAR
    )
    with pytest.raises(ContractRevert) as refused:
        sender.transact(write)
    assert refused.value.code == "not_identity_owner"
    assert did_resolution.sync() == 2
    document = did_resolution.resolver.resolve(did_of(did_registry, identity.address)).did_document
    assert document["verificationMethod"][0]["blockchainAccountId"].endswith(new_owner.address)
    assert document["verificationMethod"][1]["publicKeyBase58"] == base58.b58encode(KEY).decode()


def test_unauthorized_identity_cannot_change_another_identitys_attribute(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    chain = did_registry.chain
    victim, attacker = chain.accounts[7], chain.accounts[8]
    sender = TransactionSender(
        chain.client(),
        attacker,
        error_decoder=ErrorDecoder({"EthereumDIDRegistry": did_registry.abi}),
    )
    forged = publish_ed25519_key(b"\x66" * 32)
    write = did_registry.registry.functions.setAttribute(
        victim.address, forged.name, forged.value, YEAR
    )
    with pytest.raises(ContractRevert) as refused:
        sender.transact(write)
    assert refused.value.code == "not_identity_owner"
    assert did_resolution.sync() == 0
    document = did_resolution.resolver.resolve(did_of(did_registry, victim.address)).did_document
    assert method_ids(document) == ["controller"]


def test_delegates_revocation_and_expiry_as_of_a_given_time(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    chain = did_registry.chain
    issuer, signer = chain.accounts[5].address, chain.accounts[6].address
    did = did_of(did_registry, issuer)
    added = did_registry.add_delegate(issuer, "sigAuth", signer, YEAR)
    published = did_registry.set_attribute(issuer, ED25519_ASSERTION_KEY, KEY, 3_600)
    assert added is not None and published is not None
    issued_at = did_registry.block_time(published) + 10
    did_registry.advance(60)
    revoked = did_registry.revoke_delegate(issuer, "sigAuth", signer)
    assert revoked is not None
    did_resolution.sync()
    resolver = did_resolution.resolver

    key = resolver.resolve_key(f"{did}#delegate-2", issued_at)
    assert key.method["publicKeyBase58"] == base58.b58encode(KEY).decode()
    assert key.allows("assertionMethod") and not key.allows("authentication")
    assert resolver.resolve_key(f"{did}#delegate-1", issued_at).allows("authentication")
    with pytest.raises(DidNotFound) as gone:
        resolver.resolve_key(f"{did}#delegate-1", did_registry.block_time(revoked))
    assert gone.value.code == "verification_method_not_found"
    with pytest.raises(DidNotFound):  # the key expired an hour after publication
        resolver.resolve_key(f"{did}#delegate-2", did_registry.block_time(published) + 3_601)
    with pytest.raises(DidNotFound):  # and did not exist before it
        resolver.resolve_key(f"{did}#delegate-2", did_registry.block_time(added) - 1)


def test_a_revoked_attribute_leaves_the_document(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    issuer = did_registry.chain.accounts[8].address
    did_registry.set_attribute(issuer, ED25519_ASSERTION_KEY, KEY, YEAR)
    did_registry.revoke_attribute(issuer, ED25519_ASSERTION_KEY, KEY)
    did_registry.set_attribute(issuer, ED25519_ASSERTION_KEY, KEY[::-1], YEAR)
    did_resolution.sync()
    document = did_resolution.resolver.resolve(did_of(did_registry, issuer)).did_document
    assert method_ids(document) == ["controller", "delegate-3"]  # the revoked one keeps its number


def test_deactivation_is_served_as_410_with_deactivated_metadata(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    issuer = did_registry.chain.accounts[9].address
    did_registry.set_attribute(issuer, ED25519_ASSERTION_KEY, KEY, YEAR)
    did_registry.change_owner(issuer, "0x" + "00" * 20)
    did_resolution.sync()
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    app.state.node = SimpleNamespace(resolver=did_resolution.resolver)
    answer = TestClient(app).get(
        f"/1.0/identifiers/{did_of(did_registry, issuer)}",
        headers={"Accept": "application/did-resolution"},
    )
    assert answer.status_code == 410
    body = answer.json()
    assert body["didDocumentMetadata"]["deactivated"] is True
    assert body["didDocument"]["verificationMethod"] == []


def test_the_indexer_resumes_from_its_cursor_after_a_restart(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    issuer = did_registry.chain.accounts[5].address
    did_registry.set_attribute(issuer, ED25519_ASSERTION_KEY, KEY, YEAR)
    assert did_resolution.sync() == 1
    assert did_resolution.sync() == 0
    restarted = Indexer(
        did_resolution.db,
        did_registry.chain.client(),
        [did_registry_subscription(did_registry.address, did_registry.abi)],
        start_block=did_resolution.indexer.start_block,
    )
    did_registry.set_attribute(issuer, "did/svc/LinkedDomains", b"https://x.example", YEAR)
    assert restarted.poll_once() == 1  # only the new event, nothing applied twice
    assert restarted.position() == did_registry.chain.client().latest_block()


def test_a_reorganised_change_is_replaced_by_the_new_chain(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    chain = did_registry.chain
    issuer = chain.accounts[6].address
    did_registry.set_attribute(issuer, "did/svc/Kept", b"https://kept.example", YEAR)
    fork_point = chain.rpc("evm_snapshot")
    did_registry.set_attribute(issuer, "did/svc/Orphaned", b"https://orphan.example", YEAR)
    assert did_resolution.sync() == 2
    chain.rpc("evm_revert", fork_point)
    did_registry.advance(5)  # the new branch: different blocks at the same heights
    did_registry.set_attribute(issuer, "did/svc/Winner", b"https://winner.example", YEAR)
    did_resolution.sync()
    document = did_resolution.resolver.resolve(did_of(did_registry, issuer)).did_document
    assert [s["type"] for s in document["service"]] == ["Kept", "Winner"]


def test_the_latest_document_follows_new_changes_and_expiries_without_a_rebuild_in_between(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    issuer = did_registry.chain.accounts[4].address
    block = did_registry.set_attribute(issuer, ED25519_ASSERTION_KEY, bytes([7]) * 32, 1_000)
    assert block is not None
    did_resolution.sync()
    did = did_of(did_registry, issuer)
    resolver = did_resolution.resolver
    published_at = did_registry.chain.client().block_timestamp(block)
    resolver.clock = lambda: published_at + 10

    first = resolver.resolve(did).did_document
    assert resolver.resolve(did).did_document == first  # served from the snapshot
    assert method_ids(first) == ["controller", "delegate-1"]

    did_registry.set_attribute(issuer, "did/svc/Profile", b"https://uni.example", 10_000)
    did_resolution.sync()
    assert len(resolver.resolve(did).did_document["service"]) == 1  # type: ignore[arg-type]

    resolver.clock = lambda: published_at + 2_000  # the key's validTo has passed
    assert method_ids(resolver.resolve(did).did_document) == ["controller"]
