"""The `validity` check: the credential's validity period covers the instant checked."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from node.credentials.format_check import parse_datetime_stamp
from node.credentials.proofs import xsd_datetime
from node.verification.checks.format import as_vc2
from node.verification.report import (
    Check,
    failed,
    passed,
    unknown,
)


def check_validity(credential: Mapping[str, Any], at: datetime) -> Check:
    """`validity`: validFrom <= at < validUntil (VC 1.1: issuanceDate, expirationDate)."""
    name = "validity"
    credential = as_vc2(credential)
    bounds: dict[str, datetime] = {}
    for key in ("validFrom", "validUntil"):
        if key in credential:
            moment = parse_datetime_stamp(credential[key])
            if moment is None:
                return unknown(name, "invalid_datetime", f"{key} is not a date-time with a zone.")
            bounds[key] = moment
    checked = xsd_datetime(at)
    start, end = bounds.get("validFrom"), bounds.get("validUntil")
    if start is not None and at < start:
        return failed(
            name, "not_yet_valid", f"Valid only from {xsd_datetime(start)} (checked {checked})."
        )
    if end is not None and at >= end:
        return failed(name, "expired", f"Expired at {xsd_datetime(end)} (checked {checked}).")
    span = f"from {xsd_datetime(start)}" if start else "with no start"
    span += f" until {xsd_datetime(end)}" if end else ", with no end"
    return passed(name, "in_validity_period", f"Valid {span} (checked {checked}).")
