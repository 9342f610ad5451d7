"""Shape checks for the verifier's "format" step: VC 2.0 + Open Badges 3.0 / CLR 2.0.

Signature checks prove a document is unchanged, not that it is a well-formed credential; a
verifier still has to tell the user *what* is wrong with a document it was handed. `check_format`
returns every issue found (it does not stop at the first) with a JSON-pointer-like path and a
stable code, so the API and the /verify page can list them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from node.credentials.model import CLR_CONTEXT, OB_CONTEXT, VC_V2_CONTEXT
from node.errors import InvalidInput

CredentialKind = Literal["OpenBadgeCredential", "ClrCredential"]

_OB_CONTEXT_PREFIX = "https://purl.imsglobal.org/spec/ob/v3p0/context"
_CLR_CONTEXT_PREFIX = "https://purl.imsglobal.org/spec/clr/v2p0/context"
_ABSOLUTE_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")
# XML Schema dateTimeStamp as VC 2.0 requires: a timezone is mandatory.
_DATETIME_STAMP = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True, slots=True)
class FormatIssue:
    path: str
    code: str
    message: str


def _types(node: Any) -> list[Any]:
    value = node.get("type") if isinstance(node, Mapping) else None
    return value if isinstance(value, list) else [value] if value is not None else []


def credential_kind(document: Mapping[str, Any]) -> CredentialKind:
    """`OpenBadgeCredential` (alias `AchievementCredential`) or `ClrCredential`; else raises."""
    types = _types(document)
    if "ClrCredential" in types:
        return "ClrCredential"
    if "OpenBadgeCredential" in types or "AchievementCredential" in types:
        return "OpenBadgeCredential"
    raise InvalidInput(
        "the document is neither an OpenBadgeCredential nor a ClrCredential",
        code="unsupported_credential_type",
        types=[str(t) for t in types],
    )


def parse_datetime_stamp(value: Any) -> datetime | None:
    """A timezone-qualified XSD dateTime as an aware datetime, or None if it is not one."""
    if not isinstance(value, str) or not _DATETIME_STAMP.match(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


class _Checker:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.issues: list[FormatIssue] = []

    def issue(self, path: str, code: str, message: str) -> None:
        self.issues.append(FormatIssue(self.prefix + path, code, message))

    def require(self, node: Mapping[str, Any], key: str, path: str) -> Any:
        if key not in node or node[key] in (None, "", []):
            self.issue(f"{path}/{key}", "missing_field", f"{key} is required")
            return None
        return node[key]

    def uri(self, value: Any, path: str) -> None:
        if not isinstance(value, str) or not _ABSOLUTE_URI.match(value):
            self.issue(path, "invalid_uri", "must be an absolute URI")

    def typed(self, node: Any, path: str, required_type: str) -> Mapping[str, Any] | None:
        if not isinstance(node, Mapping):
            self.issue(path, "invalid_type", "must be an object")
            return None
        if required_type not in _types(node):
            self.issue(f"{path}/type", "missing_type", f"type must include {required_type}")
        return node


def check_format(document: Any, *, _prefix: str = "") -> list[FormatIssue]:
    """Every VC 2.0 / OB 3.0 / CLR 2.0 shape problem of `document` (empty list = well formed)."""
    check = _Checker(_prefix)
    if not isinstance(document, Mapping):
        check.issue("", "invalid_type", "a credential is a JSON object")
        return check.issues
    _check_vc(check, document)
    try:
        kind = credential_kind(document)
    except InvalidInput as error:
        check.issue("/type", error.code, error.detail)
        return check.issues
    _KIND_CHECKS[kind](check, document)
    return check.issues


def _check_vc(check: _Checker, doc: Mapping[str, Any]) -> None:
    contexts = doc.get("@context")
    if not isinstance(contexts, list) or not contexts or contexts[0] != VC_V2_CONTEXT:
        check.issue("/@context", "invalid_context", f"@context must start with {VC_V2_CONTEXT}")
    if "id" in doc:
        check.uri(doc["id"], "/id")
    if "VerifiableCredential" not in _types(doc):
        check.issue("/type", "missing_type", "type must include VerifiableCredential")
    issuer = check.require(doc, "issuer", "")
    if isinstance(issuer, Mapping):
        check.uri(issuer.get("id"), "/issuer/id")
    elif issuer is not None:
        check.uri(issuer, "/issuer")
    if not isinstance(doc.get("credentialSubject"), Mapping | list) or not doc["credentialSubject"]:
        check.issue("/credentialSubject", "missing_field", "credentialSubject is required")
    _check_validity(check, doc)
    statuses = doc.get("credentialStatus", [])
    for index, entry in enumerate(statuses if isinstance(statuses, list) else [statuses]):
        _check_status_entry(check, entry, f"/credentialStatus/{index}")


def _check_validity(check: _Checker, doc: Mapping[str, Any]) -> None:
    moments: dict[str, datetime] = {}
    for key in ("validFrom", "validUntil"):
        if key in doc:
            parsed = parse_datetime_stamp(doc[key])
            if parsed is None:
                check.issue(f"/{key}", "invalid_datetime", "must be an XSD dateTime with timezone")
            else:
                moments[key] = parsed
    if (
        "validFrom" in moments
        and "validUntil" in moments
        and (moments["validUntil"] <= moments["validFrom"])
    ):
        check.issue("/validUntil", "invalid_validity", "validUntil must be after validFrom")


def _check_status_entry(check: _Checker, entry: Any, path: str) -> None:
    if not isinstance(entry, Mapping) or "type" not in entry:
        check.issue(path, "invalid_status_entry", "a status entry is an object with a type")
        return
    if "BitstringStatusListEntry" not in _types(entry):
        return  # other status mechanisms are allowed by VC 2.0; the verifier reports them
    if entry.get("statusPurpose") not in ("revocation", "suspension", "refresh", "message"):
        check.issue(f"{path}/statusPurpose", "invalid_status_entry", "unknown statusPurpose")
    index = entry.get("statusListIndex")
    if not isinstance(index, str) or not index.isdigit():
        check.issue(f"{path}/statusListIndex", "invalid_status_entry", "must be a digit string")
    check.uri(entry.get("statusListCredential"), f"{path}/statusListCredential")
    _check_status_size(check, entry, path)


def _check_status_size(check: _Checker, entry: Mapping[str, Any], path: str) -> None:
    """Bitstring Status List: `statusSize` is a positive integer; above 1, `statusMessage` lists
    one {status, message} per possible value."""
    size = entry.get("statusSize", 1)
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 8:
        check.issue(f"{path}/statusSize", "invalid_status_entry", "must be an integer 1..8")
        return
    messages = entry.get("statusMessage")
    if size == 1 and messages is None:
        return
    if (
        not isinstance(messages, list)
        or len(messages) != 2**size
        or not all(
            isinstance(m, Mapping) and isinstance(m.get("status"), str) and "message" in m
            for m in messages
        )
    ):
        check.issue(
            f"{path}/statusMessage",
            "invalid_status_entry",
            f"must list {2**size} {{status, message}} objects for statusSize {size}",
        )


def _has_context(doc: Mapping[str, Any], prefix: str) -> bool:
    contexts = doc.get("@context")
    return isinstance(contexts, list) and any(
        isinstance(c, str) and c.startswith(prefix) for c in contexts
    )


def _check_profile(check: _Checker, doc: Mapping[str, Any]) -> None:
    issuer = doc.get("issuer")
    if isinstance(issuer, Mapping):
        check.typed(issuer, "/issuer", "Profile")
    else:
        check.issue("/issuer", "invalid_type", "the issuer must be a Profile object")
    check.require(doc, "name", "")
    check.require(doc, "validFrom", "")


def _check_open_badge(check: _Checker, doc: Mapping[str, Any]) -> None:
    if not _has_context(doc, _OB_CONTEXT_PREFIX):
        check.issue("/@context", "invalid_context", f"@context must include {OB_CONTEXT}")
    _check_profile(check, doc)
    subject = check.typed(doc.get("credentialSubject"), "/credentialSubject", "AchievementSubject")
    if subject is None:
        return
    achievement = check.typed(
        subject.get("achievement"), "/credentialSubject/achievement", "Achievement"
    )
    if achievement is None:
        return
    path = "/credentialSubject/achievement"
    for key in ("id", "name", "description", "criteria"):
        check.require(achievement, key, path)
    if "id" in achievement:
        check.uri(achievement["id"], f"{path}/id")
    alignments = achievement.get("alignment", [])
    if not isinstance(alignments, list):
        check.issue(f"{path}/alignment", "invalid_type", "alignment must be a list")
        alignments = []
    for index, alignment in enumerate(alignments):
        aligned = check.typed(alignment, f"{path}/alignment/{index}", "Alignment")
        if aligned is not None:
            check.require(aligned, "targetName", f"{path}/alignment/{index}")
            check.uri(aligned.get("targetUrl"), f"{path}/alignment/{index}/targetUrl")


def _check_clr(check: _Checker, doc: Mapping[str, Any]) -> None:
    if not _has_context(doc, _CLR_CONTEXT_PREFIX):
        check.issue("/@context", "invalid_context", f"@context must include {CLR_CONTEXT}")
    _check_profile(check, doc)
    subject = check.typed(doc.get("credentialSubject"), "/credentialSubject", "ClrSubject")
    if subject is None:
        return
    bundled = subject.get("verifiableCredential")
    if not isinstance(bundled, list) or not bundled:
        check.issue(
            "/credentialSubject/verifiableCredential",
            "missing_field",
            "a CLR bundles at least one credential",
        )
        return
    for index, credential in enumerate(bundled):
        check.issues.extend(
            check_format(
                credential,
                _prefix=f"{check.prefix}/credentialSubject/verifiableCredential/{index}",
            )
        )


_KIND_CHECKS: dict[CredentialKind, Callable[[_Checker, Mapping[str, Any]], None]] = {
    "OpenBadgeCredential": _check_open_badge,
    "ClrCredential": _check_clr,
}
