"""OB 3.0 / CLR 2.0 builders: valid input gives credentials that pass format checks and sign."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from node.credentials.canonical import canonize
from node.credentials.cohort import cohort_inputs
from node.credentials.format_check import check_format, credential_kind
from node.credentials.inputs import (
    AchievementInput,
    AchievementType,
    AlignmentInput,
    CredentialInput,
    EvidenceInput,
    ImageInput,
    IssuerProfile,
    LearnerInput,
    ResultInput,
)
from node.credentials.model import CLR_CONTEXTS, OB_CONTEXTS, build_clr, build_open_badge
from node.credentials.proofs import sign, verify
from node.credentials.status_list import status_list_entry
from node.errors import InvalidInput

ISSUER = IssuerProfile(id="did:ethr:0x7a69:0xabc", name="Uni", url="https://uni.example")
KEY = Ed25519PrivateKey.from_private_bytes(b"\x01" * 32)
VALID_FROM = datetime(2025, 6, 1, tzinfo=UTC)


def _input(**changes: Any) -> CredentialInput:
    base: dict[str, Any] = {
        "learner": {"name": "Ann", "email": "ann@example.org"},
        "achievement": {
            "achievement_type": "Degree",
            "name": "BSc Physics",
            "description": "Bachelor of Science",
            "criteria_narrative": "180 ECTS",
            "alignments": [
                {
                    "target_name": "Physics",
                    "target_url": "https://ctdl.example/p",
                    "target_type": "ceasn:Competency",
                    "target_framework": "ESCO",
                }
            ],
        },
        "results": [{"value": "First class", "status": "Completed"}],
        "evidence": [{"narrative": "Thesis", "id": "https://uni.example/thesis/1"}],
        "valid_from": VALID_FROM,
    }
    return CredentialInput.model_validate({**base, **changes})


def test_open_badge_has_the_ob3_shape_and_canonicalizes_in_safe_mode() -> None:
    credential = build_open_badge(_input(), ISSUER)
    assert credential["@context"] == OB_CONTEXTS
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["id"].startswith("urn:uuid:")
    assert credential["issuer"]["id"] == ISSUER.id
    assert credential["validFrom"] == "2025-06-01T00:00:00Z"
    achievement = credential["credentialSubject"]["achievement"]
    assert achievement["achievementType"] == "Degree"
    assert achievement["alignment"][0]["targetType"] == "ceasn:Competency"
    assert check_format(credential) == []
    canonize(credential)


def test_emails_are_salted_and_hashed_identity_objects() -> None:
    credential = build_open_badge(_input(), ISSUER)
    [identity] = credential["credentialSubject"]["identifier"]
    assert identity["identityType"] == "emailAddress" and identity["hashed"] is True
    salted = ("ann@example.org" + identity["salt"]).encode()
    assert identity["identityHash"] == "sha256$" + hashlib.sha256(salted).hexdigest()
    assert "ann@example.org" not in str(credential)


def test_each_credential_gets_a_fresh_random_id() -> None:
    assert build_open_badge(_input(), ISSUER)["id"] != build_open_badge(_input(), ISSUER)["id"]


def test_employment_records_use_the_ext_type_with_role_and_period_as_date_times() -> None:
    """OB 3.0 activity dates are date-times: a plain date (what older clients send) is 00:00 UTC;
    a date-time keeps its instant, written in UTC."""
    data = _input(
        achievement={
            "achievement_type": AchievementType.EMPLOYMENT,
            "name": "Engineer",
            "description": "Employment",
            "criteria_narrative": "Employed",
        },
        role="Senior engineer",
        activity_start_date="2021-01-01",
        activity_end_date="2024-12-31T17:30:00+02:00",
    )
    credential = build_open_badge(data, ISSUER)
    subject = credential["credentialSubject"]
    assert subject["achievement"]["achievementType"] == "ext:EmploymentRecord"
    assert subject["role"] == "Senior engineer"
    assert (subject["activityStartDate"], subject["activityEndDate"]) == (
        "2021-01-01T00:00:00Z",
        "2024-12-31T15:30:00Z",
    )
    canonize(credential)


def test_status_entries_are_embedded_as_given() -> None:
    url = "https://node.example/v1/status-lists/0xabc-0-revocation"
    entry = status_list_entry(url, 3, "revocation")
    credential = build_open_badge(_input(), ISSUER, credential_status=[entry])
    assert credential["credentialStatus"] == entry
    assert check_format(credential) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"learner": {"name": "Nobody identifiable"}},
        {"learner": {"email": "not-an-email"}},
        {"learner": {"id": "relative-id"}},
        {"achievement": {"name": "X", "description": "Y"}},
        {
            "achievement": {
                "name": "X",
                "description": "Y",
                "criteria_narrative": "Z",
                "achievement_type": "MadeUp",
            }
        },
        {"valid_until": datetime(2020, 1, 1, tzinfo=UTC)},
        {"valid_from": datetime(2025, 1, 1)},
        {"unexpected": "field"},
    ],
    ids=[
        "unidentified learner",
        "bad email",
        "relative id",
        "no criteria",
        "unknown type",
        "expires before valid",
        "naive datetime",
        "unknown field",
    ],
)
def test_bad_input_is_rejected_before_any_json_ld_is_built(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _input(**changes)


def test_clr_bundles_signed_badges_and_signs_as_a_whole() -> None:
    badges = [sign(build_open_badge(_input(), ISSUER), KEY, f"{ISSUER.id}#k") for _ in range(2)]
    learner = LearnerInput(id="did:key:z6MkLearner")
    clr = build_clr(badges, ISSUER, learner, name="Transcript", valid_from=VALID_FROM)
    assert clr["@context"] == CLR_CONTEXTS
    assert credential_kind(clr) == "ClrCredential"
    assert clr["credentialSubject"]["verifiableCredential"] == badges
    assert check_format(clr) == []
    verify(sign(clr, KEY, f"{ISSUER.id}#k"), KEY.public_key())


def test_clr_refuses_unsigned_or_no_credentials() -> None:
    learner = LearnerInput(id="did:key:z6MkLearner")
    with pytest.raises(InvalidInput) as raised:
        build_clr([build_open_badge(_input(), ISSUER)], ISSUER, learner, name="T")
    assert raised.value.code == "unsigned_credential"
    with pytest.raises(InvalidInput) as raised:
        build_clr([], ISSUER, learner, name="T")
    assert raised.value.code == "empty_clr"


def test_input_models_are_reusable_from_plain_json() -> None:
    assert isinstance(_input().achievement, AchievementInput)
    assert AlignmentInput(target_name="a", target_url="https://x").target_type is None
    assert ResultInput(status="Completed").status == "Completed"
    assert EvidenceInput(narrative="n").id is None


def test_ob3_identifier_types_extensions_and_the_old_student_id_spelling() -> None:
    learner = LearnerInput.model_validate(
        {
            "identifiers": [
                {"identity_type": "studentId", "value": "S-1"},
                {"identity_type": "ltiUserId", "value": "u-2", "hashed": False},
                {"identity_type": "ext:BadgeNumber", "value": "77", "hashed": False},
            ]
        }
    )
    data = _input(learner=learner.model_dump())
    identifiers = build_open_badge(data, ISSUER)["credentialSubject"]["identifier"]
    types = [i["identityType"] for i in identifiers]
    assert types == ["sisSourcedId", "ltiUserId", "ext:BadgeNumber"]
    with pytest.raises(ValidationError):
        LearnerInput.model_validate({"identifiers": [{"identity_type": "shoeSize", "value": "9"}]})


def test_a_cohort_student_id_column_becomes_an_sis_sourced_id() -> None:
    template = {"achievement": {"name": "N", "description": "D", "criteria_narrative": "C"}}
    [data] = cohort_inputs(template, "name,student_id,result_status\nAda,S-9,Withdrawn\n")
    assert data.learner.identifiers[0].identity_type == "sisSourcedId"
    assert data.results[0].status == "Withdrew"  # OB 3.0's spelling of the older "Withdrawn"


def test_achievement_and_issuer_images_are_ob3_image_objects() -> None:
    logo = ImageInput(id="https://uni.example/logo.png", caption="Uni")
    issuer = ISSUER.model_copy(update={"image": logo})
    achievement = {
        "name": "N",
        "description": "D",
        "criteria_narrative": "C",
        "image": {"id": "data:image/png;base64,iVBORw0KGgo="},
    }
    credential = build_open_badge(_input(achievement=achievement), issuer)
    assert credential["issuer"]["image"] == {
        "id": "https://uni.example/logo.png",
        "type": "Image",
        "caption": "Uni",
    }
    image = credential["credentialSubject"]["achievement"]["image"]
    assert image == {"id": "data:image/png;base64,iVBORw0KGgo=", "type": "Image"}
    canonize(credential)
    for bad in ("javascript:alert(1)", "ftp://x/y.png", "data:text/html,<b>"):
        with pytest.raises(ValidationError):
            ImageInput(id=bad)


def test_credentials_name_the_1edtech_schema_and_its_context() -> None:
    credential = build_open_badge(_input(), ISSUER)
    assert credential["credentialSchema"] == [
        {
            "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
            "ob_v3p0_achievementcredential_schema.json",
            "type": "1EdTechJsonSchemaValidator2019",
        }
    ]
    assert credential["@context"][-1] == "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
