"""CredentialRegistry anchors: only accredited issuers anchor, each root once per issuer, and
no issuer can anchor in another's way; inclusion proofs agree with the node's trees."""

from __future__ import annotations

import pytest
from eth_utils import keccak
from web3.contract import Contract

from node.chain.contracts.types import ProposalAction
from node.credentials.merkle import MerkleTree, leaf
from tests.support.contracts import CLR, OPEN_BADGE, Chain, Consortium, events, reverts

ROOT = b"\xab" * 32


def test_an_accredited_issuer_anchors_a_root(
    chain: Chain, consortium: Consortium, credential_registry: Contract
) -> None:
    issuer = chain.accounts[3]
    consortium.accredit(issuer, [OPEN_BADGE])
    receipt = chain.send(credential_registry.functions.anchor(ROOT, 7, OPEN_BADGE), issuer)

    (anchored,) = events(credential_registry, "Anchored", receipt)
    assert anchored["args"] == {
        "issuer": issuer,
        "root": ROOT,
        "credentialType": OPEN_BADGE,
        "count": 7,
    }
    assert credential_registry.functions.anchorOf(issuer, ROOT).call() == [
        chain.block_time(receipt),
        receipt["blockNumber"],
        7,
    ]


def test_the_issuer_is_the_first_topic_of_anchored(
    chain: Chain, consortium: Consortium, credential_registry: Contract
) -> None:
    """topic1 is the issuer, as in the ERC-1056 and IssuerRegistry events (see discovery)."""
    issuer = chain.accounts[3]
    consortium.accredit(issuer, [OPEN_BADGE])
    receipt = chain.send(credential_registry.functions.anchor(ROOT, 7, OPEN_BADGE), issuer)
    (log,) = [entry for entry in receipt["logs"] if entry["address"] == credential_registry.address]
    assert log["topics"][0] == keccak(text="Anchored(address,bytes32,bytes32,uint32)")
    assert log["topics"][1] == bytes(12) + bytes.fromhex(issuer[2:])
    assert log["topics"][2:] == [ROOT, OPEN_BADGE]


def test_anchor_of_records_the_mined_block(
    chain: Chain, consortium: Consortium, credential_registry: Contract
) -> None:
    """A verifier learns the anchoring block from current state: no logs, no archive node."""
    issuer = chain.accounts[3]
    consortium.accredit(issuer, [OPEN_BADGE])
    chain.tester.mine_blocks(5)
    chain.advance(1_000)
    receipt = chain.send(credential_registry.functions.anchor(ROOT, 3, OPEN_BADGE), issuer)
    block = chain.w3.eth.get_block(receipt["blockNumber"])
    chain.tester.mine_blocks(3)

    timestamp, block_number, count = credential_registry.functions.anchorOf(issuer, ROOT).call()
    assert (timestamp, block_number, count) == (block["timestamp"], block["number"], 3)
    assert block_number == receipt["blockNumber"] < chain.w3.eth.block_number


def test_anchor_of_an_unknown_root_is_empty(chain: Chain, credential_registry: Contract) -> None:
    assert credential_registry.functions.anchorOf(chain.accounts[3], ROOT).call() == [0, 0, 0]


def test_registry_is_the_issuer_registry(
    credential_registry: Contract, issuer_registry: Contract
) -> None:
    assert credential_registry.functions.registry().call() == issuer_registry.address


def test_an_issuer_anchors_a_root_only_once(
    chain: Chain, consortium: Consortium, credential_registry: Contract
) -> None:
    issuer = chain.accounts[3]
    consortium.accredit(issuer, [OPEN_BADGE, CLR])
    first = chain.send(credential_registry.functions.anchor(ROOT, 1, OPEN_BADGE), issuer)
    for count, type_id in ((1, OPEN_BADGE), (9, CLR)):
        with reverts(credential_registry, "AlreadyAnchored", issuer, ROOT):
            chain.send(credential_registry.functions.anchor(ROOT, count, type_id), issuer)
    assert credential_registry.functions.anchorOf(issuer, ROOT).call() == [
        chain.block_time(first),
        first["blockNumber"],
        1,
    ]


def test_a_root_anchored_first_by_another_issuer_does_not_block_its_owner(
    chain: Chain, consortium: Consortium, credential_registry: Contract
) -> None:
    """Root squatting: issuer B copies issuer A's root from the mempool and anchors it first.
    A's anchor still succeeds, and anchorOf(A, root) is A's own anchor, not B's."""
    victim, squatter = chain.accounts[3], chain.accounts[4]
    consortium.accredit(victim, [OPEN_BADGE])
    consortium.accredit(squatter, [OPEN_BADGE, CLR])
    squatted = chain.send(credential_registry.functions.anchor(ROOT, 999, CLR), squatter)
    chain.advance(60)

    receipt = chain.send(credential_registry.functions.anchor(ROOT, 7, OPEN_BADGE), victim)
    (anchored,) = events(credential_registry, "Anchored", receipt)
    assert anchored["args"]["issuer"] == victim
    assert credential_registry.functions.anchorOf(victim, ROOT).call() == [
        chain.block_time(receipt),
        receipt["blockNumber"],
        7,
    ]
    assert credential_registry.functions.anchorOf(squatter, ROOT).call() == [
        chain.block_time(squatted),
        squatted["blockNumber"],
        999,
    ]
    assert chain.block_time(squatted) < chain.block_time(receipt)


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
