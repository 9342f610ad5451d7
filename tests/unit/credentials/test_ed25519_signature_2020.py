"""`Ed25519Signature2020` proofs of older badges verify (verification only). The vector in
`vectors/ed25519-signature-2020-badge.json` was made by Digital Bazaar's
@digitalbazaar/ed25519-signature-2020 5.4.0 through `tests/interop/js/holder.mjs sign-2020`
(a VC 1.1 Open Badge 3.0 signed by the did:key of the seed 0x77...77); the interop test makes
fresh ones."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from node.credentials import ed25519_signature_2020
from node.credentials.multikey import decode_public_key
from node.errors import InvalidInput

VECTOR = Path(__file__).parent / "vectors" / "ed25519-signature-2020-badge.json"


@pytest.fixture
def badge() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(VECTOR.read_text())
    return loaded


def issuer_key(badge: dict[str, Any]) -> Any:
    return decode_public_key(badge["issuer"]["id"].removeprefix("did:key:"))


def test_digital_bazaars_signature_verifies(badge: dict[str, Any]) -> None:
    proof = ed25519_signature_2020.verify(badge, issuer_key(badge))
    assert proof["type"] == "Ed25519Signature2020"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda b: b.__setitem__("name", "Leadership"), "proof_invalid"),
        (lambda b: b["proof"].__setitem__("created", "2020-01-01T00:00:00Z"), "proof_invalid"),
        (
            lambda b: b["proof"].__setitem__("proofPurpose", "authentication"),
            "proof_purpose_mismatch",
        ),
        (lambda b: b["proof"].__setitem__("proofValue", "not-multibase"), "proof_malformed"),
        (lambda b: b["@context"].pop(), "proof_malformed"),
    ],
)
def test_any_change_is_detected(badge: dict[str, Any], change: Any, code: str) -> None:
    changed = copy.deepcopy(badge)
    change(changed)
    with pytest.raises(InvalidInput) as refused:
        ed25519_signature_2020.verify(changed, issuer_key(badge))
    assert refused.value.code == code
