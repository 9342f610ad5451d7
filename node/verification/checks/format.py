"""The `format` check: the VC 2.0 / Open Badges 3.0 / CLR 2.0 shape of the document.

Open Badges 3.0 was first published on VC Data Model 1.1 (`https://www.w3.org/2018/credentials/v1`,
`issuanceDate` / `expirationDate`), and badges issued then (often with `Ed25519Signature2020`
proofs) are still around: they are checked with the same rules, read in VC 2.0 terms
(`as_vc2`), and reported as VC 1.1 documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from node.credentials.format_check import VC_V2_CONTEXT, check_format
from node.verification.report import (
    Check,
    failed,
    passed,
)

#: Format issues spelled out in one check's detail; the rest are counted.
MAX_LISTED_ISSUES = 5
VC_V1_CONTEXT = "https://www.w3.org/2018/credentials/v1"
_V1_DATES = {"issuanceDate": "validFrom", "expirationDate": "validUntil"}


def is_vc1(credential: Mapping[str, Any]) -> bool:
    context = credential.get("@context")
    return isinstance(context, list) and bool(context) and context[0] == VC_V1_CONTEXT


def as_vc2(credential: Mapping[str, Any]) -> Mapping[str, Any]:
    """A VC 1.1 credential's members in VC 2.0 terms (for shape and validity checks only, which
    only read it: a VC 2.0 credential is returned as it is, not copied)."""
    if not is_vc1(credential):
        return credential
    document = {_V1_DATES.get(key, key): value for key, value in credential.items()}
    document["@context"] = [VC_V2_CONTEXT, *credential["@context"][1:]]
    return document


def check_document_format(credential: Mapping[str, Any]) -> Check:
    """`format`: the VC 2.0 / OB 3.0 / CLR 2.0 shape; the code is the first issue's code."""
    version = "VC 1.1" if is_vc1(credential) else "VC 2.0"
    try:
        issues = check_format(as_vc2(credential))
    except (TypeError, AttributeError, ValueError) as error:
        # The shape checker assumes some members have the JSON type the spec gives them; a
        # hostile document that breaks that assumption is malformed, not a server error.
        return failed("format", "malformed_credential", f"Not a well-formed credential: {error}.")
    if not issues:
        return passed(
            "format", "well_formed", f"A well-formed {version} / Open Badges 3.0 document."
        )
    listed = "; ".join(
        f"{issue.path or '/'}: {issue.message}" for issue in issues[:MAX_LISTED_ISSUES]
    )
    more = len(issues) - MAX_LISTED_ISSUES
    suffix = f" (and {more} more)" if more > 0 else ""
    return failed("format", issues[0].code, f"Not a well-formed credential: {listed}{suffix}.")
