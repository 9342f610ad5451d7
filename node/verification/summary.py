"""What a credential says, reduced to what a person reading a verification result wants to see.

The summary is built from an *untrusted* document (the checks say whether to believe it), so it
reads defensively: any field may be missing or of the wrong JSON type, and then it is left out
rather than failing the verification. Texts are cut at `MAX_TEXT` characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from node.did.document import iso_time

MAX_TEXT = 500
MAX_ITEMS = 50


def summarize(credential: Mapping[str, Any], anchored_at: int | None) -> dict[str, Any]:
    """Achievement, issuer, learner, skills and dates of an OB 3.0 / CLR 2.0 credential."""
    issuer = credential.get("issuer")
    subject = _first(credential.get("credentialSubject"))
    achievement = _mapping(subject.get("achievement"))
    summary: dict[str, Any] = {
        "id": _text(credential.get("id")),
        "type": _most_specific_type(credential.get("type")),
        "name": _text(credential.get("name")),
        "description": _text(credential.get("description")),
        "issuer": {
            "name": _text(issuer.get("name")) if isinstance(issuer, Mapping) else None,
            "id": _text(issuer.get("id") if isinstance(issuer, Mapping) else issuer),
        },
        "learner": _learner(subject),
        "achievement": _achievement(achievement) if achievement else None,
        "skills": _skills(achievement),
        "validFrom": _text(credential.get("validFrom")),
        "validUntil": _text(credential.get("validUntil")),
        "anchoredAt": iso_time(anchored_at) if anchored_at is not None else None,
    }
    embedded = subject.get("verifiableCredential")
    if isinstance(embedded, list):
        summary["achievements"] = [
            name
            for name in (_embedded_name(item) for item in embedded[:MAX_ITEMS])
            if name is not None
        ]
    return summary


def _achievement(achievement: Mapping[str, Any]) -> dict[str, Any]:
    criteria = _mapping(achievement.get("criteria"))
    return {
        "name": _text(achievement.get("name")),
        "type": _text(achievement.get("achievementType")),
        "description": _text(achievement.get("description")),
        "criteria": _text(criteria.get("narrative")),
    }


def _skills(achievement: Mapping[str, Any]) -> list[dict[str, Any]]:
    alignments = achievement.get("alignment")
    if not isinstance(alignments, list):
        return []
    skills = []
    for alignment in alignments[:MAX_ITEMS]:
        if not isinstance(alignment, Mapping) or _text(alignment.get("targetName")) is None:
            continue
        skills.append(
            {
                "name": _text(alignment.get("targetName")),
                "url": _text(alignment.get("targetUrl")),
                "code": _text(alignment.get("targetCode")),
                "framework": _text(alignment.get("targetFramework")),
                "type": _text(alignment.get("targetType")),
            }
        )
    return skills


def _learner(subject: Mapping[str, Any]) -> dict[str, Any]:
    """The learner's name if the credential gives one, else how they are identified."""
    identifiers = subject.get("identifier")
    kinds = []
    if isinstance(identifiers, list):
        for identifier in identifiers[:MAX_ITEMS]:
            if isinstance(identifier, Mapping) and _text(identifier.get("identityType")):
                hashed = " (hashed)" if identifier.get("hashed") is True else ""
                kinds.append(f"{_text(identifier.get('identityType'))}{hashed}")
    return {
        "name": _text(subject.get("name")),
        "id": _text(subject.get("id")),
        "identifiers": kinds,
    }


def _embedded_name(item: Any) -> str | None:
    if not isinstance(item, Mapping):
        return None
    achievement = _mapping(_first(item.get("credentialSubject")).get("achievement"))
    return _text(achievement.get("name")) or _text(item.get("name"))


def _most_specific_type(types: Any) -> str | None:
    listed = types if isinstance(types, list) else [types]
    specific = [t for t in listed if isinstance(t, str) and t != "VerifiableCredential"]
    return _text(specific[-1]) if specific else None


def _first(value: Any) -> Mapping[str, Any]:
    if isinstance(value, list):
        value = value[0] if value else None
    return _mapping(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value[:MAX_TEXT]
    return None
