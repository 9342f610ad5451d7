"""A holder presents credentials with a presentation signed by its did:key: it verifies only for
the challenge and domain the verifier gave, unchanged since the holder signed it, signed by the
holder's own authentication key, and only as far as every credential in it verifies. Each way it
fails has its own reason code."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.credentials.multikey import encode_public_key
from node.credentials.proofs import Cryptosuite, sign
from node.did.router import DidMethodRouter
from node.errors import InvalidInput
from node.verification.presentations import PresentationReport, PresentationVerifier
from node.verification.report import Submission
from tests.support.verification_fakes import World

HOLDER = Ed25519PrivateKey.from_private_bytes(b"\x33" * 32)
STRANGER = Ed25519PrivateKey.from_private_bytes(b"\x44" * 32)
CHALLENGE = "c0ffee-1d2b-4c9e-8f3a-5b6d7e8f9a0b"
DOMAIN = "employer.example"


def did_key(key: Ed25519PrivateKey) -> str:
    return "did:key:" + encode_public_key(key.public_key())


def key_id(key: Ed25519PrivateKey) -> str:
    fingerprint = encode_public_key(key.public_key())
    return f"did:key:{fingerprint}#{fingerprint}"


def presentation(
    credentials: list[dict[str, Any]], *, holder: Ed25519PrivateKey = HOLDER
) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": did_key(holder),
        "verifiableCredential": credentials,
    }


def signed(
    document: dict[str, Any],
    *,
    key: Ed25519PrivateKey = HOLDER,
    challenge: str | None = CHALLENGE,
    domain: str | None = DOMAIN,
    suite: Cryptosuite = Cryptosuite.EDDSA_RDFC_2022,
) -> dict[str, Any]:
    return sign(
        document,
        key,
        key_id(key),
        suite,
        proof_purpose="authentication",
        challenge=challenge,
        domain=domain,
    )


def verify(world: World, vp: Any, **options: Any) -> PresentationReport:
    options.setdefault("challenge", CHALLENGE)
    options.setdefault("domain", DOMAIN)
    verifier = PresentationVerifier(world.verifier(), DidMethodRouter())
    return verifier.verify(vp, **options)


def codes(report: PresentationReport) -> dict[str, str]:
    return {c.name: c.code for c in report.checks if c.status != "passed"}


def anchored_alone(world: World) -> dict[str, Any]:
    credential = world.credential()
    world.anchor(credential)
    return credential


@pytest.mark.parametrize("suite", list(Cryptosuite))
def test_a_holders_presentation_of_issued_credentials_verifies(
    world: World, suite: Cryptosuite
) -> None:
    credentials = [anchored_alone(world), anchored_alone(world)]
    report = verify(world, signed(presentation(credentials), suite=suite))
    assert report.verdict == "valid", report.as_json()
    assert [c.name for c in report.checks] == [
        "format", "proof", "holder_key", "challenge", "domain", "credentials"
    ]  # fmt: skip
    assert [r.verdict for r in report.credentials] == ["valid", "valid"]
    assert report.holder == did_key(HOLDER)


def test_a_presentation_for_another_challenge_is_a_replay(world: World) -> None:
    vp = signed(presentation([anchored_alone(world)]), challenge="an-old-challenge")
    assert codes(verify(world, vp)) == {"challenge": "challenge_mismatch"}
    unasked = signed(presentation([anchored_alone(world)]), challenge=None)
    assert codes(verify(world, unasked)) == {"challenge": "challenge_mismatch"}


def test_a_presentation_for_another_domain_is_not_for_this_verifier(world: World) -> None:
    vp = signed(presentation([anchored_alone(world)]), domain="other.example")
    assert codes(verify(world, vp)) == {"domain": "domain_mismatch"}


def test_a_presentation_changed_after_signing_fails_its_proof(world: World) -> None:
    vp = signed(presentation([anchored_alone(world)]))
    vp["verifiableCredential"].append(anchored_alone(world))
    assert codes(verify(world, vp)) == {"proof": "proof_invalid"}


def test_a_credential_changed_by_the_holder_fails_even_in_a_well_signed_presentation(
    world: World,
) -> None:
    credential = anchored_alone(world)
    credential["credentialSubject"]["name"] = "Someone Else"
    report = verify(world, signed(presentation([credential])))
    assert codes(report) == {"credentials": "credential_invalid"}
    assert report.credentials[0].check("proof").code == "proof_invalid"


def test_a_presentation_signed_by_someone_other_than_its_holder_is_refused(world: World) -> None:
    vp = signed(presentation([anchored_alone(world)]), key=STRANGER)
    assert codes(verify(world, vp))["holder_key"] == "holder_mismatch"


def test_without_a_challenge_to_compare_freshness_stays_undecided(world: World) -> None:
    report = verify(world, signed(presentation([anchored_alone(world)])), challenge=None)
    assert report.verdict == "unknown"
    assert codes(report) == {"challenge": "challenge_not_requested"}


def test_a_did_authentication_presentation_without_credentials_verifies(world: World) -> None:
    report = verify(world, signed(presentation([])))
    assert report.verdict == "valid"
    assert report.check("credentials").code == "no_credentials"


def test_a_key_not_meant_for_authentication_does_not_bind_the_holder(world: World) -> None:
    class AssertionOnly(DidMethodRouter):
        def document_at(self, did: str, block: int | None) -> dict[str, Any]:
            document = super().document_at(did, block)
            document["authentication"] = []
            return document

    verifier = PresentationVerifier(world.verifier(), AssertionOnly())
    vp = signed(presentation([anchored_alone(world)]))
    report = verifier.verify(vp, challenge=CHALLENGE, domain=DOMAIN)
    assert codes(report) == {"holder_key": "key_not_authorized", "proof": "key_unavailable"}


@pytest.mark.parametrize(
    "body",
    [["a", "list"], {"type": ["VerifiablePresentation"]}, {"@context": [], "type": ["Thing"]}],
)
def test_what_is_not_a_presentation_is_refused(world: World, body: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        verify(world, body)
    assert refused.value.code == "not_a_presentation"


def test_the_credentials_of_a_presentation_are_judged_by_the_credential_verifier(
    world: World,
) -> None:
    credential = anchored_alone(world)
    direct = world.verifier().verify(Submission(credential))
    presented = verify(world, signed(presentation([credential]))).credentials[0]
    assert [(c.name, c.code) for c in presented.checks] == [(c.name, c.code) for c in direct.checks]
