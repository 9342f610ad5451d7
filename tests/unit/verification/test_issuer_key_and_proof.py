"""The signature counts only if it was made with a key the issuer's DID listed *when the
credential was anchored*: rotating a key out later does not void old credentials, and a key
published after the anchor cannot have signed it."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.credentials.proofs import Cryptosuite
from tests.support.verification_fakes import (
    ANCHOR_BLOCK,
    ISSUER_DID,
    KEY_ID,
    LATE_KEY_ID,
    World,
    key_method,
)

NEW_KEY = Ed25519PrivateKey.from_private_bytes(b"\x22" * 32)


def test_a_key_rotated_out_after_the_anchor_still_verifies_older_credentials(
    world: World,
) -> None:
    credential, receipt = world.anchored()
    world.dids.publish(ISSUER_DID, ANCHOR_BLOCK + 5, [key_method(LATE_KEY_ID, NEW_KEY)])
    report = world.verify(credential, receipt)
    assert report.check("issuer_key").code == "key_authorized"
    assert report.verdict == "valid"


def test_a_key_published_after_the_anchor_cannot_have_signed_the_credential(
    world: World,
) -> None:
    forged = world.sign(world.unsigned(), key=NEW_KEY, key_id=LATE_KEY_ID)
    (receipt,) = world.anchor(forged)
    world.dids.publish(
        ISSUER_DID,
        ANCHOR_BLOCK + 1,
        [key_method(KEY_ID, world.key), key_method(LATE_KEY_ID, NEW_KEY)],
    )
    report = world.verify(forged, receipt)
    key = report.check("issuer_key")
    assert (key.status, key.code) == ("failed", "key_added_after_issuance")
    assert report.check("proof").code == "key_unavailable"
    assert report.verdict == "invalid"


def test_a_key_the_did_never_listed_is_not_found(world: World) -> None:
    forged = world.sign(world.unsigned(), key=NEW_KEY, key_id=f"{ISSUER_DID}#delegate-9")
    (receipt,) = world.anchor(forged)
    report = world.verify(forged, receipt)
    assert report.check("issuer_key").code == "key_not_found"
    assert report.verdict == "invalid"


def test_a_signature_by_another_key_under_the_issuers_key_id_does_not_verify(
    world: World,
) -> None:
    forged = world.sign(world.unsigned(), key=NEW_KEY, key_id=KEY_ID)
    (receipt,) = world.anchor(forged)
    report = world.verify(forged, receipt)
    assert report.check("issuer_key").status == "passed"
    assert (report.check("proof").status, report.check("proof").code) == (
        "failed",
        "proof_invalid",
    )


def test_the_signing_key_must_belong_to_the_credentials_issuer(world: World) -> None:
    other = "did:ethr:0x7a69:0x" + "2b" * 20
    forged = world.sign(world.unsigned(), key_id=f"{other}#delegate-1")
    (receipt,) = world.anchor(forged)
    report = world.verify(forged, receipt)
    assert report.check("issuer_key").code == "issuer_mismatch"


def test_a_key_listed_but_not_as_an_assertion_key_is_not_authorized(world: World) -> None:
    document = world.dids.versions[ISSUER_DID][0][1]
    document["assertionMethod"] = []
    credential, receipt = world.anchored()
    assert world.verify(credential, receipt).check("issuer_key").code == "key_not_authorized"


def test_without_an_anchor_the_key_is_checked_against_the_current_document(
    world: World,
) -> None:
    credential = world.credential()
    report = world.verify(credential)
    assert report.check("issuer_key").status == "passed"
    assert "current DID document" in report.check("issuer_key").detail
    assert world.dids.asked == [(ISSUER_DID, None)]


def test_both_cryptosuites_verify(world: World) -> None:
    for suite in Cryptosuite:
        credential = world.sign(world.unsigned(), suite=suite)
        (receipt,) = world.anchor(credential)
        assert world.verify(credential, receipt).verdict == "valid", suite


def test_a_missing_proof_fails_the_proof_check(world: World) -> None:
    unsigned = world.unsigned()
    (receipt,) = world.anchor(unsigned)
    report = world.verify(unsigned, receipt)
    assert (report.check("proof").status, report.check("proof").code) == (
        "failed",
        "proof_missing",
    )
    assert report.check("issuer_key").code == "no_proof"
