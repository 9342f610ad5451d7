"""`proofs.sign_canonical`: what a bulk issuer signs with when it holds each credential's JCS
members. It must give exactly what `sign` gives, and the signed document's JCS bytes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.credentials import jcs
from node.credentials.proofs import Cryptosuite, sign, sign_canonical, verify

KEY = Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)
METHOD = "did:ex:issuer#key-1"
CREATED = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def _credential(name: str) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:5",
        "type": ["VerifiableCredential"],
        "issuer": "did:ex:issuer",
        "credentialSubject": {"id": "did:ex:subject", "name": name},
    }


@pytest.mark.parametrize("suite", list(Cryptosuite))
@pytest.mark.parametrize("name", ["Ann", "Zoë \u2028 😀", 'quote " and \\ backslash'])
def test_it_signs_as_sign_does_and_hands_back_the_signed_document_s_jcs(
    suite: Cryptosuite, name: str
) -> None:
    document = _credential(name)
    expected = sign(document, KEY, METHOD, suite, created=CREATED)
    signed, canonical = sign_canonical(
        document, jcs.canonical_members(document), KEY, METHOD, suite, created=CREATED
    )
    assert signed == expected
    assert list(signed["proof"][0]) == list(expected["proof"][0])
    assert canonical == jcs.canonicalize(expected)
    verify(signed, KEY.public_key())


def test_members_of_another_document_are_refused() -> None:
    members = jcs.canonical_members({**_credential("Ann"), "name": "x"})
    with pytest.raises(ValueError):
        sign_canonical(_credential("Ann"), members, KEY, METHOD, Cryptosuite.EDDSA_JCS_2022)
