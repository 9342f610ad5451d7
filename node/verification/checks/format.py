"""The `format` check: the VC 2.0 / Open Badges 3.0 / CLR 2.0 shape of the document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from node.credentials.format_check import check_format
from node.verification.report import (
    Check,
    failed,
    passed,
)

#: Format issues spelled out in one check's detail; the rest are counted.
MAX_LISTED_ISSUES = 5


def check_document_format(credential: Mapping[str, Any]) -> Check:
    """`format`: the VC 2.0 / OB 3.0 / CLR 2.0 shape; the code is the first issue's code."""
    try:
        issues = check_format(credential)
    except (TypeError, AttributeError, ValueError) as error:
        # The shape checker assumes some members have the JSON type the spec gives them; a
        # hostile document that breaks that assumption is malformed, not a server error.
        return failed("format", "malformed_credential", f"Not a well-formed credential: {error}.")
    if not issues:
        return passed("format", "well_formed", "A well-formed VC 2.0 / Open Badges 3.0 document.")
    listed = "; ".join(
        f"{issue.path or '/'}: {issue.message}" for issue in issues[:MAX_LISTED_ISSUES]
    )
    more = len(issues) - MAX_LISTED_ISSUES
    suffix = f" (and {more} more)" if more > 0 else ""
    return failed("format", issues[0].code, f"Not a well-formed credential: {listed}{suffix}.")
