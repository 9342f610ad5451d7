"""Compact JWS, only as far as OpenID4VCI proof JWTs need it: decode, and verify EdDSA
(Ed25519) or ES256 (P-256) signatures with a key the caller resolved from the header."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.hashes import SHA256

#: Largest proof JWT accepted (a did:key-signed proof is well under 1 KB).
MAX_JWS_LENGTH = 8192
#: JOSE `alg` values by the key type they need.
EDDSA_ALGS = frozenset({"EdDSA", "Ed25519"})
ES256 = "ES256"


class MalformedJws(ValueError):
    pass


@dataclass(frozen=True)
class Jws:
    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes

    def verifies_with(self, key: Ed25519PublicKey | EllipticCurvePublicKey) -> bool:
        alg = self.header.get("alg")
        try:
            if alg in EDDSA_ALGS and isinstance(key, Ed25519PublicKey):
                key.verify(self.signature, self.signing_input)
                return True
            if alg == ES256 and isinstance(key, EllipticCurvePublicKey):
                if len(self.signature) != 64:
                    return False
                r = int.from_bytes(self.signature[:32], "big")
                s = int.from_bytes(self.signature[32:], "big")
                key.verify(encode_dss_signature(r, s), self.signing_input, ECDSA(SHA256()))
                return True
        except InvalidSignature:
            return False
        return False


def decode(token: Any) -> Jws:
    """The parts of a compact JWS; `MalformedJws` for anything else."""
    if not isinstance(token, str) or len(token) > MAX_JWS_LENGTH or token.count(".") != 2:
        raise MalformedJws("not a compact JWT (header.payload.signature)")
    header_part, payload_part, signature_part = token.split(".")
    header, payload = _json_part(header_part), _json_part(payload_part)
    return Jws(
        header=header,
        payload=payload,
        signing_input=f"{header_part}.{payload_part}".encode("ascii"),
        signature=_b64url(signature_part),
    )


def _json_part(part: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64url(part))
    except (ValueError, UnicodeDecodeError):
        raise MalformedJws("a JWT part is not base64url JSON") from None
    if not isinstance(value, dict):
        raise MalformedJws("a JWT header and payload must be JSON objects")
    return value


def _b64url(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise MalformedJws("a JWT part is not base64url") from None
