"""What an issuer supplies to issue an Open Badges 3.0 credential (API and CSV importer share it).

The models validate user input *before* any JSON-LD is built, so a bad request fails with a
field-level pydantic error instead of an `undefined_term` deep inside canonicalization. Field
names are snake_case Python; the builders in `model.py` map them to OB 3.0 terms.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

_ABSOLUTE_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EXTENSION = re.compile(r"^ext:[A-Za-z0-9._-]+$")
#: An image is a web URL or an embedded `data:image/...` URI (OB 3.0 `Image.id`).
_IMAGE_URI = re.compile(r"^(https?://\S+|data:image/[A-Za-z0-9.+-]+(;[^,\s]*)?,\S*)$")
#: Largest embedded image accepted (a data: URI travels inside every copy of the credential).
MAX_IMAGE_URI = 256_000

#: The instants a credential can state (in UTC, to the second, as xsd:dateTime with 4-digit year).
MIN_INSTANT = datetime(1, 1, 1, tzinfo=UTC)
MAX_INSTANT = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def _absolute_uri(value: str | None) -> str | None:
    if value is not None and not _ABSOLUTE_URI.match(value):
        raise ValueError("must be an absolute URI (e.g. https://..., did:..., urn:...)")
    return value


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class AchievementType(StrEnum):
    """OB 3.0 achievementType vocabulary (subset) plus our employment extension."""

    ACHIEVEMENT = "Achievement"
    ASSESSMENT = "Assessment"
    AWARD = "Award"
    BADGE = "Badge"
    BACHELOR_DEGREE = "BachelorDegree"
    CERTIFICATE = "Certificate"
    CERTIFICATE_OF_COMPLETION = "CertificateOfCompletion"
    CERTIFICATION = "Certification"
    COMPETENCY = "Competency"
    COURSE = "Course"
    DEGREE = "Degree"
    DIPLOMA = "Diploma"
    DOCTORAL_DEGREE = "DoctoralDegree"
    LEARNING_PROGRAM = "LearningProgram"
    LICENSE = "License"
    MASTER_DEGREE = "MasterDegree"
    MEMBERSHIP = "Membership"
    MICRO_CREDENTIAL = "MicroCredential"
    #: OB 3.0 has no employment type; extensions must use the `ext:` prefix.
    EMPLOYMENT = "ext:EmploymentRecord"


class AlignmentTargetType(StrEnum):
    CEASN_COMPETENCY = "ceasn:Competency"
    CETERMS_CREDENTIAL = "ceterms:Credential"
    CF_ITEM = "CFItem"
    CF_RUBRIC = "CFRubric"
    CF_RUBRIC_CRITERION = "CFRubricCriterion"
    CF_RUBRIC_CRITERION_LEVEL = "CFRubricCriterionLevel"
    CTDL = "CTDL"


class ResultStatus(StrEnum):
    """OB 3.0 ResultStatusType."""

    COMPLETED = "Completed"
    ENROLLED = "Enrolled"
    FAILED = "Failed"
    IN_PROGRESS = "InProgress"
    ON_HOLD = "OnHold"
    PROVISIONAL = "Provisional"
    WITHDREW = "Withdrew"


#: Spellings earlier versions of the node accepted, mapped to the OB 3.0 term.
_LEGACY_RESULT_STATUS = {"Withdrawn": ResultStatus.WITHDREW}


class IdentityType(StrEnum):
    """OB 3.0 IdentifierTypeEnum (an `ext:` name extends it)."""

    NAME = "name"
    SOURCED_ID = "sourcedId"
    SYSTEM_ID = "systemId"
    PRODUCT_ID = "productId"
    USER_NAME = "userName"
    ACCOUNT_ID = "accountId"
    EMAIL_ADDRESS = "emailAddress"
    NATIONAL_IDENTITY_NUMBER = "nationalIdentityNumber"
    ISBN = "isbn"
    ISSN = "issn"
    LIS_SOURCED_ID = "lisSourcedId"
    ONE_ROSTER_SOURCED_ID = "oneRosterSourcedId"
    SIS_SOURCED_ID = "sisSourcedId"
    LTI_CONTEXT_ID = "ltiContextId"
    LTI_DEPLOYMENT_ID = "ltiDeploymentId"
    LTI_TOOL_ID = "ltiToolId"
    LTI_PLATFORM_ID = "ltiPlatformId"
    LTI_USER_ID = "ltiUserId"
    IDENTIFIER = "identifier"


#: `studentId` is not an OB 3.0 identifier type; a student number is the SIS's sourced id.
_LEGACY_IDENTITY_TYPES = {"studentId": IdentityType.SIS_SOURCED_ID}


class IdentifierInput(_Input):
    """One OB 3.0 `IdentityObject`; hashed by default so the credential does not leak it."""

    identity_type: IdentityType | str = Field(
        description="an OB 3.0 identifier type (e.g. emailAddress, sisSourcedId) or 'ext:Name'"
    )
    value: str = Field(min_length=1, max_length=512)
    hashed: bool = True

    @field_validator("identity_type", mode="before")
    @classmethod
    def _known_or_extension(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = _LEGACY_IDENTITY_TYPES.get(value, value)
        if value in IdentityType.__members__.values():
            return IdentityType(value)
        if _EXTENSION.match(value):
            return value
        raise ValueError("must be an OB 3.0 identifier type or an 'ext:' extension")


class ImageInput(_Input):
    """An OB 3.0 `Image`: a URL or an embedded `data:image/...` URI, with an optional caption."""

    id: str = Field(max_length=MAX_IMAGE_URI, description="https URL or data:image/... URI")
    caption: str | None = Field(default=None, max_length=1000)

    @field_validator("id")
    @classmethod
    def _image_uri(cls, value: str) -> str:
        if not _IMAGE_URI.match(value):
            raise ValueError("must be an http(s) URL or a data:image/... URI")
        return value


class LearnerInput(_Input):
    """The credential subject. At least one of `id`, `email` or `identifiers` must identify them."""

    id: str | None = Field(default=None, description="DID or other URI of the learner")
    name: str | None = Field(default=None, max_length=512)
    email: str | None = Field(default=None, max_length=320)
    hash_email: bool = True
    identifiers: tuple[IdentifierInput, ...] = ()

    _check_id = field_validator("id")(_absolute_uri)

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError("is not an email address")
        return value

    @model_validator(mode="after")
    def _identified(self) -> Self:
        if self.id is None and self.email is None and not self.identifiers:
            raise ValueError("a learner needs an id, an email or an identifier")
        return self


class AlignmentInput(_Input):
    """Alignment of the achievement to a skill/competency framework entry (e.g. CTDL/CASE)."""

    target_name: str = Field(min_length=1, max_length=512)
    target_url: str
    target_type: AlignmentTargetType | None = None
    target_code: str | None = None
    target_framework: str | None = None
    target_description: str | None = None

    _check_url = field_validator("target_url")(_absolute_uri)


class AchievementInput(_Input):
    id: str | None = Field(default=None, description="URI of the achievement; urn:uuid if absent")
    achievement_type: AchievementType | str = AchievementType.ACHIEVEMENT
    name: str = Field(min_length=1, max_length=512)
    description: str = Field(min_length=1, max_length=10_000)
    criteria_narrative: str | None = Field(default=None, max_length=10_000)
    criteria_id: str | None = None
    alignments: tuple[AlignmentInput, ...] = ()
    field_of_study: str | None = None
    credits_available: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    tags: tuple[str, ...] = ()
    image: ImageInput | None = None

    _check_ids = field_validator("id", "criteria_id")(_absolute_uri)

    @field_validator("achievement_type")
    @classmethod
    def _known_or_extension(cls, value: str) -> str:
        if value in AchievementType.__members__.values() or _EXTENSION.match(value):
            return value
        raise ValueError("must be an OB 3.0 achievementType or an 'ext:' extension")

    @model_validator(mode="after")
    def _has_criteria(self) -> Self:
        if self.criteria_narrative is None and self.criteria_id is None:
            raise ValueError("an achievement needs criteria (narrative or id)")
        return self


class ResultInput(_Input):
    value: str | None = None
    status: ResultStatus | None = None
    achieved_level: str | None = None
    result_description: str | None = None

    _check_ids = field_validator("achieved_level", "result_description")(_absolute_uri)

    @field_validator("status", mode="before")
    @classmethod
    def _legacy_status(cls, value: Any) -> Any:
        return _LEGACY_RESULT_STATUS.get(value, value) if isinstance(value, str) else value


class EvidenceInput(_Input):
    id: str | None = None
    name: str | None = None
    description: str | None = None
    narrative: str | None = None
    genre: str | None = None

    _check_id = field_validator("id")(_absolute_uri)


class CredentialInput(_Input):
    """Everything issuance needs from the issuer for one OpenBadgeCredential."""

    learner: LearnerInput
    achievement: AchievementInput
    name: str | None = Field(default=None, max_length=512, description="defaults to achievement")
    description: str | None = None
    results: tuple[ResultInput, ...] = ()
    evidence: tuple[EvidenceInput, ...] = ()
    #: employment records: the position held and the period
    role: str | None = None
    #: a date-time with timezone, or a date (taken as 00:00 UTC); OB 3.0 wants date-times
    activity_start_date: AwareDatetime | date | None = None
    activity_end_date: AwareDatetime | date | None = None
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None

    @field_validator("activity_start_date", "activity_end_date")
    @classmethod
    def _as_datetime(cls, value: datetime | date | None) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return datetime(value.year, value.month, value.day, tzinfo=UTC)

    @field_validator("valid_from", "valid_until")
    @classmethod
    def _representable(cls, value: datetime | None) -> datetime | None:
        """Credentials state instants in UTC with a four-digit year: 0001-01-01T00:00:00+14:00
        or 9999-12-31T23:59:59-14:00 have no such form."""
        if value is None:
            return None
        try:
            utc = value.astimezone(UTC)
        except OverflowError:
            utc = None
        if utc is None or not MIN_INSTANT <= utc <= MAX_INSTANT:
            raise ValueError("must lie between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z")
        return value

    @model_validator(mode="after")
    def _ordered_dates(self) -> Self:
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        start, end = self.activity_start_date, self.activity_end_date
        if start and end and end < start:
            raise ValueError("activity_end_date must not precede activity_start_date")
        return self


class IssuerProfile(_Input):
    """The issuer as OB 3.0 `Profile`; `id` is the issuer's DID."""

    id: str
    name: str = Field(min_length=1, max_length=512)
    url: str | None = None
    email: str | None = None
    description: str | None = None
    image: ImageInput | None = None

    _check_ids = field_validator("id", "url")(_absolute_uri)
