"""Bitstring Status List codec, credentials, entries and on-chain word conversion."""

from __future__ import annotations

import base64
import gzip
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.credentials import jcs
from node.credentials.status_list import (
    MIN_LIST_LENGTH,
    REVOKED,
    SUSPENDED,
    Bitstring,
    entry_index,
    entry_value,
    first_allocatable,
    message_bitstring,
    status_entry_text,
    status_list_credential,
    status_list_entry,
)
from node.errors import InvalidInput

indices = st.sets(st.integers(0, MIN_LIST_LENGTH - 1), max_size=50)


def test_index_zero_is_the_most_significant_bit_of_the_first_byte() -> None:
    bits = Bitstring.from_indices([0, 9])
    assert bits.to_bytes()[:2] == bytes([0b1000_0000, 0b0100_0000])


def test_encoding_is_gzip_then_multibase_base64url_without_padding() -> None:
    encoded = Bitstring.from_indices([3]).encode()
    assert encoded.startswith("u") and "=" not in encoded
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert len(raw) * 8 == MIN_LIST_LENGTH and raw[0] == 0b0001_0000


@given(indices)
def test_encode_decode_round_trips(revoked: set[int]) -> None:
    decoded = Bitstring.decode(Bitstring.from_indices(revoked).encode())
    assert decoded.set_indices() == sorted(revoked)


@given(indices)
def test_words_round_trip_and_follow_the_contract_layout(revoked: set[int]) -> None:
    bits = Bitstring.from_indices(revoked)
    words = bits.to_words()
    assert len(words) == MIN_LIST_LENGTH // 256
    assert all(bool(words[i // 256] >> (i % 256) & 1) == (i in revoked) for i in revoked | {0, 255})
    assert Bitstring.from_words(words).set_indices() == sorted(revoked)


def test_clearing_a_bit_reinstates_a_suspended_credential() -> None:
    bits = Bitstring.from_indices([42])
    bits.set(42, False)
    assert not bits.get(42)


@pytest.mark.parametrize(
    "encoded",
    ["zNotBase64url", "u!!!", "u" + base64.urlsafe_b64encode(b"not gzip").decode()],
)
def test_undecodable_lists_are_refused(encoded: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        Bitstring.decode(encoded)
    assert raised.value.code == "invalid_status_list"


def test_gzip_bombs_are_refused() -> None:
    bomb = gzip.compress(bytes(64 * 1024 * 1024))
    with pytest.raises(InvalidInput):
        Bitstring.decode("u" + base64.urlsafe_b64encode(bomb).decode().rstrip("="))


def test_out_of_range_indices_and_words_are_refused() -> None:
    with pytest.raises(InvalidInput):
        Bitstring().get(MIN_LIST_LENGTH)
    with pytest.raises(InvalidInput):
        Bitstring.from_words([1 << 256])


def test_list_credential_and_entries_point_at_each_other() -> None:
    url = "https://node.example/v1/status-lists/0xabc-0-revocation"
    credential = status_list_credential(
        url,
        "did:ethr:0x7a69:0xabc",
        "revocation",
        Bitstring.from_indices([7]),
        valid_from=datetime(2025, 1, 1, tzinfo=UTC),
    )
    assert credential["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    subject = credential["credentialSubject"]
    assert (subject["type"], subject["statusPurpose"]) == ("BitstringStatusList", "revocation")
    assert Bitstring.decode(subject["encodedList"]).get(7)
    entry = status_list_entry(url, 7, "revocation")
    assert entry["statusListCredential"] == credential["id"]
    assert entry_index(entry) == 7 and entry["statusListIndex"] == "7"


def test_entries_with_non_numeric_indices_are_malformed() -> None:
    with pytest.raises(InvalidInput) as raised:
        entry_index({"statusListIndex": 7})
    assert raised.value.code == "invalid_status_entry"


# -- the 2-bit message list -------------------------------------------------------------------

UPPER_HALF = range(MIN_LIST_LENGTH // 2, MIN_LIST_LENGTH)


def test_a_message_entry_says_its_size_and_what_each_value_means() -> None:
    entry = status_list_entry("https://n.example/v1/status-lists/0xabc-0-status", 70_000, "message")
    assert (entry["statusPurpose"], entry["statusSize"]) == ("message", 2)
    assert [m["status"] for m in entry["statusMessage"]] == ["0x0", "0x1", "0x2", "0x3"]
    assert [m["message"] for m in entry["statusMessage"]] == [
        "active",
        "suspended",
        "revoked",
        "revoked",
    ]


def test_entries_are_allocated_from_the_upper_half() -> None:
    assert first_allocatable(MIN_LIST_LENGTH) == MIN_LIST_LENGTH // 2
    assert first_allocatable(5) == 3  # odd capacities round up, so no window overlaps


@given(
    st.sets(st.sampled_from(UPPER_HALF), max_size=30),
    st.sets(st.sampled_from(UPPER_HALF), max_size=30),
)
def test_2_bit_values_and_1_bit_compatibility_bits_never_disturb_each_other(
    revoked: set[int], suspended: set[int]
) -> None:
    bits = message_bitstring(revoked, suspended, allocatable=UPPER_HALF)
    assert len(bits) == 2 * MIN_LIST_LENGTH
    for index in revoked | suspended | {MIN_LIST_LENGTH // 2, MIN_LIST_LENGTH - 1}:
        value = (REVOKED if index in revoked else 0) | (SUSPENDED if index in suspended else 0)
        assert entry_value(bits, index) == value
        assert bits.get(index) == (value != 0)  # what a reader ignoring statusSize sees


def test_chain_bits_outside_the_allocatable_range_are_ignored() -> None:
    bits = message_bitstring([10, 65_536], [], allocatable=UPPER_HALF)
    assert bits.set_indices() == [65_536, 131_072]


def test_an_allocatable_range_that_could_overlap_is_refused() -> None:
    with pytest.raises(InvalidInput):
        message_bitstring([], [], allocatable=range(10, 100))


@given(
    st.sampled_from(["message", "revocation", "suspension"]),
    st.integers(0, MIN_LIST_LENGTH - 1),
    st.text(min_size=1, max_size=40).filter(
        lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s)
    ),
)
def test_an_entry_s_text_from_its_list_s_shared_members_is_its_canonical_text(
    purpose: str, index: int, segment: str
) -> None:
    url = f"https://node.example/v1/status-lists/{segment}"
    text, numbers = status_entry_text(url, index, purpose)
    entry = status_list_entry(url, index, purpose)
    assert text == jcs.canonical_text(entry)
    assert numbers == jcs.canonical_members(entry).numbers
