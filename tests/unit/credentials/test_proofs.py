"""DataIntegrityProof with eddsa-rdfc-2022 / eddsa-jcs-2022 (cross-checked with JS in interop)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.credentials.canonical import canonize
from node.credentials.jcs import canonicalize
from node.credentials.multikey import decode_base58btc_multibase
from node.credentials.proofs import Cryptosuite, get_proof, sign, verify
from node.errors import InvalidInput

KEY = Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(b"\x08" * 32)
METHOD = "did:ex:issuer#key-1"
CREATED = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
SUITES = list(Cryptosuite)


def _credential() -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:5",
        "type": ["VerifiableCredential"],
        "issuer": "did:ex:issuer",
        "credentialSubject": {"id": "did:ex:subject", "name": "Ann"},
    }


def test_rdfc_signature_covers_sha256_of_config_then_document() -> None:
    signed = sign(_credential(), KEY, METHOD, Cryptosuite.EDDSA_RDFC_2022, created=CREATED)
    [proof] = signed["proof"]  # an array of one, as OB 3.0's JSON Schema wants
    assert proof == {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2025-01-02T03:04:05Z",
        "verificationMethod": METHOD,
        "proofPurpose": "assertionMethod",
        "proofValue": proof["proofValue"],
    }
    config = {"@context": _credential()["@context"], **proof}
    del config["proofValue"]
    hash_data = (
        hashlib.sha256(canonize(config).encode()).digest()
        + hashlib.sha256(canonize(_credential()).encode()).digest()
    )
    KEY.public_key().verify(decode_base58btc_multibase(proof["proofValue"]), hash_data)


def test_jcs_proof_keeps_the_document_context_and_signs_jcs_bytes() -> None:
    signed = sign(_credential(), KEY, METHOD, "eddsa-jcs-2022", created=CREATED)
    [proof] = signed["proof"]
    assert proof["@context"] == _credential()["@context"]
    config = {k: v for k, v in proof.items() if k != "proofValue"}
    hash_data = (
        hashlib.sha256(canonicalize(config)).digest()
        + hashlib.sha256(canonicalize(_credential())).digest()
    )
    KEY.public_key().verify(decode_base58btc_multibase(proof["proofValue"]), hash_data)


@pytest.mark.parametrize("suite", SUITES)
def test_a_signed_document_verifies_and_returns_its_proof(suite: Cryptosuite) -> None:
    signed = sign(_credential(), KEY, METHOD, suite, created=CREATED)
    assert verify(signed, KEY.public_key())["verificationMethod"] == METHOD
    assert {k: v for k, v in signed.items() if k != "proof"} == _credential()


@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: {**d, "id": "urn:uuid:6"},
        lambda d: {**d, "proof": [{**d["proof"][0], "created": "2030-01-01T00:00:00Z"}]},
        lambda d: {**d, "proof": [{**d["proof"][0], "verificationMethod": "did:ex:other#k"}]},
    ],
    ids=["document", "proof created", "proof method"],
)
def test_any_change_to_document_or_proof_options_breaks_the_proof(
    suite: Cryptosuite, tamper: Any
) -> None:
    signed = sign(_credential(), KEY, METHOD, suite, created=CREATED)
    with pytest.raises(InvalidInput) as raised:
        verify(tamper(signed), KEY.public_key())
    assert raised.value.code == "proof_invalid"


def test_another_key_does_not_verify() -> None:
    signed = sign(_credential(), KEY, METHOD, created=CREATED)
    with pytest.raises(InvalidInput) as raised:
        verify(signed, OTHER_KEY.public_key())
    assert raised.value.code == "proof_invalid"


@pytest.mark.parametrize(
    ("proof", "code"),
    [
        (None, "proof_missing"),
        ([], "proof_missing"),
        ([{"type": "DataIntegrityProof"}, {"type": "DataIntegrityProof"}], "proof_set_unsupported"),
        ({"type": "Ed25519Signature2020"}, "unsupported_proof_type"),
        (
            {"type": "DataIntegrityProof", "cryptosuite": "ecdsa-rdfc-2019"},
            "unsupported_cryptosuite",
        ),
        (
            {
                "type": "DataIntegrityProof",
                "cryptosuite": "eddsa-rdfc-2022",
                "proofPurpose": "authentication",
            },
            "proof_purpose_mismatch",
        ),
        (
            {
                "type": "DataIntegrityProof",
                "cryptosuite": "eddsa-rdfc-2022",
                "proofPurpose": "assertionMethod",
                "verificationMethod": METHOD,
                "proofValue": "uNotBase58",
            },
            "proof_malformed",
        ),
    ],
)
def test_unverifiable_proofs_fail_with_distinct_codes(proof: Any, code: str) -> None:
    document = _credential() if proof is None else {**_credential(), "proof": proof}
    with pytest.raises(InvalidInput) as raised:
        verify(document, KEY.public_key())
    assert raised.value.code == code


def test_rdfc_signing_refuses_undefined_terms_instead_of_signing_them_away() -> None:
    with pytest.raises(InvalidInput) as raised:
        sign({**_credential(), "unsignedClaim": "x"}, KEY, METHOD)
    assert raised.value.code == "undefined_term"


def test_a_proof_is_read_as_an_object_or_a_single_element_array() -> None:
    signed = sign(_credential(), KEY, METHOD, created=CREATED)
    [proof] = signed["proof"]
    assert get_proof(signed) == get_proof({**signed, "proof": proof}) == proof
    verify(signed, KEY.public_key())
    verify({**signed, "proof": proof}, KEY.public_key())  # as credentials issued before


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        sign(_credential(), KEY, METHOD, created=datetime(2025, 1, 1))
    assert raised.value.code == "invalid_datetime"
