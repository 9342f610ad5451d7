"""Credentials of issuers outside the consortium's chain verify too, and the report says honestly
which checks the chain cannot answer for them: a did:key issuer has no accreditation, anchor or
status list on chain, so those checks are `unknown` (`not_applicable_off_chain`), never passed or
failed in silence. A did:web the consortium bound to an issuer address is that issuer: checked
against the chain like its did:ethr."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.credentials.multikey import encode_public_key
from node.did.router import DidMethodRouter
from tests.support.verification_fakes import ISSUER, ISSUER_DID, World

KEY = Ed25519PrivateKey.from_private_bytes(b"\x55" * 32)
FINGERPRINT = encode_public_key(KEY.public_key())
DID_KEY = f"did:key:{FINGERPRINT}"
DID_WEB = "did:web:registrar.college.example"


def statuses(report: Any) -> dict[str, tuple[str, str]]:
    return {c.name: (c.status.value, c.code) for c in report.checks}


def test_a_did_key_issuers_credential_is_verified_as_far_as_it_can_be(world: World) -> None:
    document = world.unsigned(issuer_did=DID_KEY)
    document.pop("credentialStatus")
    credential = world.sign(document, key=KEY, key_id=f"{DID_KEY}#{FINGERPRINT}")
    report = world.verifier_with(DidMethodRouter()).verify_credential(credential)
    assert statuses(report) == {
        "format": ("passed", "well_formed"),
        "proof": ("passed", "signature_valid"),
        "issuer_key": ("passed", "key_authorized"),
        "accreditation": ("unknown", "not_applicable_off_chain"),
        "anchor": ("unknown", "not_applicable_off_chain"),
        "status": ("passed", "no_status"),
        "validity": ("passed", "in_validity_period"),
    }
    assert report.verdict == "unknown"


def test_a_did_key_credential_with_status_entries_says_they_were_not_checked(
    world: World,
) -> None:
    credential = world.sign(
        world.unsigned(issuer_did=DID_KEY), key=KEY, key_id=f"{DID_KEY}#{FINGERPRINT}"
    )
    report = world.verifier_with(DidMethodRouter()).verify_credential(credential)
    assert statuses(report)["status"] == ("unknown", "not_applicable_off_chain")


def test_a_forged_did_key_credential_fails_its_proof(world: World) -> None:
    document = world.unsigned(issuer_did=DID_KEY)
    credential = world.sign(document, key=KEY, key_id=f"{DID_KEY}#{FINGERPRINT}")
    credential["name"] = "Forged"
    report = world.verifier_with(DidMethodRouter()).verify_credential(credential)
    assert statuses(report)["proof"] == ("failed", "proof_invalid")
    assert report.verdict == "invalid"


def test_a_did_web_bound_on_chain_is_checked_like_its_did_ethr(world: World) -> None:
    world.chain.aliases[DID_WEB] = ISSUER
    credential = world.sign(world.unsigned(issuer_did=DID_WEB), key_id=f"{DID_WEB}#delegate-1")
    (receipt,) = world.anchor(credential)
    report = world.verify(credential, receipt)
    assert report.verdict == "valid", statuses(report)
    assert (ISSUER_DID, 50) in world.dids.asked  # the did:ethr document, as of the anchor


def test_a_did_web_bound_to_another_issuer_does_not_borrow_its_anchor(world: World) -> None:
    world.chain.aliases[DID_WEB] = "0x" + "77" * 20
    credential = world.sign(world.unsigned(issuer_did=DID_WEB), key_id=f"{DID_WEB}#delegate-1")
    (receipt,) = world.anchor(credential)
    report = world.verify(credential, receipt)
    assert report.verdict == "invalid"
    assert statuses(report)["anchor"] == ("failed", "not_anchored")


def test_an_unbound_did_web_is_an_off_chain_issuer(world: World) -> None:
    web_key = f"{DID_WEB}#key-1"
    document = {
        "id": DID_WEB,
        "verificationMethod": [
            {
                "id": web_key,
                "type": "Multikey",
                "controller": DID_WEB,
                "publicKeyMultibase": FINGERPRINT,
            }
        ],
        "assertionMethod": ["#key-1"],
    }

    class WebDocuments:
        def document_at(self, did: str, block: int | None) -> dict[str, Any]:
            assert did == DID_WEB and block is None
            return document

    credential = world.sign(world.unsigned(issuer_did=DID_WEB), key=KEY, key_id=web_key)
    report = world.verifier_with(DidMethodRouter(others={"web": WebDocuments()})).verify_credential(
        credential
    )
    assert statuses(report)["issuer_key"] == ("passed", "key_authorized")
    assert statuses(report)["anchor"] == ("unknown", "not_applicable_off_chain")
    assert report.verdict == "unknown"


def test_an_off_chain_did_nobody_resolves_is_undecided_not_failed(world: World) -> None:
    credential = world.sign(world.unsigned(issuer_did=DID_WEB), key=KEY, key_id=f"{DID_WEB}#k")
    report = world.verifier_with(DidMethodRouter()).verify_credential(credential)
    assert statuses(report)["issuer_key"] == ("unknown", "did_unresolvable")
    assert statuses(report)["proof"] == ("unknown", "key_unavailable")
