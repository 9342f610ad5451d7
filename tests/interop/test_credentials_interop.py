"""Our credentials library against Digital Bazaar's JS stack, byte for byte and signature for
signature. If one of these fails, credentials we issue would not verify elsewhere (or we would
accept what others reject)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.credentials.canonical import canonize
from node.credentials.inputs import (
    AchievementInput,
    AlignmentInput,
    CredentialInput,
    IssuerProfile,
    LearnerInput,
    ResultInput,
)
from node.credentials.model import build_clr, build_open_badge
from node.credentials.multikey import encode_public_key, encode_secret_key, raw_public_key
from node.credentials.proofs import sign, verify
from node.credentials.status_list import Bitstring
from node.errors import InvalidInput
from tests.support.interop import ISSUER_DID, KEY_ID, RunJs, controller_documents
from tests.support.ob3_corpus import TRICKY_DOCUMENTS

pytestmark = pytest.mark.interop

VC2 = "https://www.w3.org/ns/credentials/v2"
SUITES = ["eddsa-rdfc-2022", "eddsa-jcs-2022"]
SIGNED_AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ISSUER = IssuerProfile(id=ISSUER_DID, name="Universidad Ejemplo", url="https://uni.example")


def _open_badge(name: str = "Álgebra lineal — 线性代数") -> dict[str, Any]:
    data = CredentialInput(
        learner=LearnerInput(id="did:key:z6MkLearner", name="Zoë", email="zoe@example.org"),
        achievement=AchievementInput(
            achievement_type="Course",
            name=name,
            description='Vectors,\tmatrices\nand "quotes" \\ backslashes',
            criteria_narrative="Pass the exam",
            alignments=[
                AlignmentInput(
                    target_name="Linear algebra",
                    target_url="https://credentialengineregistry.org/resources/ce-1",
                    target_type="ceasn:Competency",
                )
            ],
            credits_available=7.5,
        ),
        results=[ResultInput(value="9.5", status="Completed")],
        valid_from=SIGNED_AT,
    )
    return build_open_badge(data, ISSUER)


@pytest.mark.parametrize("index", range(len(TRICKY_DOCUMENTS)))
def test_canonical_nquads_are_byte_identical_to_rdf_canonize(run_js: RunJs, index: int) -> None:
    document = TRICKY_DOCUMENTS[index]
    [js] = run_js("canonize", {"documents": [document]})["results"]
    assert "error" not in js, js
    assert canonize(document) == js["nquads"]


def test_open_badge_and_clr_canonicalize_like_rdf_canonize(
    run_js: RunJs, issuer_key: Ed25519PrivateKey
) -> None:
    badge = sign(_open_badge(), issuer_key, KEY_ID, created=SIGNED_AT)
    learner = LearnerInput(id="did:key:z6MkLearner")
    clr = build_clr([badge], ISSUER, learner, name="Transcript", valid_from=SIGNED_AT)
    results = run_js("canonize", {"documents": [badge, clr]})["results"]
    assert [r.get("nquads") for r in results] == [canonize(badge), canonize(clr)]


# pyld itself rejects an invalid typed value (code invalid_jsonld); the rest our safe mode catches.
EXPECTED_CODE = {"relative datatype": "invalid_jsonld"}
UNSAFE_DOCUMENTS: dict[str, dict[str, Any]] = {
    "undefined property": {"@context": [VC2], "id": "urn:x", "notInAnyContext": "claim"},
    "term outside its type scope": {"@context": [VC2], "credentialSubject": {"id": "urn:y"}},
    "relative @id": {"@context": [VC2], "id": "relative/path", "type": ["VerifiableCredential"]},
    "undefined type": {"@context": [VC2], "id": "urn:x", "type": ["VerifiableCredential", "Oops"]},
    "relative datatype": {
        "@context": [VC2],
        "id": "urn:x",
        "name": {"@value": "x", "@type": "relativeDatatype"},
    },
}


@pytest.mark.parametrize("case", sorted(UNSAFE_DOCUMENTS))
def test_both_implementations_refuse_what_safe_mode_refuses(run_js: RunJs, case: str) -> None:
    document = UNSAFE_DOCUMENTS[case]
    [js] = run_js("canonize", {"documents": [document]})["results"]
    assert js.get("error") == "Safe mode validation error.", js
    with pytest.raises(InvalidInput) as raised:
        canonize(document)
    assert raised.value.code == EXPECTED_CODE.get(case, "undefined_term")


def test_an_undefined_term_in_a_real_badge_is_refused_by_both(run_js: RunJs) -> None:
    document = {**_open_badge(), "notInAnyContext": "sneaky claim"}
    [js] = run_js("canonize", {"documents": [document]})["results"]
    assert "error" in js
    with pytest.raises(InvalidInput) as raised:
        canonize(document)
    assert raised.value.code == "undefined_term"


@pytest.mark.parametrize("suite", SUITES)
def test_js_verifies_what_we_sign(
    run_js: RunJs, issuer_key: Ed25519PrivateKey, multikey_documents: dict[str, Any], suite: str
) -> None:
    signed = sign(_open_badge(), issuer_key, KEY_ID, suite, created=SIGNED_AT)
    result = run_js("verify", {"credential": signed, "documents": multikey_documents})
    assert result == {"verified": True, "errors": []}


@pytest.mark.parametrize("suite", SUITES)
def test_js_rejects_what_we_sign_once_tampered(
    run_js: RunJs, issuer_key: Ed25519PrivateKey, multikey_documents: dict[str, Any], suite: str
) -> None:
    signed = sign(_open_badge(), issuer_key, KEY_ID, suite, created=SIGNED_AT)
    tampered = {**signed, "name": "Something else"}
    result = run_js("verify", {"credential": tampered, "documents": multikey_documents})
    assert result["verified"] is False


@pytest.mark.parametrize("suite", SUITES)
def test_we_verify_what_js_signs(run_js: RunJs, issuer_key: Ed25519PrivateKey, suite: str) -> None:
    request = {
        "credential": _open_badge(),
        "secretKeyMultibase": encode_secret_key(issuer_key),
        "publicKeyMultibase": encode_public_key(issuer_key.public_key()),
        "id": KEY_ID,
        "controller": ISSUER_DID,
        "cryptosuite": suite,
        "date": "2025-03-01T12:00:00Z",
    }
    signed = run_js("sign", request)["credential"]
    proof = verify(signed, issuer_key.public_key())
    assert (proof["cryptosuite"], proof["verificationMethod"]) == (suite, KEY_ID)
    with pytest.raises(InvalidInput) as raised:
        verify({**signed, "name": "forged"}, issuer_key.public_key())
    assert raised.value.code == "proof_invalid"


def test_js_decodes_our_status_list_to_the_same_bits(run_js: RunJs) -> None:
    revoked = [0, 7, 8, 255, 256, 65_537, 131_071]
    probes = sorted({*revoked, 1, 6, 9, 254, 257, 131_070})
    encoded = Bitstring.from_indices(revoked).encode()
    result = run_js("decode-status-list", {"encodedList": encoded, "indices": probes})
    assert result["length"] == 131_072
    assert result["bits"] == [i in revoked for i in probes]


def _ed25519_2018_method(key: Ed25519PrivateKey, context: Any) -> dict[str, Any]:
    method = {
        "id": KEY_ID,
        "type": "Ed25519VerificationKey2018",
        "controller": ISSUER_DID,
        "publicKeyBase58": base58.b58encode(raw_public_key(key.public_key())).decode(),
    }
    return method if context is None else {"@context": context, **method}


@pytest.mark.parametrize(
    ("context", "accepted"),
    [
        (None, True),
        ("https://w3id.org/security/suites/ed25519-2018/v1", True),
        (["https://www.w3.org/ns/did/v1"], False),
    ],
)
def test_multikey_from_accepts_ed25519_2018_only_without_a_foreign_context(
    run_js: RunJs, issuer_key: Ed25519PrivateKey, context: Any, accepted: bool
) -> None:
    """What did:ethr's `did/pub/Ed25519/veriKey/base58` yields, as DB's verifier sees it.

    `Ed25519Multikey.from()` converts an Ed25519VerificationKey2018 + publicKeyBase58 to a
    Multikey only when the method has no `@context` or one that includes the ed25519-2018 suite
    context; the same method carrying the DID document's context is refused.
    """
    method = _ed25519_2018_method(issuer_key, context)
    result = run_js("multikey-from", {"verificationMethod": method})
    assert result["ok"] is accepted, result
    if accepted:
        assert result["publicKeyMultibase"] == encode_public_key(issuer_key.public_key())


def test_js_verifies_our_signature_through_an_ed25519_2018_method(
    run_js: RunJs, issuer_key: Ed25519PrivateKey
) -> None:
    documents = controller_documents(_ed25519_2018_method(issuer_key, None))
    signed = sign(_open_badge(), issuer_key, KEY_ID, created=SIGNED_AT)
    result = run_js("verify", {"credential": signed, "documents": documents})
    assert result["verified"] is True, result
