"""Merkle trees compatible with OpenZeppelin's `MerkleProof.verify` (see docs/design.md).

Leaves are double-hashed like OpenZeppelin's StandardMerkleTree
(`keccak256(keccak256(abi.encode(bytes32 credentialHash)))`), so a leaf can never be confused with
an inner node (64-byte preimage) in a second-preimage attack. Inner nodes hash the *sorted* pair,
so a proof is just the list of siblings, with no left/right flags, and verifies on chain with
`MerkleProof.verify`. Levels pair nodes in order; an odd last node is carried up unchanged, so a
batch of one has root = leaf and an empty proof.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from node.credentials import jcs
from node.credentials.keccak import keccak256 as keccak
from node.errors import InvalidInput

_HASH_LENGTH = 32


def credential_hash(credential: Mapping[str, Any]) -> bytes:
    """keccak256 of the RFC 8785 canonical JSON of the whole signed credential."""
    return hash_canonical(jcs.canonicalize(credential))


def hash_canonical(canonical_json: bytes) -> bytes:
    """`credential_hash` for a credential already in its JCS form (saves canonicalizing twice)."""
    return keccak(canonical_json)


def hash_from_hex(value: Any) -> bytes | None:
    """The 32 bytes a `0x` + 64 hex digits string spells (as receipts write hashes), else None.

    Without a regular expression: every verification reads a dozen of them from its receipt.
    `bytes.fromhex` takes only hex digits and whitespace between bytes, so 64 characters give
    32 bytes exactly when all of them are hex digits."""
    if not isinstance(value, str) or len(value) != 66 or not value.startswith("0x"):
        return None
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        return None
    return raw if len(raw) == _HASH_LENGTH else None


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != _HASH_LENGTH:
        raise InvalidInput(f"{what} must be 32 bytes", code="invalid_hash")


def leaf(credential_hash_: bytes) -> bytes:
    """The Merkle leaf of a credential hash (OpenZeppelin StandardMerkleTree, `bytes32`)."""
    _check_hash(credential_hash_, "a credential hash")
    # abi.encode of one bytes32 is its 32 bytes as they are.
    return keccak(keccak(credential_hash_))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """OpenZeppelin `Hashes.commutativeKeccak256`."""
    return keccak(a + b) if a < b else keccak(b + a)


class MerkleTree:
    """A tree over leaves in the given order; `root` and per-leaf `proof(i)`."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        if not leaves:
            raise InvalidInput("a Merkle tree needs at least one leaf", code="empty_batch")
        for item in leaves:
            _check_hash(item, "a Merkle leaf")
        self.levels: list[list[bytes]] = [list(leaves)]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            above = [hash_pair(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
            if len(below) % 2:
                above.append(below[-1])
            self.levels.append(above)

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    def __len__(self) -> int:
        return len(self.levels[0])

    def proof(self, index: int) -> list[bytes]:
        """Siblings from the leaf at `index` up to the root (carried-up levels add nothing)."""
        if not 0 <= index < len(self):
            raise InvalidInput(f"leaf index {index} is out of range", code="invalid_input")
        path: list[bytes] = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            index //= 2
        return path


def process_proof(proof: Sequence[bytes], leaf_: bytes) -> bytes:
    """The root implied by `leaf_` and `proof` (OpenZeppelin `MerkleProof.processProof`)."""
    computed = leaf_
    for sibling in proof:
        computed = hash_pair(computed, sibling)
    return computed


def verify_proof(root: bytes, proof: Sequence[bytes], leaf_: bytes) -> bool:
    """True iff `proof` links `leaf_` to `root` (OpenZeppelin `MerkleProof.verify`)."""
    return process_proof(proof, leaf_) == root
