"""Reports in the VC-API's shape: `verified` only when every applicable check was established.
An off-chain issuer's missing anchor is a warning (it does not apply); a consortium credential
whose anchor is unknown is an error (not established), as is any failed check."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.credentials.multikey import encode_public_key
from node.did.router import DidMethodRouter
from node.verification.results import credential_result
from tests.support.verification_fakes import World

KEY = Ed25519PrivateKey.from_private_bytes(b"\x99" * 32)
FINGERPRINT = encode_public_key(KEY.public_key())
DID_KEY = f"did:key:{FINGERPRINT}"


def test_a_valid_credential_is_verified_without_warnings(world: World) -> None:
    credential = world.credential()
    world.anchor(credential)
    result = credential_result(world.verifier_with(DidMethodRouter()).verify_credential(credential))
    assert (result["verified"], result["errors"], result["warnings"]) == (True, [], [])
    assert result["checks"][0] == "format"


def test_checks_that_do_not_apply_to_an_off_chain_issuer_are_warnings(world: World) -> None:
    document = world.unsigned(issuer_did=DID_KEY)
    document.pop("credentialStatus")
    credential = world.sign(document, key=KEY, key_id=f"{DID_KEY}#{FINGERPRINT}")
    result = credential_result(world.verifier_with(DidMethodRouter()).verify_credential(credential))
    assert result["verified"] is True
    assert [w.split(":")[0] for w in result["warnings"]] == ["accreditation", "anchor"]


def test_an_undecided_consortium_credential_is_not_verified(world: World) -> None:
    credential, _receipt = world.anchored()  # in a batch of three, and no receipt given
    result = credential_result(world.verifier_with(DidMethodRouter()).verify_credential(credential))
    assert result["verified"] is False
    assert [e.split(":")[1].strip() for e in result["errors"]] == ["no_anchor_time", "no_receipt"]
    assert [p["code"] for p in result["problemDetails"]] == ["no_anchor_time", "no_receipt"]
