"""The few JOSE operations the registry needs: compact JWS with EdDSA, JWKs, and verifying the
statements of other OpenID Federation registries (EdDSA, ES256, ES384, RS256, PS256).

Why not a JOSE library: signing is twelve lines over `cryptography` (already a dependency), and
what matters is that the output verifies in a maintained one: the interop tests check every
statement with npm `jose` against the published `jwks`. Verification here is deliberately
strict: the header's `alg` must match the key's type, the `kid` must name a key of the set,
and `none` or HMAC algorithms are never accepted.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from node.errors import LernodeError

#: Largest compact JWS accepted from another registry (a statement with a logo data URI fits).
MAX_JWS_BYTES = 256 * 1024


class JwsInvalid(LernodeError):
    code = "invalid_jws"
    title = "Invalid signed statement"
    status = 502


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise JwsInvalid("not base64url") from exc


def _json(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def ed25519_jwk(public_key: bytes) -> dict[str, str]:
    """The public JWK of an Ed25519 key, `kid` = its RFC 7638 thumbprint."""
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(public_key)}
    return {**jwk, "kid": thumbprint(jwk), "alg": "EdDSA", "use": "sig"}


_THUMBPRINT_MEMBERS = {
    "OKP": ("crv", "kty", "x"),
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
}


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256) over the key type's required members."""
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None:
        raise JwsInvalid(f"unsupported key type {jwk.get('kty')!r}")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


@dataclass(frozen=True)
class JwsSigner:
    """Signs compact JWS with one Ed25519 key (`alg: EdDSA`)."""

    private_key: Ed25519PrivateKey

    @property
    def public_jwk(self) -> dict[str, str]:
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return ed25519_jwk(raw)

    def sign(self, payload: Mapping[str, Any], typ: str) -> str:
        header = {"alg": "EdDSA", "typ": typ, "kid": self.public_jwk["kid"]}
        signing_input = f"{b64url(_json(header))}.{b64url(_json(payload))}"
        signature = self.private_key.sign(signing_input.encode("ascii"))
        return f"{signing_input}.{b64url(signature)}"


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload of a compact JWS, checked for shape only."""
    if len(token) > MAX_JWS_BYTES:
        raise JwsInvalid("signed statement too large")
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise JwsInvalid("not a compact JWS")
    try:
        header = json.loads(b64url_decode(parts[0]))
        payload = json.loads(b64url_decode(parts[1]))
    except ValueError as exc:
        raise JwsInvalid("JWS header or payload is not JSON") from exc
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise JwsInvalid("JWS header and payload must be JSON objects")
    return header, payload


def verify_jws(
    token: str, keys: Sequence[Mapping[str, Any]], *, typ: str | None = None
) -> dict[str, Any]:
    """The payload of `token` if a key of `keys` (a JWK set's `keys`) signed it."""
    header, payload = decode_unverified(token)
    if typ is not None and header.get("typ") != typ:
        raise JwsInvalid(f"expected typ {typ!r}, got {header.get('typ')!r}")
    kid = header.get("kid")
    candidates = [k for k in keys if kid is not None and k.get("kid") == kid] or (
        list(keys) if kid is None else []
    )
    if not candidates:
        raise JwsInvalid("no key of the published set matches the statement's kid")
    signing_input, _, signature = token.strip().rpartition(".")
    for jwk in candidates:
        alg = str(header.get("alg"))
        if _verify(alg, jwk, signing_input.encode("ascii"), b64url_decode(signature)):
            return payload
    raise JwsInvalid("the signature does not verify with the published keys")


_EC_ALGS: dict[str, tuple[ec.EllipticCurve, str, hashes.HashAlgorithm, int]] = {
    "ES256": (ec.SECP256R1(), "P-256", hashes.SHA256(), 32),
    "ES384": (ec.SECP384R1(), "P-384", hashes.SHA384(), 48),
}


def _verify(alg: str, jwk: Mapping[str, Any], message: bytes, signature: bytes) -> bool:
    try:
        if alg in ("EdDSA", "Ed25519") and (jwk.get("kty"), jwk.get("crv")) == ("OKP", "Ed25519"):
            Ed25519PublicKey.from_public_bytes(b64url_decode(str(jwk["x"]))).verify(
                signature, message
            )
            return True
        if alg in _EC_ALGS and jwk.get("kty") == "EC":
            curve, crv, digest, size = _EC_ALGS[alg]
            if jwk.get("crv") != crv or len(signature) != 2 * size:
                return False
            numbers = ec.EllipticCurvePublicNumbers(
                int.from_bytes(b64url_decode(str(jwk["x"])), "big"),
                int.from_bytes(b64url_decode(str(jwk["y"])), "big"),
                curve,
            )
            der = encode_dss_signature(
                int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
            )
            numbers.public_key().verify(der, message, ec.ECDSA(digest))
            return True
        if alg in ("RS256", "PS256") and jwk.get("kty") == "RSA":
            public = rsa.RSAPublicNumbers(
                int.from_bytes(b64url_decode(str(jwk["e"])), "big"),
                int.from_bytes(b64url_decode(str(jwk["n"])), "big"),
            ).public_key()
            pad: padding.AsymmetricPadding = (
                padding.PKCS1v15()
                if alg == "RS256"
                else padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            )
            public.verify(signature, message, pad, hashes.SHA256())
            return True
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return False
    return False
