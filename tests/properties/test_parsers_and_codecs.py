"""Property tests: whatever bytes arrive, the parsers and codecs either answer or refuse with a
`LernodeError` (never crash), and every encoding round-trips.

Extends, without repeating, tests/unit/credentials (status list round trip at the default
length, Merkle membership, JCS) and tests/unit/did (examples of valid/invalid DIDs): here the
inputs are arbitrary, the lengths vary, and a single flipped bit must be noticed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.credentials.format_check import check_format, credential_kind
from node.credentials.merkle import MerkleTree, hash_pair, process_proof, verify_proof
from node.credentials.status_list import Bitstring
from node.did.identifier import format_ethr_did, parse_did_url, parse_ethr_did
from node.errors import LernodeError

hashes = st.binary(min_size=32, max_size=32)
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
#: Keys a credential parser looks at, so generated documents get past the first checks.
credential_keys = st.sampled_from(
    ["@context", "type", "id", "issuer", "validFrom", "validUntil", "credentialSubject",
     "credentialStatus", "proof", "name", "achievement", "verifiableCredential"]
)  # fmt: skip
credential_like = st.dictionaries(credential_keys, json_values, max_size=8)


# -- status list codec ------------------------------------------------------------------------


@given(st.binary(min_size=1, max_size=2048))
def test_any_bitstring_content_round_trips_through_encoded_list(data: bytes) -> None:
    bits = Bitstring(len(data) * 8, data)
    assert Bitstring.decode(bits.encode()).to_bytes() == data


@given(st.lists(st.integers(0, 2**256 - 1), max_size=16))
def test_chain_words_round_trip_through_the_w3c_bitstring(words: list[int]) -> None:
    bits = Bitstring.from_words(words, length=16 * 256)
    assert bits.to_words() == words + [0] * (16 - len(words))


@given(st.text(max_size=200))
def test_decoding_arbitrary_text_answers_or_refuses(text: str) -> None:
    try:
        Bitstring.decode(text)
    except LernodeError as exc:
        assert exc.code == "invalid_status_list"


@given(st.binary(max_size=300))
def test_decoding_arbitrary_base64url_bytes_answers_or_refuses(raw: bytes) -> None:
    import base64

    text = "u" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    try:
        Bitstring.decode(text)
    except LernodeError as exc:
        assert exc.code == "invalid_status_list"


@given(st.integers(), st.integers(8, 4096).map(lambda n: n - n % 8))
def test_an_index_outside_the_list_is_refused_not_wrapped(index: int, length: int) -> None:
    bits = Bitstring(length)
    if 0 <= index < length:
        bits.set(index)
        assert bits.get(index) and bits.set_indices() == [index]
    else:
        with pytest.raises(LernodeError):
            bits.set(index)


# -- Merkle -----------------------------------------------------------------------------------


@given(st.lists(hashes, min_size=1, max_size=33), st.data())
def test_flipping_any_bit_of_a_proof_or_leaf_breaks_it(leaves: list[bytes], data: Any) -> None:
    tree = MerkleTree(leaves)
    index = data.draw(st.integers(0, len(leaves) - 1))
    proof = tree.proof(index)
    assert verify_proof(tree.root, proof, leaves[index])
    bit = data.draw(st.integers(0, 255))
    flipped_leaf = (int.from_bytes(leaves[index], "big") ^ (1 << bit)).to_bytes(32, "big")
    assert not verify_proof(tree.root, proof, flipped_leaf)
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[which] = (int.from_bytes(bad[which], "big") ^ (1 << bit)).to_bytes(32, "big")
        assert not verify_proof(tree.root, bad, leaves[index])


@given(st.lists(hashes, min_size=1, max_size=33))
def test_the_root_commits_to_every_leaf_and_their_multiset(leaves: list[bytes]) -> None:
    root = MerkleTree(leaves).root
    for i in range(len(leaves)):
        changed = list(leaves)
        changed[i] = bytes(32) if leaves[i] != bytes(32) else b"\x01" * 32
        if changed != leaves:
            assert MerkleTree(changed).root != root
    if len(leaves) > 1:
        assert MerkleTree(leaves[:-1]).root != root


@given(hashes, hashes)
def test_pair_hashing_is_commutative_like_openzeppelin(a: bytes, b: bytes) -> None:
    assert hash_pair(a, b) == hash_pair(b, a)
    assert process_proof([b], a) == hash_pair(a, b)


# -- DID parsing ------------------------------------------------------------------------------


addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())


@given(st.integers(1, 2**64), addresses)
def test_format_then_parse_round_trips(chain_id: int, address: str) -> None:
    did = format_ethr_did(chain_id, address)
    parsed = parse_ethr_did(did)
    assert (parsed.chain_id, parsed.address, parsed.did) == (chain_id, address.lower(), did)


@given(st.integers(1, 2**32), addresses, st.text(alphabet="abcdefghij-_0123456789", max_size=12))
def test_did_url_fragments_round_trip(chain_id: int, address: str, fragment: str) -> None:
    did = format_ethr_did(chain_id, address)
    url = parse_did_url(f"{did}?versionId=7#{fragment}")
    assert url.did.did == did and url.fragment == fragment and url.query == {"versionId": "7"}


@given(st.one_of(st.text(max_size=120), st.from_regex(r"did:ethr:[^\s]{0,90}", fullmatch=True)))
@settings(max_examples=300)
def test_parsing_arbitrary_text_answers_or_refuses(text: str) -> None:
    for parse in (parse_ethr_did, parse_did_url):
        try:
            parse(text)
        except LernodeError as exc:
            assert exc.code


# -- credential format check ------------------------------------------------------------------


@given(json_values)
def test_the_format_check_reports_on_any_json_and_never_crashes(value: Any) -> None:
    issues = check_format(value)
    assert isinstance(issues, list)
    if not isinstance(value, dict):
        assert issues


@given(credential_like)
@settings(max_examples=300)
def test_credential_shaped_documents_are_checked_without_crashing(document: Any) -> None:
    check_format(document)
    try:
        credential_kind(document)
    except LernodeError as exc:
        assert exc.code == "unsupported_credential_type"
    json.dumps([i.__dict__ if hasattr(i, "__dict__") else str(i) for i in check_format(document)])
