"""Verification reports in the VC-API's result shape: `{verified, checks, warnings, errors}`.

The VC-API (W3C CCG Verifiable Credentials API) answers a verification with the checks it
performed, errors and warnings; `verified` is true when there is no error. A failed check is an
error, and so is one that could not be decided (a consortium issuer's credential with no anchor
to date it is not established, whatever its signature says). Only a check that does not apply is a
warning: the chain holds no accreditation, anchor or status list of an off-chain (did:key,
did:web) issuer, and a presentation checked without a challenge cannot be told from a replay.
The VC-API's successor draft (VCALM) reports the same as `problemDetails`, included too. Errors
and warnings name the check and its stable reason code, and the credential they concern
(`verifiableCredential[2].status: revoked` for a presentation's third credential,
`credentialSubject.verifiableCredential[0].proof: ...` inside a CLR).
"""

from __future__ import annotations

from typing import Any

from node.verification.presentations import PresentationReport
from node.verification.report import Check, CheckStatus, VerificationReport

PROBLEM_TYPE_BASE = "https://lernode.dev/problems/"
#: Undecided checks that do not apply rather than fail to be established: warnings.
NOT_APPLICABLE = frozenset({"not_applicable_off_chain", "challenge_not_requested"})


def credential_result(report: VerificationReport) -> dict[str, Any]:
    """A credential's report as a VC-API verification result."""
    errors: list[tuple[str, Check]] = []
    warnings: list[tuple[str, Check]] = []
    _collect(report, "", errors, warnings)
    return _result([c.name for c in report.checks], errors, warnings)


def presentation_result(report: PresentationReport) -> dict[str, Any]:
    """A presentation's report (its own checks and every credential's) as a VC-API result."""
    errors: list[tuple[str, Check]] = []
    warnings: list[tuple[str, Check]] = []
    for check in report.checks:
        if check.name == "credentials":
            continue  # spelled out per credential below
        _sort(check, "", errors, warnings)
    for number, inner in enumerate(report.credentials):
        _collect(inner, f"verifiableCredential[{number}].", errors, warnings)
    return _result([c.name for c in report.checks], errors, warnings)


def _collect(
    report: VerificationReport,
    path: str,
    errors: list[tuple[str, Check]],
    warnings: list[tuple[str, Check]],
) -> None:
    for check in report.checks:
        _sort(check, path, errors, warnings)
    for number, inner in enumerate(report.embedded):
        _collect(
            inner, f"{path}credentialSubject.verifiableCredential[{number}].", errors, warnings
        )


def _sort(
    check: Check, path: str, errors: list[tuple[str, Check]], warnings: list[tuple[str, Check]]
) -> None:
    if check.status is CheckStatus.FAILED:
        errors.append((path, check))
    elif check.status is CheckStatus.UNKNOWN:
        (warnings if check.code in NOT_APPLICABLE else errors).append((path, check))


def _result(
    checks: list[str], errors: list[tuple[str, Check]], warnings: list[tuple[str, Check]]
) -> dict[str, Any]:
    return {
        "verified": not errors,
        "checks": checks,
        "warnings": [_line(path, check) for path, check in warnings],
        "errors": [_line(path, check) for path, check in errors],
        "problemDetails": [_problem(path, check) for path, check in errors + warnings],
    }


def _line(path: str, check: Check) -> str:
    return f"{path}{check.name}: {check.code}: {check.detail}"


def _problem(path: str, check: Check) -> dict[str, str]:
    return {
        "type": PROBLEM_TYPE_BASE + check.code,
        "title": f"{path}{check.name}",
        "detail": check.detail,
        "code": check.code,
    }
