"""Ed25519 keys as Multikey strings and out of the verification-method forms DIDs publish."""

from __future__ import annotations

import base64

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.credentials.multikey import (
    decode_public_key,
    decode_secret_key,
    encode_public_key,
    encode_secret_key,
    multikey_verification_method,
    public_key_from_verification_method,
    raw_public_key,
)
from node.errors import InvalidInput

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def test_public_multikey_is_z_base58btc_of_the_ed01_header_and_key() -> None:
    encoded = encode_public_key(KEY.public_key())
    assert encoded.startswith("z6Mk")  # every Ed25519 Multikey starts so
    assert base58.b58decode(encoded[1:]) == b"\xed\x01" + raw_public_key(KEY.public_key())
    assert raw_public_key(decode_public_key(encoded)) == raw_public_key(KEY.public_key())


def test_secret_multikey_uses_the_8026_header_and_round_trips() -> None:
    encoded = encode_secret_key(KEY)
    assert base58.b58decode(encoded[1:])[:2] == b"\x80\x26"
    assert decode_secret_key(encoded).private_bytes_raw() == KEY.private_bytes_raw()


@pytest.mark.parametrize(
    "value",
    [
        "6MkNoMultibasePrefix",
        "z0OIl",
        encode_secret_key(KEY),
        "z" + base58.b58encode(b"\xed\x01").decode(),
    ],
)
def test_malformed_or_wrong_kind_of_keys_are_refused(value: str) -> None:
    with pytest.raises(InvalidInput):
        decode_public_key(value)


def test_all_published_forms_of_one_key_yield_the_same_key() -> None:
    raw = raw_public_key(KEY.public_key())
    forms = [
        multikey_verification_method("did:ex:1#k", "did:ex:1", KEY.public_key()),
        {"type": "Ed25519VerificationKey2018", "publicKeyBase58": base58.b58encode(raw).decode()},
        {
            "type": "JsonWebKey2020",
            "publicKeyJwk": {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode(),
            },
        },
    ]
    assert {raw_public_key(public_key_from_verification_method(f)) for f in forms} == {raw}


def test_a_method_without_an_ed25519_key_is_unsupported() -> None:
    method = {"id": "did:ex:1#controller", "type": "EcdsaSecp256k1RecoveryMethod2020"}
    with pytest.raises(InvalidInput) as raised:
        public_key_from_verification_method(method)
    assert raised.value.code == "unsupported_verification_method"
