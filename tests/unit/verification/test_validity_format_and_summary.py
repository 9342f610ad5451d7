"""The validity period is checked at a chosen instant; a malformed document fails `format` with
the first issue's code; and the report tells a person what the credential says."""

from __future__ import annotations

from datetime import UTC, datetime

from node.verification.report import Submission
from tests.support.verification_fakes import ISSUER_DID, World


def validity(world: World, at: datetime | None = None, **fields: object) -> tuple[str, str]:
    credential = world.credential(**fields)
    (receipt,) = world.anchor(credential)
    check = world.verify(credential, receipt, at=at).check("validity")
    return check.status.value, check.code


def test_a_credential_is_valid_from_validfrom_until_before_validuntil(world: World) -> None:
    until = datetime(2027, 1, 1, tzinfo=UTC)
    assert validity(world, valid_until=until) == ("passed", "in_validity_period")
    assert validity(world, at=until, valid_until=until) == ("failed", "expired")
    early = datetime(2025, 5, 31, 23, 59, 59, tzinfo=UTC)
    assert validity(world, at=early) == ("failed", "not_yet_valid")


def test_an_expired_credential_is_invalid_even_if_everything_else_holds(world: World) -> None:
    credential = world.credential(valid_until=datetime(2025, 12, 31, tzinfo=UTC))
    (receipt,) = world.anchor(credential)
    report = world.verify(credential, receipt)
    assert report.verdict == "invalid"
    assert [c.name for c in report.checks if c.status != "passed"] == ["validity"]


def test_an_unreadable_date_leaves_the_validity_undecided(world: World) -> None:
    credential = world.unsigned()
    credential["validUntil"] = "next year"
    check = world.verify(world.sign(credential)).check("validity")
    assert (check.status, check.code) == ("unknown", "invalid_datetime")


def test_a_malformed_credential_fails_format_with_the_first_issue(world: World) -> None:
    credential = world.unsigned()
    del credential["credentialSubject"]["achievement"]["criteria"]
    report = world.verify(world.sign(credential))
    check = report.check("format")
    assert (check.status, check.code) == ("failed", "missing_field")
    assert "/credentialSubject/achievement/criteria" in check.detail


def test_the_report_says_what_the_credential_is_about(world: World) -> None:
    credential, receipt = world.anchored()
    summary = world.verify(credential, receipt).credential
    assert summary["type"] == "OpenBadgeCredential"
    assert summary["achievement"] == {
        "name": "Structural Welding",
        "type": "Certificate",
        "description": "Welds structural steel to code",
        "criteria": "Passed the practical exam",
    }
    assert summary["issuer"] == {"name": "Example Technical College", "id": ISSUER_DID}
    assert summary["learner"]["name"] == "Ada Lovelace"
    assert summary["learner"]["identifiers"] == ["emailAddress (hashed)"]
    assert summary["skills"][0]["name"] == "Welding"
    assert summary["skills"][0]["framework"] == "ESCO"
    assert summary["validFrom"] == "2025-06-01T00:00:00Z"
    assert summary["anchoredAt"] == "2025-06-15T15:06:40Z"


def test_the_summary_leaves_out_what_a_hostile_document_garbles(world: World) -> None:
    credential = world.unsigned()
    credential["credentialSubject"]["achievement"]["alignment"] = "not a list"
    credential["credentialSubject"]["name"] = {"not": "text"}
    credential["issuer"]["name"] = 42
    summary = world.verifier().verify(Submission(credential)).credential
    assert summary["skills"] == []
    assert summary["learner"]["name"] is None
    assert summary["issuer"]["name"] is None
