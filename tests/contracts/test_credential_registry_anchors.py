"""CredentialRegistry anchors: only accredited issuers anchor, once per root; inclusion proofs
(OpenZeppelin's MerkleProof) agree with the node's trees."""

from __future__ import annotations

import pytest
from contract_helpers import CLR, OPEN_BADGE, Chain, Consortium, events, reverts
from eth_utils import keccak
from web3.contract import Contract

from node.credentials.merkle import MerkleTree, leaf
from node.governance.actions import ProposalAction

ROOT = b"\xab" * 32


def test_an_accredited_issuer_anchors_a_root(
    chain: Chain, consortium: Consortium, credential_registry: Contract
) -> None:
    issuer = chain.accounts[3]
    consortium.accredit(issuer, [OPEN_BADGE])
    receipt = chain.send(credential_registry.functions.anchor(ROOT, 7, OPEN_BADGE), issuer)

    (anchored,) = events(credential_registry, "Anchored", receipt)
    assert anchored["args"] == {
        "root": ROOT,
        "issuer": issuer,
        "credentialType": OPEN_BADGE,
        "count": 7,
    }
    assert credential_registry.functions.anchorOf(ROOT).call() == [
        issuer,
        chain.block_time(receipt),
        7,
    ]


def test_anchor_of_an_unknown_root_is_empty(credential_registry: Contract) -> None:
    assert credential_registry.functions.anchorOf(ROOT).call() == ["0x" + "00" * 20, 0, 0]


def test_registry_is_the_issuer_registry(
    credential_registry: Contract, issuer_registry: Contract
) -> None:
    assert credential_registry.functions.registry().call() == issuer_registry.address


def test_a_root_is_anchored_only_once(
    chain: Chain, consortium: Consortium, credential_registry: Contract
) -> None:
    first, second = chain.accounts[3], chain.accounts[4]
    consortium.accredit(first, [OPEN_BADGE])
    consortium.accredit(second, [OPEN_BADGE])
    chain.send(credential_registry.functions.anchor(ROOT, 1, OPEN_BADGE), first)
    for issuer in (first, second):
        with reverts(credential_registry, "AlreadyAnchored", ROOT):
            chain.send(credential_registry.functions.anchor(ROOT, 1, OPEN_BADGE), issuer)
    assert credential_registry.functions.anchorOf(ROOT).call()[0] == first


def test_an_empty_batch_is_refused(
    chain: Chain, consortium: Consortium, credential_registry: Contract
) -> None:
    consortium.accredit(chain.accounts[3], [OPEN_BADGE])
    with reverts(credential_registry, "EmptyBatch"):
        chain.send(credential_registry.functions.anchor(ROOT, 0, OPEN_BADGE), chain.accounts[3])


def test_unaccredited_callers_and_types_are_refused(
    chain: Chain, consortium: Consortium, credential_registry: Contract
) -> None:
    issuer, outsider = chain.accounts[3], chain.accounts[5]
    consortium.accredit(issuer, [OPEN_BADGE])
    with reverts(credential_registry, "NotAccredited", outsider, OPEN_BADGE):
        chain.send(credential_registry.functions.anchor(ROOT, 1, OPEN_BADGE), outsider)
    with reverts(credential_registry, "NotAccredited", issuer, CLR):
        chain.send(credential_registry.functions.anchor(ROOT, 1, CLR), issuer)


@pytest.mark.parametrize(
    "actions",
    [[ProposalAction.SUSPEND_ISSUER], [ProposalAction.REMOVE_ISSUER]],
    ids=["suspended", "removed"],
)
def test_suspended_or_removed_issuers_cannot_anchor(
    chain: Chain,
    consortium: Consortium,
    credential_registry: Contract,
    actions: list[ProposalAction],
) -> None:
    issuer = chain.accounts[3]
    consortium.accredit(issuer, [OPEN_BADGE])
    for action in actions:
        consortium.issuer_action(action, issuer)
    with reverts(credential_registry, "NotAccredited", issuer, OPEN_BADGE):
        chain.send(credential_registry.functions.anchor(ROOT, 1, OPEN_BADGE), issuer)


def test_anchoring_outside_the_validity_window_is_refused(
    chain: Chain, consortium: Consortium, credential_registry: Contract
) -> None:
    issuer = chain.accounts[3]
    start = chain.now() + 1_000
    consortium.accredit(issuer, [OPEN_BADGE], valid_from=start, valid_until=start + 1_000)
    with reverts(credential_registry, "NotAccredited", issuer, OPEN_BADGE):
        chain.send(credential_registry.functions.anchor(ROOT, 1, OPEN_BADGE), issuer)
    chain.advance(1_000)
    chain.send(credential_registry.functions.anchor(ROOT, 1, OPEN_BADGE), issuer)
    chain.advance(1_000)
    with reverts(credential_registry, "NotAccredited", issuer, OPEN_BADGE):
        chain.send(credential_registry.functions.anchor(b"\x01" * 32, 1, OPEN_BADGE), issuer)


def _leaf(credential_hash: bytes) -> bytes:
    """The OpenZeppelin StandardMerkleTree leaf for one bytes32 value (docs/design.md)."""
    return keccak(keccak(credential_hash))


def _pair(a: bytes, b: bytes) -> bytes:
    return keccak(min(a, b) + max(a, b))


def test_inclusion_proofs_use_sorted_pair_hashing(credential_registry: Contract) -> None:
    leaves = [_leaf(bytes([i]) * 32) for i in range(3)]
    left = _pair(leaves[0], leaves[1])
    root = _pair(left, leaves[2])
    verify = credential_registry.functions.verifyInclusion

    assert verify(root, [leaves[1], leaves[2]], leaves[0]).call()
    assert verify(root, [leaves[0], leaves[2]], leaves[1]).call()
    assert verify(root, [left], leaves[2]).call()
    assert verify(leaves[0], [], leaves[0]).call()

    assert not verify(root, [leaves[2], leaves[1]], leaves[0]).call()
    assert not verify(root, [leaves[1]], leaves[0]).call()
    assert not verify(root, [leaves[1], leaves[2]], _leaf(b"\x09" * 32)).call()


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 13, 16, 17])
def test_every_proof_of_the_nodes_merkle_trees_verifies_on_chain(
    credential_registry: Contract, size: int
) -> None:
    """The node's trees (node/credentials/merkle.py) and OpenZeppelin's MerkleProof agree."""
    leaves = [leaf(keccak(bytes([size, i]))) for i in range(size)]
    tree = MerkleTree(leaves)
    verify = credential_registry.functions.verifyInclusion
    for index, item in enumerate(leaves):
        proof = tree.proof(index)
        assert verify(tree.root, proof, item).call()
        assert not verify(tree.root, proof, leaf(keccak(b"not in the batch"))).call()
        if proof:
            tampered = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
            assert not verify(tree.root, tampered, item).call()
