"""The verification report leaves the API exactly as its view describes it: `report_json` writes
the same bytes `VerificationReportView` would, without validating the node's own report again."""

from __future__ import annotations

from typing import Any

import pytest

from node.api.schemas.verification import VerificationReportView, report_json
from node.verification.report import VerificationReport, failed, passed, unknown


def through_the_view(report: VerificationReport) -> bytes:
    view = VerificationReportView.model_validate(report.as_json())
    return view.model_dump_json(by_alias=True).encode()


SUMMARY: dict[str, Any] = {
    "name": "Introduction to Distributed Ledgers — Prüfung ✓ 😀",
    "issuer": {"id": "did:ethr:0x1:0xabc", "name": 'Example "University"\n\\ /'},
    "credits": 6.5,
    "tiny": 5e-324,
    "large": 1e22,
    "count": 2**63 - 1,
    "negative": -(2**63),
    "flags": [True, False, None],
    "nested": [{"a": [1, {"b": "\u2028\u0001\u007f"}]}],
}
CHECKS = (
    passed("format", "well_formed", "OB 3.0"),
    failed("signature", "bad_signature", "the proof does not verify"),
    unknown("status", "status_unavailable", "no status list"),
)


def report(**overrides: Any) -> VerificationReport:
    fields: dict[str, Any] = {
        "checks": CHECKS,
        "credential": SUMMARY,
        "verified_at": "2026-12-06T18:00:00Z",
        "chain_id": 31337,
    }
    return VerificationReport(**{**fields, **overrides})


@pytest.mark.parametrize(
    "case",
    [
        report(),
        report(chain_state={"block": 12, "source": "index"}),
        report(registered_issuer={"federation_entity": {"organization_name": "Example"}}),
        report(
            chain_state={"block": 7, "source": "chain"},
            registered_issuer={"name": "x"},
            embedded=(report(), report(embedded=(report(credential={}),))),
        ),
    ],
    ids=["plain", "chain_state", "registered_issuer", "clr_with_nested_embedded"],
)
def test_the_report_is_written_byte_for_byte_as_its_view_writes_it(
    case: VerificationReport,
) -> None:
    assert report_json(case.as_json()) == through_the_view(case)


def test_a_value_the_fast_writer_cannot_write_takes_the_views_path() -> None:
    huge = report(credential={"serialNumber": 10**30})  # past 64 bits, copied from a credential
    assert report_json(huge.as_json()) == through_the_view(huge)
    assert b"1000000000000000000000000000000" in report_json(huge.as_json())
