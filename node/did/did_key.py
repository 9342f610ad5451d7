"""`did:key` for Ed25519 keys: the DID is the key, so resolving it is pure computation.

Per the did:key method specification, `did:key:z6Mk...` is the multibase (base58btc, `z`) encoding
of the multicodec header of the key type (unsigned varint; 0xed `ed25519-pub` is `0xed 0x01`)
followed by the raw key. Its document has one `Multikey` method whose fragment is that same
multibase value, referenced from `authentication`, `assertionMethod`, `capabilityInvocation` and
`capabilityDelegation`. The spec's X25519 `keyAgreement` derivation is an option that is off by
default; verification never needs it, so it is not offered.

Only Ed25519 is resolved: the node's proofs (eddsa-rdfc-2022 / eddsa-jcs-2022, Ed25519Signature2020)
all verify with Ed25519 keys. Other key types are named and refused (`unsupportedPublicKeyType`),
never misread.
"""

from __future__ import annotations

from typing import Any

import base58
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.did.errors import InvalidDid, InvalidPublicKey, UnsupportedPublicKeyType
from node.did.identifier import did_method

DID_CONTEXT_V1 = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
ED25519_CODEC = 0xED
ED25519_KEY_LENGTH = 32
P256_CODEC = 0x1200
#: A compressed P-256 point.
P256_KEY_LENGTH = 33
#: Names of other multicodec public key types, for a clear refusal.
_KNOWN_CODECS = {
    0xE7: "secp256k1-pub",
    0xEC: "x25519-pub",
    0xEB: "bls12_381-g1-pub",
    0xEE: "bls12_381-g2-pub",
    0x1200: "p256-pub",
    0x1201: "p384-pub",
    0x1202: "p521-pub",
    0x1205: "rsa-pub",
}
#: Relationships a did:key's one key is referenced from.
RELATIONSHIPS = (
    "authentication",
    "assertionMethod",
    "capabilityInvocation",
    "capabilityDelegation",
)
#: Longest did:key accepted (an Ed25519 one is 56 characters; RSA ones run to ~750).
MAX_LENGTH = 1024


def did_key_of(public_key: bytes) -> str:
    """The `did:key` of a raw 32-byte Ed25519 public key."""
    if len(public_key) != ED25519_KEY_LENGTH:
        raise InvalidPublicKey(f"an Ed25519 public key is 32 bytes, got {len(public_key)}")
    return "did:key:z" + base58.b58encode(bytes([ED25519_CODEC, 0x01]) + public_key).decode()


def decode_did_key(did: str) -> tuple[int, bytes]:
    """The multicodec and the raw key bytes of a `did:key`; `invalid_did` otherwise."""
    if did_method(did) != "key":
        raise InvalidDid(f"not a did:key: {did[:120]!r}")
    if len(did) > MAX_LENGTH:
        raise InvalidDid(f"a did:key of {len(did)} characters is too long")
    value = did.removeprefix("did:key:")
    if not value.startswith("z"):
        raise InvalidDid(
            f"{did[:120]!r}: a did:key is base58btc multibase and starts with 'z'",
            code="invalid_did_key",
        )
    try:
        data = base58.b58decode(value[1:])
    except ValueError:
        raise InvalidDid(f"{did[:120]!r} is not valid base58btc", code="invalid_did_key") from None
    return _read_varint(data, did)


def parse_did_key(did: str) -> bytes:
    """The raw Ed25519 public key a `did:key` names; `invalid_did`, `invalid_public_key` or
    `unsupported_public_key_type` otherwise."""
    codec, key = decode_did_key(did)
    if codec != ED25519_CODEC:
        name = _KNOWN_CODECS.get(codec, f"multicodec 0x{codec:x}")
        raise UnsupportedPublicKeyType(
            f"{did[:60]}... is a {name} key; this resolver handles Ed25519 (z6Mk...) did:key only",
            key_type=name,
        )
    if len(key) != ED25519_KEY_LENGTH:
        raise InvalidPublicKey(
            f"{did}: an Ed25519 key is 32 bytes, this one is {len(key)}",
            code="invalid_public_key_length",
        )
    if not is_ed25519_point(key):
        raise InvalidPublicKey(f"{did} does not encode a point of the Ed25519 curve")
    return key


def holder_public_key(did: str) -> Ed25519PublicKey | EllipticCurvePublicKey:
    """The public key of an Ed25519 or P-256 `did:key`: what wallets sign DIDAuth presentations
    and OpenID4VCI proof JWTs (ES256) with. Not a point check: a key that is not on its curve
    fails the signature that follows. `unsupported_public_key_type` for other keys."""
    codec, key = decode_did_key(did)
    if codec == ED25519_CODEC and len(key) == ED25519_KEY_LENGTH:
        return Ed25519PublicKey.from_public_bytes(key)
    if codec == P256_CODEC and len(key) == P256_KEY_LENGTH:
        return EllipticCurvePublicKey.from_encoded_point(SECP256R1(), key)
    name = _KNOWN_CODECS.get(codec, f"multicodec 0x{codec:x}")
    raise UnsupportedPublicKeyType(
        f"{did[:60]}... is a {name} key; holders use Ed25519 or P-256", key_type=name
    )


def did_key_document(did: str) -> dict[str, Any]:
    """The DID document of an Ed25519 `did:key` (with `@context`)."""
    parse_did_key(did)
    fingerprint = did.removeprefix("did:key:")
    method_id = f"{did}#{fingerprint}"
    document: dict[str, Any] = {
        "@context": [DID_CONTEXT_V1, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": [
            {
                "id": method_id,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": fingerprint,
            }
        ],
    }
    for relationship in RELATIONSHIPS:
        document[relationship] = [method_id]
    return document


class DidKeyResolver:
    """`DidDocumentSource` for `did:key`: a did:key never changes, so `block` is ignored."""

    def document_at(self, did: str, block: int | None) -> dict[str, Any]:
        return did_key_document(did)


def _read_varint(data: bytes, did: str) -> tuple[int, bytes]:
    """Multicodec header (unsigned LEB128, at most 9 bytes) and the bytes after it."""
    value = 0
    for position, byte in enumerate(data[:9]):
        value |= (byte & 0x7F) << (7 * position)
        if not byte & 0x80:
            return value, data[position + 1 :]
    raise InvalidDid(f"{did[:120]!r} has no valid multicodec header", code="invalid_did_key")


# -- Ed25519 point decoding (RFC 8032, 5.1.3) -----------------------------------------------------

_P = 2**255 - 19
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def is_ed25519_point(key: bytes) -> bool:
    """Whether 32 bytes decode to a point of edwards25519 (what a verifier would reject)."""
    if len(key) != ED25519_KEY_LENGTH:
        return False
    encoded = int.from_bytes(key, "little")
    sign, y = encoded >> 255, encoded & ((1 << 255) - 1)
    if y >= _P:
        return False
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = (u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P)) % _P
    if (v * x * x - u) % _P != 0:
        x = (x * _SQRT_M1) % _P
        if (v * x * x - u) % _P != 0:
            return False
    return not (x == 0 and sign == 1)
