"""Ed25519 keys as Multikey / multibase strings, and keys out of verification methods.

Data Integrity EdDSA suites identify keys by a `Multikey` verification method whose
`publicKeyMultibase` is `z` + base58btc(0xed 0x01 || 32-byte key); the secret key uses the
multicodec header 0x80 0x26. DID documents (did:ethr in particular) may instead publish an
`Ed25519VerificationKey2018` with `publicKeyBase58`, or a JWK, so
`public_key_from_verification_method` accepts all three forms and the verifier does not care
which one a resolver produced.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping
from typing import Any

import base58
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from node.errors import InvalidInput

ED25519_PUBLIC_HEADER = b"\xed\x01"
ED25519_SECRET_HEADER = b"\x80\x26"
_KEY_LENGTH = 32


def base58btc_multibase(data: bytes) -> str:
    """Multibase base58btc: `z` followed by the Bitcoin-alphabet base58 of `data`."""
    return "z" + base58.b58encode(data).decode("ascii")


def decode_base58btc_multibase(value: str) -> bytes:
    """Inverse of `base58btc_multibase`; `invalid_multibase` for anything else."""
    if not isinstance(value, str) or not value.startswith("z"):
        raise InvalidInput("expected base58btc multibase ('z...')", code="invalid_multibase")
    try:
        return base58.b58decode(value[1:])
    except ValueError as error:
        raise InvalidInput(f"invalid base58btc: {error}", code="invalid_multibase") from error


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def encode_public_key(public_key: Ed25519PublicKey) -> str:
    """`publicKeyMultibase` of an Ed25519 public key."""
    return base58btc_multibase(ED25519_PUBLIC_HEADER + raw_public_key(public_key))


def encode_secret_key(private_key: Ed25519PrivateKey) -> str:
    """`secretKeyMultibase` of an Ed25519 private key (its 32-byte seed)."""
    return base58btc_multibase(ED25519_SECRET_HEADER + private_key.private_bytes_raw())


def _strip_header(data: bytes, header: bytes, what: str) -> bytes:
    if not data.startswith(header) or len(data) != len(header) + _KEY_LENGTH:
        raise InvalidInput(f"not an Ed25519 {what} multikey", code="invalid_key")
    return data[len(header) :]


def decode_public_key(public_key_multibase: str) -> Ed25519PublicKey:
    """Ed25519 public key from a `publicKeyMultibase` value."""
    data = decode_base58btc_multibase(public_key_multibase)
    return Ed25519PublicKey.from_public_bytes(_strip_header(data, ED25519_PUBLIC_HEADER, "public"))


def decode_secret_key(secret_key_multibase: str) -> Ed25519PrivateKey:
    """Ed25519 private key from a `secretKeyMultibase` value."""
    data = decode_base58btc_multibase(secret_key_multibase)
    seed = _strip_header(data, ED25519_SECRET_HEADER, "secret")
    return Ed25519PrivateKey.from_private_bytes(seed)


def multikey_verification_method(
    key_id: str, controller: str, public_key: Ed25519PublicKey
) -> dict[str, Any]:
    """A `Multikey` verification method (with its context, so it can be served as a document)."""
    return {
        "@context": "https://w3id.org/security/multikey/v1",
        "id": key_id,
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": encode_public_key(public_key),
    }


def public_key_from_verification_method(method: Mapping[str, Any]) -> Ed25519PublicKey:
    """The Ed25519 key of a Multikey, Ed25519VerificationKey2018/2020 or OKP JWK method."""
    if isinstance(method.get("publicKeyMultibase"), str):
        return _known_key(method["publicKeyMultibase"], multibase=True)
    if isinstance(method.get("publicKeyBase58"), str):
        return _known_key(method["publicKeyBase58"], multibase=False)
    jwk = method.get("publicKeyJwk")
    if isinstance(jwk, Mapping) and jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
        return _public_key_from_raw(_b64url(str(jwk.get("x", ""))))
    raise InvalidInput(
        f"verification method {method.get('id')!r} has no Ed25519 public key",
        code="unsupported_verification_method",
    )


@functools.lru_cache(maxsize=1024)
def _known_key(encoded: str, *, multibase: bool) -> Ed25519PublicKey:
    """Kept per encoding: a verifier meets the same few issuer keys over and over, and decoding
    base58 costs more than the rest of the key check (keys are immutable; errors not kept)."""
    if multibase:
        return decode_public_key(encoded)
    return _public_key_from_raw(_b58(encoded))


def _public_key_from_raw(raw: bytes) -> Ed25519PublicKey:
    if len(raw) != _KEY_LENGTH:
        raise InvalidInput("an Ed25519 public key is 32 bytes", code="invalid_key")
    return Ed25519PublicKey.from_public_bytes(raw)


def _b58(value: str) -> bytes:
    try:
        return base58.b58decode(value)
    except ValueError as error:
        raise InvalidInput(f"invalid base58: {error}", code="invalid_key") from error


def _b64url(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError as error:
        raise InvalidInput(f"invalid base64url: {error}", code="invalid_key") from error
