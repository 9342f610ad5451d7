"""The verifier's format step: every shape problem is listed with a path and a code."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from node.credentials.format_check import FormatIssue, check_format, credential_kind
from node.credentials.inputs import CredentialInput, IssuerProfile
from node.credentials.model import build_open_badge
from node.errors import InvalidInput

ISSUER = IssuerProfile(id="did:ethr:0x7a69:0xabc", name="Uni")


def _badge() -> dict[str, Any]:
    data = CredentialInput.model_validate(
        {
            "learner": {"id": "did:key:z6Mk1"},
            "achievement": {"name": "A", "description": "D", "criteria_narrative": "C"},
            "valid_from": datetime(2025, 1, 1, tzinfo=UTC),
        }
    )
    return build_open_badge(data, ISSUER)


def _codes(document: Any) -> set[tuple[str, str]]:
    return {(issue.path, issue.code) for issue in check_format(document)}


def test_a_built_badge_is_well_formed() -> None:
    assert check_format(_badge()) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"@context": ["https://www.w3.org/2018/credentials/v1"]},
            ("/@context", "invalid_context"),
        ),
        ({"validFrom": "2025-01-01T00:00:00"}, ("/validFrom", "invalid_datetime")),
        ({"validFrom": "yesterday"}, ("/validFrom", "invalid_datetime")),
        ({"validUntil": "2024-01-01T00:00:00Z"}, ("/validUntil", "invalid_validity")),
        ({"issuer": "did:ex:1"}, ("/issuer", "invalid_type")),
        ({"issuer": {"type": ["Profile"]}}, ("/issuer/id", "invalid_uri")),
        ({"id": "not a uri"}, ("/id", "invalid_uri")),
        ({"name": ""}, ("/name", "missing_field")),
        (
            {
                "credentialStatus": {
                    "type": "BitstringStatusListEntry",
                    "statusPurpose": "revocation",
                    "statusListIndex": 3,
                    "statusListCredential": "https://x",
                }
            },
            ("/credentialStatus/0/statusListIndex", "invalid_status_entry"),
        ),
    ],
)
def test_vc_level_problems_are_reported(change: dict[str, Any], expected: tuple[str, str]) -> None:
    assert expected in _codes({**_badge(), **change})


def test_missing_achievement_fields_are_each_reported() -> None:
    badge = _badge()
    badge["credentialSubject"]["achievement"] = {"type": ["Achievement"]}
    issues = _codes(badge)
    for key in ("id", "name", "description", "criteria"):
        assert (f"/credentialSubject/achievement/{key}", "missing_field") in issues


def test_nested_credentials_of_a_clr_are_checked_with_their_path() -> None:
    broken = {**_badge(), "validFrom": "nope"}
    clr = {
        **_badge(),
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
        ],
        "type": ["VerifiableCredential", "ClrCredential"],
        "credentialSubject": {"type": ["ClrSubject"], "verifiableCredential": [broken]},
    }
    assert check_format(clr) == [
        FormatIssue(
            "/credentialSubject/verifiableCredential/0/validFrom",
            "invalid_datetime",
            "must be an XSD dateTime with timezone",
        )
    ]


def test_credential_kind_names_the_supported_kinds_or_refuses() -> None:
    assert credential_kind({"type": ["VerifiableCredential", "AchievementCredential"]}) == (
        "OpenBadgeCredential"
    )
    with pytest.raises(InvalidInput) as raised:
        credential_kind({"type": ["VerifiableCredential"]})
    assert raised.value.code == "unsupported_credential_type"
    assert ("/type", "unsupported_credential_type") in _codes({"type": "VerifiableCredential"})


def test_non_objects_are_not_credentials() -> None:
    assert _codes(["not", "a", "credential"]) == {("", "invalid_type")}


def test_hostile_shapes_are_format_issues_not_crashes() -> None:
    """Found by fuzzing the verifier: a string where a list belongs is one clear issue."""
    from node.credentials.format_check import check_format

    document = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "credentialSubject": {"achievement": {"alignment": "nope"}},
    }
    issues = check_format(document)
    assert any(i.path.endswith("/alignment") and i.code == "invalid_type" for i in issues)
    assert not any("/alignment/" in i.path for i in issues)
