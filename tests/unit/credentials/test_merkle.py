"""OpenZeppelin-compatible Merkle trees (docs/design.md, "Hashes and anchoring")."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from node.credentials.jcs import canonicalize
from node.credentials.keccak import keccak256
from node.credentials.merkle import MerkleTree, credential_hash, hash_pair, leaf, verify_proof
from node.errors import InvalidInput

hashes = st.binary(min_size=32, max_size=32)


def test_credential_hash_is_keccak_of_the_jcs_form_so_key_order_is_irrelevant() -> None:
    credential = {"id": "urn:uuid:1", "proof": {"proofValue": "z1"}, "type": ["A"]}
    assert credential_hash(credential) == keccak(canonicalize(credential))
    assert credential_hash(dict(reversed(list(credential.items())))) == credential_hash(credential)


def test_leaf_is_the_double_hashed_abi_encoded_bytes32() -> None:
    value = bytes(range(32))
    assert leaf(value) == keccak(keccak(encode(["bytes32"], [value])))
    assert leaf(value) == keccak(keccak(value))  # abi.encode(bytes32) is the 32 bytes


def test_a_batch_of_one_has_the_leaf_as_root_and_an_empty_proof() -> None:
    only = leaf(b"\x01" * 32)
    tree = MerkleTree([only])
    assert (tree.root, tree.proof(0)) == (only, [])


def test_three_leaves_carry_the_odd_one_up_unchanged() -> None:
    a, b, c = (leaf(bytes([i]) * 32) for i in range(3))
    tree = MerkleTree([a, b, c])
    assert tree.root == hash_pair(hash_pair(a, b), c)
    assert tree.proof(2) == [hash_pair(a, b)]
    assert tree.proof(0) == [b, c]


@given(st.lists(hashes, min_size=1, max_size=40), st.data())
def test_every_leaf_proves_membership_in_the_root(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree(leaves)
    index = data.draw(st.integers(0, len(leaves) - 1))
    assert verify_proof(tree.root, tree.proof(index), leaves[index])


@given(st.lists(hashes, min_size=2, max_size=40, unique=True), hashes)
def test_a_leaf_outside_the_batch_does_not_verify(leaves: list[bytes], stranger: bytes) -> None:
    tree = MerkleTree(leaves)
    if stranger not in leaves:
        assert not any(verify_proof(tree.root, tree.proof(i), stranger) for i in range(len(leaves)))


def test_empty_batches_and_malformed_leaves_are_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        MerkleTree([])
    assert raised.value.code == "empty_batch"
    with pytest.raises(InvalidInput):
        MerkleTree([b"short"])
    with pytest.raises(InvalidInput):
        MerkleTree([b"\x00" * 32]).proof(1)


@given(st.binary(max_size=300))
def test_the_fast_keccak_is_ethereums_keccak256(data: bytes) -> None:
    assert keccak256(data) == keccak(data)


@given(hashes, hashes)
def test_inner_nodes_hash_the_sorted_pair(a: bytes, b: bytes) -> None:
    assert hash_pair(a, b) == hash_pair(b, a) == keccak(min(a, b) + max(a, b))
