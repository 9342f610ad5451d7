"""Builders for unsigned Open Badges 3.0 and CLR 2.0 credentials.

They turn validated `inputs.CredentialInput` into JSON-LD that uses only terms the bundled
contexts define, so the result always canonicalizes in safe mode and signs, and that validates
against 1EdTech's OB 3.0 JSON Schema (`tests/interop/test_ob3_schema.py`). The service adds the
`credentialStatus` entry (it owns status-list allocation) and signs with `proofs.sign`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from node.credentials.inputs import (
    AchievementInput,
    AlignmentInput,
    CredentialInput,
    EvidenceInput,
    IdentifierInput,
    IdentityType,
    ImageInput,
    IssuerProfile,
    LearnerInput,
    ResultInput,
)
from node.credentials.proofs import xsd_datetime
from node.errors import InvalidInput

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
#: Defines `1EdTechJsonSchemaValidator2019`, the `credentialSchema` type (as in the spec's
#: examples); without it that type would be an undefined term in safe mode.
OB_EXTENSIONS_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
CLR_CONTEXT = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
OB_CONTEXTS = [VC_V2_CONTEXT, OB_CONTEXT, OB_EXTENSIONS_CONTEXT]
CLR_CONTEXTS = [VC_V2_CONTEXT, CLR_CONTEXT, OB_CONTEXT, OB_EXTENSIONS_CONTEXT]
SCHEMA_VALIDATOR = "1EdTechJsonSchemaValidator2019"
OB_SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
CLR_SCHEMA = (
    "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json"
)


def new_urn_uuid() -> str:
    """A random credential/achievement id (also what makes credential hashes unguessable): a
    version 4 UUID URN, as `uuid.uuid4().urn` gives, written without a `UUID` object (two per
    badge in requests of thousands)."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _compact(entries: Mapping[str, Any]) -> dict[str, Any]:
    """Drop absent optional fields: JSON-LD null would be dropped anyway, and JCS would not."""
    # None or an empty list or tuple, without comparing every value with all three.
    return {
        key: value
        for key, value in entries.items()
        if value is not None and (value or not isinstance(value, list | tuple))
    }


def identity_hash(value: str, salt: str | None) -> str:
    """OB 3.0 `identityHash` for a hashed identifier: `sha256$` + hex(sha256(value + salt))."""
    return "sha256$" + hashlib.sha256((value + (salt or "")).encode("utf-8")).hexdigest()


def identity_object(identifier: IdentifierInput) -> dict[str, Any]:
    """An OB 3.0 `IdentityObject`, salted and hashed unless the caller asked for plain text."""
    return _identity(str(identifier.identity_type), identifier.value, identifier.hashed)


def _identity(identity_type: str, value: str, hashed: bool) -> dict[str, Any]:
    if not hashed:
        return {
            "type": "IdentityObject",
            "identityType": identity_type,
            "hashed": False,
            "identityHash": value,
        }
    salt = secrets.token_hex(16)
    return {
        "type": "IdentityObject",
        "identityType": identity_type,
        "hashed": True,
        "identityHash": identity_hash(value, salt),
        "salt": salt,
    }


def image(data: ImageInput | None) -> dict[str, Any] | None:
    """An OB 3.0 `Image` object (the schema wants an object with `type: "Image"`)."""
    if data is None:
        return None
    return _compact({"id": data.id, "type": "Image", "caption": data.caption})


def credential_schema(schema_id: str) -> list[dict[str, str]]:
    """`credentialSchema`: the 1EdTech JSON Schema a consumer validates the credential with."""
    return [{"id": schema_id, "type": SCHEMA_VALIDATOR}]


def issuer_profile(issuer: IssuerProfile) -> dict[str, Any]:
    return _compact(
        {
            "id": issuer.id,
            "type": ["Profile"],
            "name": issuer.name,
            "url": issuer.url,
            "email": issuer.email,
            "description": issuer.description,
            "image": image(issuer.image),
        }
    )


def _alignment(alignment: AlignmentInput) -> dict[str, Any]:
    return _compact(
        {
            "type": ["Alignment"],
            "targetName": alignment.target_name,
            "targetUrl": alignment.target_url,
            "targetType": alignment.target_type.value if alignment.target_type else None,
            "targetCode": alignment.target_code,
            "targetFramework": alignment.target_framework,
            "targetDescription": alignment.target_description,
        }
    )


def achievement(data: AchievementInput, creator: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return _compact(
        {
            "id": data.id or new_urn_uuid(),
            "type": ["Achievement"],
            "achievementType": str(data.achievement_type),
            "name": data.name,
            "description": data.description,
            "criteria": _compact({"id": data.criteria_id, "narrative": data.criteria_narrative}),
            "alignment": [_alignment(a) for a in data.alignments],
            "fieldOfStudy": data.field_of_study,
            "creditsAvailable": data.credits_available,
            "tag": list(data.tags),
            "image": image(data.image),
            "creator": dict(creator) if creator else None,
        }
    )


def _result(result: ResultInput) -> dict[str, Any]:
    return _compact(
        {
            "type": ["Result"],
            "value": result.value,
            "status": result.status.value if result.status else None,
            "achievedLevel": result.achieved_level,
            "resultDescription": result.result_description,
        }
    )


def _evidence(evidence: EvidenceInput) -> dict[str, Any]:
    return _compact(
        {
            "id": evidence.id,
            "type": ["Evidence"],
            "name": evidence.name,
            "description": evidence.description,
            "narrative": evidence.narrative,
            "genre": evidence.genre,
        }
    )


def learner_identifiers(learner: LearnerInput) -> list[dict[str, Any]]:
    """The learner's `identifier` list: the email (hashed unless asked otherwise) and others."""
    identifiers = [identity_object(identifier) for identifier in learner.identifiers]
    if learner.email is not None:
        # Validated already (an email address, at most 320 characters): not again per badge.
        email = _identity(str(IdentityType.EMAIL_ADDRESS), learner.email, learner.hash_email)
        identifiers.insert(0, email)
    return identifiers


def _validity(valid_from: datetime | None, valid_until: datetime | None) -> dict[str, str]:
    start = xsd_datetime(valid_from) if valid_from else _second(int(time.time()))
    if valid_until is None:
        return {"validFrom": start}
    return {"validFrom": start, "validUntil": xsd_datetime(valid_until)}


@functools.lru_cache(maxsize=1)
def _second(epoch_second: int) -> str:
    """The xsd:dateTime of one second: badges built in the same second (a request's thousands)
    format their `validFrom` once."""
    return xsd_datetime(datetime.fromtimestamp(epoch_second, UTC))


def build_open_badge(
    data: CredentialInput,
    issuer: IssuerProfile,
    *,
    credential_status: Sequence[Mapping[str, Any]] = (),
    credential_id: str | None = None,
    terms_of_use: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """An unsigned `OpenBadgeCredential` for `data`, issued by `issuer` (one status entry gives
    the single `credentialStatus` object OB 3.0 requires; several, only for tests of older
    credentials, an array).

    `terms_of_use`: VC `termsOfUse` entries, e.g. the registry's pointer to the consortium
    decision that accredits the issuer. Neither the VC 2.0 nor the OB 3.0 context defines a
    terms-of-use type, so an entry's `type` must be an absolute IRI (safe-mode JSON-LD refuses
    undefined terms).
    """
    profile = issuer_profile(issuer)
    subject = _compact(
        {
            "id": data.learner.id,
            "type": ["AchievementSubject"],
            "name": data.learner.name,
            "identifier": learner_identifiers(data.learner),
            "achievement": achievement(data.achievement, creator=profile),
            "result": [_result(r) for r in data.results],
            "role": data.role,
            "activityStartDate": _date(data.activity_start_date),
            "activityEndDate": _date(data.activity_end_date),
        }
    )
    return _compact(
        {
            "@context": list(OB_CONTEXTS),
            "id": credential_id or new_urn_uuid(),
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "name": data.name or data.achievement.name,
            "description": data.description,
            "issuer": profile,
            **_validity(data.valid_from, data.valid_until),
            "credentialSubject": subject,
            "evidence": [_evidence(e) for e in data.evidence],
            "credentialSchema": credential_schema(OB_SCHEMA),
            "credentialStatus": _status_value(credential_status),
            "termsOfUse": [dict(entry) for entry in terms_of_use],
        }
    )


def _date(value: date | None) -> str | None:
    """Activity dates as the XSD date-times OB 3.0 defines them as (a date is 00:00 UTC)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return xsd_datetime(value)


def with_status(
    document: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """`document` with its `credentialStatus` (the service allocates entries after the checks)."""
    return _compact({**document, "credentialStatus": _status_value(entries)})


def _status_value(entries: Sequence[Mapping[str, Any]]) -> Any:
    """A single entry stays an object (the common VC form); several become an array."""
    values = [dict(entry) for entry in entries]
    return values[0] if len(values) == 1 else values


def build_clr(
    credentials: Sequence[Mapping[str, Any]],
    issuer: IssuerProfile,
    learner: LearnerInput,
    *,
    name: str,
    description: str | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    credential_status: Sequence[Mapping[str, Any]] = (),
    credential_id: str | None = None,
    terms_of_use: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """An unsigned CLR 2.0 `ClrCredential` bundling already *signed* OpenBadgeCredentials."""
    if not credentials:
        raise InvalidInput("a CLR bundles at least one credential", code="empty_clr")
    if any("proof" not in credential for credential in credentials):
        raise InvalidInput("a CLR bundles signed credentials only", code="unsigned_credential")
    if not name.strip():
        raise InvalidInput("a CLR needs a name", code="invalid_input")
    subject = _compact(
        {
            "id": learner.id,
            "type": ["ClrSubject"],
            "identifier": learner_identifiers(learner),
            "verifiableCredential": [dict(credential) for credential in credentials],
        }
    )
    return _compact(
        {
            "@context": list(CLR_CONTEXTS),
            "id": credential_id or new_urn_uuid(),
            "type": ["VerifiableCredential", "ClrCredential"],
            "name": name,
            "description": description,
            "issuer": issuer_profile(issuer),
            **_validity(valid_from, valid_until),
            "credentialSubject": subject,
            "credentialSchema": credential_schema(CLR_SCHEMA),
            "credentialStatus": _status_value(credential_status),
            "termsOfUse": [dict(entry) for entry in terms_of_use],
        }
    )
