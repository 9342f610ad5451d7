"""What an issuer publishes in the ERC-1056 registry."""

from __future__ import annotations

import pytest

from node.did.attributes import (
    decode_bytes32,
    encode_bytes32,
    publish_ed25519_key,
    publish_service,
)
from node.errors import InvalidInput


def test_names_are_right_padded_bytes32_and_read_back() -> None:
    raw = encode_bytes32("did/pub/Ed25519/veriKey/base58")
    assert len(raw) == 32 and raw.endswith(b"\x00\x00")
    assert decode_bytes32(raw) == "did/pub/Ed25519/veriKey/base58"


def test_a_name_longer_than_32_bytes_is_refused_not_truncated() -> None:
    with pytest.raises(InvalidInput) as raised:
        encode_bytes32("did/pub/Ed25519/veriKey/base58/too-long")
    assert raised.value.code == "name_too_long"


def test_non_utf8_bytes32_is_unreadable() -> None:
    assert decode_bytes32(b"\xff" * 32) is None


def test_an_ed25519_key_is_published_raw_under_the_base58_veri_key_name() -> None:
    key = bytes(range(32))
    attribute = publish_ed25519_key(key)
    assert decode_bytes32(attribute.name) == "did/pub/Ed25519/veriKey/base58"
    assert attribute.value == key
    with pytest.raises(InvalidInput):
        publish_ed25519_key(key[:31])


def test_a_service_endpoint_object_is_sent_as_compact_json() -> None:
    attribute = publish_service("LinkedDomains", {"origins": ["https://a.example"]})
    assert decode_bytes32(attribute.name) == "did/svc/LinkedDomains"
    assert attribute.value == b'{"origins":["https://a.example"]}'
    with pytest.raises(InvalidInput):
        publish_service("Linked Domains", "https://a.example")
