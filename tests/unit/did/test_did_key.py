"""A verifier resolves did:key issuers and holders by computation alone, as the did:key method
specification defines it (Ed25519 only; other key types are refused by name)."""

from __future__ import annotations

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.credentials.multikey import decode_public_key, raw_public_key
from node.did.did_key import DidKeyResolver, did_key_document, did_key_of, parse_did_key
from node.did.errors import (
    InvalidDid,
    InvalidPublicKey,
    UnsupportedPublicKeyType,
)

# From the did:key specification's test vectors (test-vectors/ed25519-x25519.json):
# seed -> DID -> the Ed25519 key in base58.
SPEC_VECTORS = [
    (
        "00" * 32,
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        "4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS",
    ),
    (
        "00" * 31 + "01",
        "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG",
        "6ASf5EcmmEHTgDJ4X4ZT5vT6iHVJBXPg5AN5YoTCpGWt",
    ),
    (
        "00" * 31 + "02",
        "did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf",
        "8pM1DN3RiT8vbom5u1sNryaNT1nyL8CTTW3b5PwWXRBH",
    ),
    (
        "00" * 31 + "03",
        "did:key:z6MkvqoYXQfDDJRv8L4wKzxYeuKyVZBfi9Qo6Ro8MiLH3kDQ",
        "HPYVwAQmskwT1qEEeRzhoomyfyupJGASQQtCXSNG8XS2",
    ),
    (
        "00" * 31 + "04",
        "did:key:z6MkwW6aqMnjgrhJXFUko3NnZPGzVpkNzhYK7yEhnsibmLwL",
        "J3qYF7YJMKCqQke47UQwiHizgFUXapHxRxKmxbkar89x",
    ),
]


@pytest.mark.parametrize(("seed", "did", "key_base58"), SPEC_VECTORS)
def test_the_spec_vectors_derive_and_resolve_to_their_key(
    seed: str, did: str, key_base58: str
) -> None:
    public = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed)).public_key()
    assert did_key_of(raw_public_key(public)) == did
    assert parse_did_key(did) == base58.b58decode(key_base58)

    document = did_key_document(did)
    fingerprint = did.removeprefix("did:key:")
    method_id = f"{did}#{fingerprint}"
    assert document["@context"] == [
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/multikey/v1",
    ]
    assert document["id"] == did
    assert document["verificationMethod"] == [
        {"id": method_id, "type": "Multikey", "controller": did, "publicKeyMultibase": fingerprint}
    ]
    assert raw_public_key(decode_public_key(fingerprint)) == base58.b58decode(key_base58)
    for relationship in (
        "authentication",
        "assertionMethod",
        "capabilityInvocation",
        "capabilityDelegation",
    ):
        assert document[relationship] == [method_id]
    assert "keyAgreement" not in document  # the spec's X25519 derivation is off by default


def test_the_resolver_ignores_the_block_a_did_key_never_changes() -> None:
    did = SPEC_VECTORS[0][1]
    assert DidKeyResolver().document_at(did, 123) == DidKeyResolver().document_at(did, None)


@pytest.mark.parametrize(
    ("did", "name"),
    [
        ("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", "secp256k1-pub"),
        ("did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169", "p256-pub"),
        ("did:key:z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW", "x25519-pub"),
    ],
)
def test_other_key_types_are_refused_by_name(did: str, name: str) -> None:
    with pytest.raises(UnsupportedPublicKeyType) as refused:
        did_key_document(did)
    assert refused.value.code == "unsupported_public_key_type"
    assert refused.value.extra["error"] == "unsupportedPublicKeyType"
    assert name in refused.value.detail


def short_key_did() -> str:
    return "did:key:z" + base58.b58encode(b"\xed\x01" + b"\x01" * 31).decode()


def off_curve_did() -> str:
    # y = 2 has no x on edwards25519 ((y^2 - 1) / (d y^2 + 1) is not a square).
    return "did:key:z" + base58.b58encode(b"\xed\x01" + (2).to_bytes(32, "little")).decode()


@pytest.mark.parametrize(
    ("did", "error", "code"),
    [
        ("did:key:6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", InvalidDid, "invalid_did_key"),
        ("did:key:z6Mk0OIl", InvalidDid, "invalid_did_key"),  # not base58
        ("did:key:z", InvalidDid, "invalid_did_key"),  # no multicodec header
        (short_key_did(), InvalidPublicKey, "invalid_public_key_length"),
        (off_curve_did(), InvalidPublicKey, "invalid_public_key"),
        ("did:web:example.com", InvalidDid, "invalid_did"),
        ("did:key:z6Mk" + "1" * 2000, InvalidDid, "invalid_did"),
    ],
)
def test_malformed_did_keys_are_refused_clearly(
    did: str, error: type[Exception], code: str
) -> None:
    with pytest.raises(error) as refused:
        did_key_document(did)
    assert getattr(refused.value, "code", None) == code
