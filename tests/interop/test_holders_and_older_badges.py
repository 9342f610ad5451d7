"""What Digital Bazaar's libraries make, the node's verifier accepts: an older Open Badge signed
with `Ed25519Signature2020` (@digitalbazaar/ed25519-signature-2020) by a did:key issuer, and a
holder's presentation made with @digitalbazaar/vc (`signPresentation`, DataIntegrityProof
eddsa-rdfc-2022 or Ed25519Signature2020 as LCW's DIDAuth uses), with its challenge and domain."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.credentials.multikey import encode_public_key
from node.did.router import DidMethodRouter
from node.verification.engine import Verifier
from node.verification.presentations import PresentationVerifier
from node.verification.report import Submission
from tests.support.interop import node_binary, run_node_script
from tests.support.verification_fakes import EmptyChain

pytestmark = pytest.mark.interop

HOLDER_JS = Path(__file__).parent / "js" / "holder.mjs"
ISSUER_SEED = "77" * 32
HOLDER_SEED = "88" * 32
CHALLENGE = "b1a5c0de-7e57-4a11-9c0d-e0f1a2b3c4d5"
DOMAIN = "verifier.example"


def did_key(seed: str) -> str:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))
    return "did:key:" + encode_public_key(key.public_key())


@dataclass
class Js:
    node: str

    def __call__(self, command: str, request: dict[str, Any]) -> dict[str, Any]:
        return run_node_script(self.node, HOLDER_JS, request, command)


@pytest.fixture(scope="module")
def js() -> Js:
    return Js(node_binary())


def older_badge(js: Js) -> dict[str, Any]:
    issuer = did_key(ISSUER_SEED)
    credential = {
        "@context": [
            "https://www.w3.org/2018/credentials/v1",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
            "https://w3id.org/security/suites/ed25519-2020/v1",
        ],
        "id": "urn:uuid:1b9f8a44-6f8b-4c8e-a8a2-1d3c5e7f9a0b",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": "Old Badge Academy"},
        "name": "Teamwork",
        "issuanceDate": "2023-03-01T00:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://example.org/achievements/teamwork",
                "type": ["Achievement"],
                "name": "Teamwork",
                "description": "Works well in teams",
                "criteria": {"narrative": "Completed the team project"},
            },
        },
    }
    signed: dict[str, Any] = js("sign-2020", {"credential": credential, "seed": ISSUER_SEED})[
        "signed"
    ]
    assert signed["proof"]["type"] == "Ed25519Signature2020"
    return signed


def verifier() -> Verifier:
    return Verifier(EmptyChain(), DidMethodRouter())


def statuses(report: Any) -> dict[str, tuple[str, str]]:
    return {c.name: (c.status.value, c.code) for c in report.checks}


def test_an_older_badge_signed_with_ed25519_signature_2020_verifies(js: Js) -> None:
    badge = older_badge(js)
    report = verifier().verify(Submission(badge))
    assert statuses(report) == {
        "format": ("passed", "well_formed"),
        "proof": ("passed", "signature_valid"),
        "issuer_key": ("passed", "key_authorized"),
        "accreditation": ("unknown", "not_applicable_off_chain"),
        "anchor": ("unknown", "not_applicable_off_chain"),
        "status": ("passed", "no_status"),
        "validity": ("passed", "in_validity_period"),
    }
    assert "VC 1.1" in report.check("format").detail

    badge["credentialSubject"]["achievement"]["name"] = "Leadership"
    assert statuses(verifier().verify(Submission(badge)))["proof"] == ("failed", "proof_invalid")


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "Ed25519Signature2020"])
def test_a_presentation_made_with_digital_bazaars_vc_library_verifies(js: Js, suite: str) -> None:
    made = js(
        "present",
        {
            "credentials": [older_badge(js)],
            "seed": HOLDER_SEED,
            "challenge": CHALLENGE,
            "domain": DOMAIN,
            "suite": suite,
        },
    )
    presentation = made["presentation"]
    assert made["did"] == did_key(HOLDER_SEED)
    checker = PresentationVerifier(verifier(), DidMethodRouter())
    report = checker.verify(presentation, challenge=CHALLENGE, domain=DOMAIN)
    assert statuses(report) == {
        "format": ("passed", "well_formed"),
        "proof": ("passed", "signature_valid"),
        "holder_key": ("passed", "key_authorized"),
        "challenge": ("passed", "challenge_matches"),
        "domain": ("passed", "domain_matches"),
        # The badge's issuer is off chain: its anchor and accreditation are not applicable.
        "credentials": ("unknown", "credential_unverified"),
    }
    replayed = checker.verify(presentation, challenge="another", domain=DOMAIN)
    assert statuses(replayed)["challenge"] == ("failed", "challenge_mismatch")
    elsewhere = checker.verify(presentation, challenge=CHALLENGE, domain="other.example")
    assert statuses(elsewhere)["domain"] == ("failed", "domain_mismatch")
    presentation["holder"] = did_key(ISSUER_SEED)
    tampered = checker.verify(presentation, challenge=CHALLENGE, domain=DOMAIN)
    assert statuses(tampered)["holder_key"] == ("failed", "holder_mismatch")
