"""ERC-1056 attribute names and values, as the registry stores them and resolvers read them.

Attribute names are `bytes32`: UTF-8 text right-padded with zero bytes. `ethr-did-resolver`
turns a name back into text by strict UTF-8 decoding and stripping trailing zero bytes, and
ignores the whole event when the bytes are not UTF-8, so `decode_bytes32` returns None there.

An issuer's Ed25519 assertion key is published as `did/pub/Ed25519/veriKey/base58` with the raw
32-byte key as value: `ethr-did-resolver` (11.1.3) renders it as an `Ed25519VerificationKey2018`
with `publicKeyBase58` listed under `assertionMethod`. It has no Multikey / `publicKeyMultibase`
encoding (see docs/did-ethr.md for why this is still the conformant choice).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from node.errors import InvalidInput

BYTES32 = 32
#: Attribute name of an Ed25519 verification (assertion) key in base58 rendering.
ED25519_ASSERTION_KEY = "did/pub/Ed25519/veriKey/base58"
ED25519_KEY_LENGTH = 32
#: Delegate types understood by resolvers: `veriKey` signs, `sigAuth` also authenticates.
DELEGATE_VERIKEY = "veriKey"
DELEGATE_SIGAUTH = "sigAuth"


@dataclass(frozen=True)
class Attribute:
    """A ready-to-send `setAttribute(identity, name, value, validity)` payload."""

    name: bytes
    value: bytes


def encode_bytes32(text: str) -> bytes:
    """`text` as a right-zero-padded bytes32; longer than 32 bytes is refused, never truncated.

    (ethr-did tooling truncates silently; a truncated name would publish a different attribute
    than the caller meant, so we refuse instead.)
    """
    raw = text.encode("utf-8")
    if len(raw) > BYTES32:
        raise InvalidInput(
            f"{text!r} is {len(raw)} bytes in UTF-8, a bytes32 holds at most 32",
            code="name_too_long",
        )
    return raw.ljust(BYTES32, b"\x00")


def decode_bytes32(raw: bytes) -> str | None:
    """The text of a bytes32 the way ethr-did-resolver reads it; None when not UTF-8."""
    try:
        return raw.decode("utf-8").rstrip("\x00")
    except UnicodeDecodeError:
        return None


def publish_ed25519_key(public_key: bytes) -> Attribute:
    """Name and value that publish a raw Ed25519 public key as an assertion key of a DID."""
    if len(public_key) != ED25519_KEY_LENGTH:
        raise InvalidInput(
            f"an Ed25519 public key is 32 bytes, got {len(public_key)}", code="invalid_key"
        )
    return Attribute(name=encode_bytes32(ED25519_ASSERTION_KEY), value=bytes(public_key))


def publish_service(service_type: str, endpoint: str | dict[str, object]) -> Attribute:
    """Name and value of a `did/svc/<type>` service; a dict endpoint is sent as JSON."""
    if not re.fullmatch(r"\w+", service_type, re.ASCII):
        raise InvalidInput(
            f"service type must be ASCII letters, digits or '_': {service_type!r}",
            code="invalid_service_type",
        )
    value = endpoint if isinstance(endpoint, str) else json.dumps(endpoint, separators=(",", ":"))
    return Attribute(name=encode_bytes32(f"did/svc/{service_type}"), value=value.encode("utf-8"))
