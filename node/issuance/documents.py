"""Checks and small conversions around the documents the issuance service signs."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from node.credentials import jcs
from node.credentials.canonical import NON_PORTABLE_CHAR, ensure_portable
from node.credentials.format_check import check_format, credential_kind
from node.errors import InvalidInput
from node.store.models import Institution

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
#: Longest credential id accepted from a caller.
MAX_ID_LENGTH = 512


def submitted(credential: Mapping[str, Any], institution: Institution) -> dict[str, Any]:
    """A caller-written credential checked for `issue_document` (a copy, with an id)."""
    if not isinstance(credential, Mapping):
        raise InvalidInput("the credential must be a JSON object", code="not_a_credential")
    context = credential.get("@context")
    contexts = context if isinstance(context, list) else [context]
    if not contexts or contexts[0] != VC_V2_CONTEXT:
        raise InvalidInput(
            f"a VC 2.0 credential's @context starts with {VC_V2_CONTEXT}", code="invalid_context"
        )
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if issuer_id != institution.did:
        raise InvalidInput(
            f"the credential's issuer must be the calling institution, {institution.did}",
            code="issuer_mismatch",
        )
    for member in ("proof", "credentialStatus"):
        if member in credential:
            raise InvalidInput(
                f"the credential already has a {member}; the node adds its own",
                code=f"{member.lower()}_not_allowed",
            )
    credential_kind(credential)
    document = dict(credential)
    document.setdefault("id", f"urn:uuid:{uuid.uuid4()}")
    if not isinstance(document["id"], str) or len(document["id"]) > MAX_ID_LENGTH:
        raise InvalidInput("the credential id must be a string URI", code="invalid_credential_id")
    ensure_portable(document)  # before any status entry is spent on it
    issues = check_format(document)
    if issues:
        first = issues[0]
        raise InvalidInput(
            f"not a well-formed credential: {first.path or '/'}: {first.message}", code=first.code
        )
    return document


def ensure_portable_at(document: dict[str, Any], position: int) -> None:
    """Refuse what jsonld.js and pyld would canonicalize differently, naming the credential."""
    try:
        ensure_portable(document)
    except InvalidInput as error:
        raise InvalidInput(
            f"credential {position}: {error.detail}",
            code=error.code,
            credential=position,
            **error.extra,
        ) from None


#: The characters `ensure_portable` refuses in a string (`NON_PORTABLE_CHAR`) are escaped in
#: canonical JSON text when they are control characters (`\b`, `\f`, `\u00XX`:
#: `_ESCAPED_NOT_PORTABLE`, which also matches an escaped backslash before b, f or u: the exact
#: check then decides).
_ESCAPED_NOT_PORTABLE = re.compile(r"\\[bfu]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def portable_members(document: dict[str, Any], position: int) -> jcs.Members:
    """The document's canonical members (canonicalized once for signing, storing and hashing),
    after the check `ensure_portable_at` makes. Their text shows most documents portable at a
    glance, several times faster than walking them: no number and none of the characters that
    check refuses. Any other document takes the exact check."""
    try:
        members = jcs.canonical_members(document)
    except InvalidInput:
        ensure_portable_at(document, position)  # its refusal first, as when it ran first
        raise
    if members.numbers or not _plainly_portable(
        "".join(members.texts), "".join(members.texts.values())
    ):
        ensure_portable_at(document, position)
    return members


def _plainly_portable(keys: str, canonical: str) -> bool:
    """Whether neither raw `keys` nor the strings in `canonical` JSON text can hold a character
    `ensure_portable` refuses (substring tests first: one regex over the text costs more)."""
    return not (
        NON_PORTABLE_CHAR.search(keys)
        or ("\\" in canonical and _ESCAPED_NOT_PORTABLE.search(canonical))
        or "\x7f" in canonical
        or (not canonical.isascii() and _SURROGATE.search(canonical))
    )


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
