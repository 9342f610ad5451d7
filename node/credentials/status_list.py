"""W3C Bitstring Status List v1.0: codec, list credentials, entries, on-chain words.

The bitstring is the public, privacy-preserving form of an issuer's revocation / suspension
state (every list covers >= 131,072 entries, so fetching it reveals nothing about which one
is checked). Bit order is fixed by the spec: index 0 is the most significant bit of the first
byte; the bytes are gzipped and multibase base64url encoded (`u`, no padding). The chain stores
the same bits in uint256 words, word `i // 256`, bit `1 << (i % 256)`; converting between the two
lets the node rebuild the W3C list from chain state (docs/design.md, "Status lists").

Credentials carry one `message` entry with `statusSize: 2` (OB 3.0 allows one `credentialStatus`):
entry `i` is bits `[2i, 2i+1]` (high bit revoked, low bit suspended) of a list of
`MIN_LIST_LENGTH` entries. Entries are only allocated in the upper half of the entry space, and
bit `i` (inside the window of an entry that is never allocated) is set whenever entry `i` is not
`0x0`, so verifiers that ignore `statusSize` and read one bit at `statusListIndex` still see "set"
for a revoked or suspended credential. Older credentials have two 1-bit entries (`revocation`,
`suspension`) pointing at two lists; those lists are still served.
"""

from __future__ import annotations

import base64
import functools
import gzip
import zlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from node.credentials import jcs
from node.credentials.proofs import xsd_datetime
from node.errors import InvalidInput

#: Minimum list length the spec requires for group privacy; also the node's list size.
MIN_LIST_LENGTH = 131_072
WORD_BITS = 256
VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
#: Decompressed size we accept from a remote list (16x the spec minimum), to refuse gzip bombs.
MAX_DECODED_BYTES = MIN_LIST_LENGTH // 8 * 16


def _invalid_list(detail: str) -> InvalidInput:
    return InvalidInput(detail, code="invalid_status_list")


def _invalid_index(detail: str) -> InvalidInput:
    return InvalidInput(detail, code="invalid_status_index")


class StatusPurpose(StrEnum):
    REVOCATION = "revocation"
    SUSPENSION = "suspension"
    #: The 2-bit list of new credentials, derived from both chain bitmaps.
    MESSAGE = "message"


#: Bits per entry of a `message` list, and what each value means (docs/design.md).
STATUS_SIZE = 2
ACTIVE, SUSPENDED, REVOKED = 0x0, 0x1, 0x2
STATUS_MESSAGES: tuple[dict[str, str], ...] = (
    {"status": "0x0", "message": "active"},
    {"status": "0x1", "message": "suspended"},
    {"status": "0x2", "message": "revoked"},
    {"status": "0x3", "message": "revoked"},
)


class Bitstring:
    """A fixed-length bit array with the W3C bit order (index 0 = MSB of byte 0)."""

    def __init__(self, length: int = MIN_LIST_LENGTH, data: bytes | None = None) -> None:
        if length <= 0 or length % 8:
            raise _invalid_list("a bitstring length must be a positive multiple of 8")
        if data is not None and len(data) != length // 8:
            raise _invalid_list("bitstring data does not match its length")
        self._bytes = bytearray(data if data is not None else length // 8)

    def __len__(self) -> int:
        return len(self._bytes) * 8

    def _locate(self, index: int) -> tuple[int, int]:
        if not 0 <= index < len(self):
            raise _invalid_index(f"status index {index} is outside the list")
        return index // 8, 0x80 >> (index % 8)

    def get(self, index: int) -> bool:
        byte, mask = self._locate(index)
        return bool(self._bytes[byte] & mask)

    def set(self, index: int, value: bool = True) -> None:
        byte, mask = self._locate(index)
        if value:
            self._bytes[byte] |= mask
        else:
            self._bytes[byte] &= ~mask & 0xFF

    def set_indices(self) -> list[int]:
        """Indices whose bit is set, ascending."""
        return [i for i, byte in enumerate(self._bytes) if byte for i in _bits_of(i, byte)]

    def to_bytes(self) -> bytes:
        return bytes(self._bytes)

    def encode(self) -> str:
        """`encodedList`: multibase base64url (no padding) of the gzipped bytes."""
        compressed = gzip.compress(bytes(self._bytes), mtime=0)
        return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, encoded_list: str) -> Bitstring:
        """Inverse of `encode`; refuses other encodings and oversized (bomb) payloads."""
        if not isinstance(encoded_list, str) or not encoded_list.startswith("u"):
            raise _invalid_list("encodedList must be multibase base64url ('u...')")
        body = encoded_list[1:]
        try:
            compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            data = inflater.decompress(compressed, MAX_DECODED_BYTES + 1)
        except (ValueError, zlib.error) as error:
            raise _invalid_list(f"encodedList is not gzip+base64url: {error}") from error
        if len(data) > MAX_DECODED_BYTES or not data:
            raise _invalid_list("encodedList has an unacceptable size")
        return cls(len(data) * 8, data)

    @classmethod
    def from_indices(cls, indices: Iterable[int], length: int = MIN_LIST_LENGTH) -> Bitstring:
        bits = cls(length)
        for index in indices:
            bits.set(index)
        return bits

    def to_words(self) -> list[int]:
        """On-chain uint256 words: bit `i` is `words[i // 256] >> (i % 256) & 1`."""
        words = [0] * -(-len(self) // WORD_BITS)
        for index in self.set_indices():
            words[index // WORD_BITS] |= 1 << (index % WORD_BITS)
        return words

    @classmethod
    def from_words(cls, words: Sequence[int], length: int = MIN_LIST_LENGTH) -> Bitstring:
        """Rebuild the W3C bitstring from on-chain words (missing words are zero)."""
        if len(words) * WORD_BITS > length:
            raise _invalid_list("more words than the list holds")
        bits = cls(length)
        for word_index, word in enumerate(words):
            if not 0 <= word < 1 << WORD_BITS:
                raise _invalid_list("a word must be a uint256")
            remaining = word
            while remaining:
                lowest = remaining & -remaining
                bits.set(word_index * WORD_BITS + lowest.bit_length() - 1)
                remaining ^= lowest
        return bits


def _bits_of(byte_index: int, byte: int) -> Iterable[int]:
    return (byte_index * 8 + bit for bit in range(8) if byte & (0x80 >> bit))


def status_list_credential(
    list_url: str,
    issuer: str | Mapping[str, Any],
    purpose: StatusPurpose | str,
    bits: Bitstring,
    *,
    valid_from: datetime,
    valid_until: datetime | None = None,
) -> dict[str, Any]:
    """An unsigned `BitstringStatusListCredential` published at `list_url` (the service signs);
    `bits` is `MIN_LIST_LENGTH` entries of 1 bit, or of 2 bits for the `message` purpose."""
    purpose = StatusPurpose(purpose)
    credential: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer if isinstance(issuer, str) else dict(issuer),
        "validFrom": xsd_datetime(valid_from),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose.value,
            "encodedList": bits.encode(),
        },
    }
    if valid_until is not None:
        credential["validUntil"] = xsd_datetime(valid_until)
    return credential


def _check_index(index: int) -> None:
    if not index >= 0:
        raise _invalid_index("a status index is non-negative")


def status_list_entry(list_url: str, index: int, purpose: StatusPurpose | str) -> dict[str, Any]:
    """A `BitstringStatusListEntry` pointing at entry `index` of the list credential; a
    `message` entry also says its size and what each value means."""
    purpose = StatusPurpose(purpose)
    _check_index(index)
    entry: dict[str, Any] = {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose.value,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }
    if purpose is StatusPurpose.MESSAGE:
        entry["statusSize"] = STATUS_SIZE
        entry["statusMessage"] = [dict(message) for message in STATUS_MESSAGES]
    return entry


def status_entry_text(list_url: str, index: int, purpose: StatusPurpose | str) -> tuple[str, bool]:
    """The canonical (JCS) text of `status_list_entry(list_url, index, purpose)` and whether it
    holds a number, for a bulk issuer: the members an entry shares with every other entry of
    its list are canonicalized once per list; only the two that name the index are written per
    entry (a quarter of the cost of canonicalizing each entry whole)."""
    _check_index(index)
    before_id, before_index, after_index, numbers = _entry_template(
        list_url, StatusPurpose(purpose)
    )
    # `#` and digits are never escaped: the id's literal is the URL's with `#index` inserted.
    return f"{before_id}#{index}{before_index}{index}{after_index}", numbers


#: Stand-ins for an entry's `id` and `statusListIndex` while its template is made: canonical
#: JSON text holds no raw control character.
_ID_MARK, _INDEX_MARK = "\x00", "\x01"


@functools.lru_cache(maxsize=256)
def _entry_template(list_url: str, purpose: StatusPurpose) -> tuple[str, str, str, bool]:
    """An entry's canonical text in the pieces around the two members that name its index
    (every other member is the same for all entries of the list), and whether it holds a
    number: the id's literal up to its closing quote, then what lies between it and the
    index's digits, then what follows them."""
    members = jcs.canonical_members(status_list_entry(list_url, 0, purpose))
    texts = {**members.texts, "id": f'"{_ID_MARK}"', "statusListIndex": f'"{_INDEX_MARK}"'}
    head, rest = jcs.canonical_object_text(texts).split(_ID_MARK)
    middle, tail = rest.split(_INDEX_MARK)
    url = jcs.serialize_string(list_url)[1:-1]
    return f"{head}{url}", middle, tail, members.numbers


def first_allocatable(entries: int) -> int:
    """The lowest entry index a 2-bit list of `entries` entries hands out: the lower half stays
    free because its windows hold the 1-bit compatibility bits of the upper half."""
    return -(-entries // 2)


def message_bitstring(
    revoked: Iterable[int],
    suspended: Iterable[int],
    *,
    allocatable: range,
    entries: int = MIN_LIST_LENGTH,
) -> Bitstring:
    """The `message` list from the two chain bitmaps: entry `i` at bits `[2i, 2i+1]` plus the
    compatibility bit `i`. Indices outside `allocatable` (the upper half `[c/2, c)` of a list of
    capacity `c <= entries`) are ignored: the node never hands them out, and their windows could
    overlap the compatibility bits of real entries."""
    if not (0 < allocatable.stop <= min(entries, 2 * allocatable.start)):
        raise _invalid_list("allocatable entries must be the upper half of the list's capacity")
    bits = Bitstring(entries * STATUS_SIZE)
    for offset, indices in ((0, revoked), (1, suspended)):
        for index in indices:
            if index in allocatable:
                bits.set(STATUS_SIZE * index + offset)
                bits.set(index)
    return bits


def entry_value(bits: Bitstring, index: int) -> int:
    """The 2-bit value of entry `index` (0x0 active, 0x1 suspended, 0x2/0x3 revoked)."""
    return int(bits.get(STATUS_SIZE * index)) << 1 | int(bits.get(STATUS_SIZE * index + 1))


def entry_index(entry: Mapping[str, Any]) -> int:
    """`statusListIndex` of an entry as an int; `invalid_status_entry` when malformed."""
    raw = entry.get("statusListIndex")
    if not isinstance(raw, str) or not raw.isdigit():
        raise InvalidInput(
            "statusListIndex must be a string of digits", code="invalid_status_entry"
        )
    return int(raw)
