"""A verifier's verdict: valid only when every check passes, invalid on any failure, unknown
otherwise; what it refuses to evaluate at all; and how a CLR's credentials count."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from node.credentials.inputs import IssuerProfile, LearnerInput
from node.credentials.merkle import credential_hash
from node.credentials.model import build_clr
from node.errors import InvalidInput
from node.verification.report import CHECK_NAMES, Submission
from node.verification.submission import parse_submission
from tests.support.verification_fakes import ANCHOR_BLOCK, ISSUER, ISSUER_DID, STATUS_INDEX, World


def statuses(report: Any) -> dict[str, tuple[str, str]]:
    return {check.name: (check.status.value, check.code) for check in report.checks}


def test_an_anchored_accredited_unrevoked_credential_in_its_validity_period_is_valid(
    world: World,
) -> None:
    credential, receipt = world.anchored()
    report = world.verify(credential, receipt)
    assert report.verdict == "valid"
    assert [check.name for check in report.checks] == list(CHECK_NAMES)
    assert statuses(report) == {
        "format": ("passed", "well_formed"),
        "proof": ("passed", "signature_valid"),
        "issuer_key": ("passed", "key_authorized"),
        "accreditation": ("passed", "accredited"),
        "anchor": ("passed", "anchored"),
        "status": ("passed", "active"),
        "validity": ("passed", "in_validity_period"),
    }
    assert report.as_json()["verdict"] == "valid"


def test_the_issuers_key_is_looked_up_as_of_the_anchoring_block(world: World) -> None:
    credential, receipt = world.anchored()
    world.verify(credential, receipt)
    assert (ISSUER_DID, ANCHOR_BLOCK) in world.dids.asked


def test_changing_one_field_after_signing_breaks_both_the_signature_and_the_anchor(
    world: World,
) -> None:
    credential, receipt = world.anchored()
    credential["credentialSubject"]["achievement"]["name"] = "Master Welder"
    report = world.verify(credential, receipt)
    assert report.verdict == "invalid"
    assert statuses(report)["proof"] == ("failed", "proof_invalid")
    assert statuses(report)["anchor"] == ("failed", "receipt_mismatch")


def test_without_a_receipt_a_credential_in_a_larger_batch_is_undecided(world: World) -> None:
    credential, _receipt = world.anchored()
    report = world.verify(credential)
    assert report.verdict == "unknown"
    assert statuses(report)["anchor"] == ("unknown", "no_receipt")
    assert statuses(report)["accreditation"] == ("unknown", "no_anchor_time")


def test_a_credential_anchored_alone_needs_no_receipt(world: World) -> None:
    credential = world.credential()
    world.anchor(credential)
    assert world.verify(credential).verdict == "valid"


def test_the_nodes_receipt_lookup_supplies_a_missing_receipt(world: World) -> None:
    credential, receipt = world.anchored()
    asked: list[bytes] = []

    def lookup(digest: bytes) -> dict[str, Any] | None:
        asked.append(digest)
        return receipt if digest == credential_hash(credential) else None

    report = world.verifier(anchor_lookup=lookup).verify(Submission(credential))
    assert asked == [credential_hash(credential)]
    assert report.verdict == "valid"


def clr(world: World, parts: list[dict[str, Any]]) -> dict[str, Any]:
    document = build_clr(
        parts,
        IssuerProfile(id=ISSUER_DID, name="Example Technical College"),
        LearnerInput(name="Ada Lovelace", email="ada@example.edu"),
        name="Transcript",
        valid_from=datetime(2025, 6, 1, tzinfo=UTC),
    )
    return world.sign(document)


def test_a_clr_is_valid_only_if_every_credential_it_bundles_is(world: World) -> None:
    first, second = world.credential(), world.credential()
    part_receipts = world.anchor(first, second)
    transcript = clr(world, [first, second])
    (receipt,) = world.anchor(transcript, block=60)
    report = world.verify(transcript, receipt, embedded_receipts=tuple(part_receipts))
    assert report.verdict == "valid"
    assert [inner.verdict for inner in report.embedded] == ["valid", "valid"]
    assert report.credential["achievements"] == ["Structural Welding", "Structural Welding"]

    # In this world every badge has status index 7, so this revokes both bundled badges.
    world.chain.bits.add((ISSUER, 0, 0, STATUS_INDEX))
    report = world.verify(transcript, receipt, embedded_receipts=tuple(part_receipts))
    assert report.verdict == "invalid"
    assert [inner.check("status").code for inner in report.embedded] == ["revoked", "revoked"]


def test_an_embedded_credential_the_verifier_cannot_evaluate_fails_the_clr(world: World) -> None:
    transcript = clr(world, [world.credential()])
    transcript["credentialSubject"]["verifiableCredential"][0]["issuer"]["id"] = "did:example:x.org"
    transcript = world.sign({k: v for k, v in transcript.items() if k != "proof"})
    (receipt,) = world.anchor(transcript)
    report = world.verify(transcript, receipt)
    assert report.verdict == "invalid"
    assert report.embedded[0].check("format").code == "unsupported_did_method"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda c: ["not", "an", "object"], "not_a_credential"),
        (lambda c: {"hello": "world"}, "not_a_credential"),
        (lambda c: {**c, "type": ["OpenBadgeCredential"]}, "not_a_credential"),
        (lambda c: {**c, "proof": [{**c["proof"][0], "type": "JsonWebSignature2020"}]},
         "unsupported_proof_type"),
        (lambda c: {**c, "proof": [{**c["proof"][0], "cryptosuite": "ecdsa-rdfc-2019"}]},
         "unsupported_cryptosuite"),
        (lambda c: {**c, "issuer": {**c["issuer"], "id": "did:example:college"}},
         "unsupported_did_method"),
        (lambda c: {**c, "issuer": "https://college.example"}, "unsupported_issuer"),
        (lambda c: {**c, "issuer": {**c["issuer"], "id": "did:ethr:0x7a69:0x12"}},
         "invalid_issuer"),
    ],
)  # fmt: skip
def test_input_outside_the_verifiers_scope_is_refused_not_reported(
    world: World, change: Any, code: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        world.verifier().verify(parse_submission(change(world.credential())))
    assert refused.value.code == code


def test_a_submission_is_a_bare_credential_or_a_bundle_with_an_optional_instant() -> None:
    credential = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["x"]}
    bare = parse_submission(credential, at="2030-01-01T00:00:00Z")
    assert bare.credential == credential and bare.receipt is None
    assert bare.at is not None and bare.at.year == 2030

    bundle = parse_submission(
        {"credential": credential, "receipt": {"root": "0x"}, "at": "2031-05-01T00:00:00+02:00"}
    )
    assert bundle.receipt == {"root": "0x"}
    assert bundle.at is not None and bundle.at.year == 2031

    for body, code in [
        ({"credential": credential, "receipt": "0xabc"}, "invalid_receipt"),
        ({"credential": credential, "embeddedReceipts": {}}, "invalid_receipt"),
        ({"credential": credential, "at": "yesterday"}, "invalid_datetime"),
        ({"credential": credential, "at": "2030-01-01T00:00:00"}, "invalid_datetime"),
        ({"credential": "{}"}, "not_a_credential"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            parse_submission(body)
        assert refused.value.code == code
