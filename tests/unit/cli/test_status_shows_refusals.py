"""`lernode status` says when the chain refuses the institution's work, and why."""

from __future__ import annotations

from typing import Any

import pytest

from node.cli import institutions
from node.cli import main as cli

STANDING: dict[str, Any] = {
    "name": "Harbor College",
    "did": "did:ethr:0x7a69:0xabc",
    "verificationMethod": "did:ethr:0x7a69:0xabc#key-1",
    "status": "suspended",
    "accreditedNow": {"OpenBadgeCredential": False},
}


class FakeClient:
    def __init__(self, standing: dict[str, Any]) -> None:
        self.standing = standing

    def get(self, path: str) -> dict[str, Any]:
        assert path == "/v1/institution"
        return self.standing


def status_output(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                  standing: dict[str, Any]) -> str:  # fmt: skip
    monkeypatch.setattr(cli, "_client", lambda url, key: FakeClient(standing))
    institutions.status()
    return capsys.readouterr().out


def test_status_lists_each_refused_work_with_its_reason_and_next_attempt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    problem = {
        "work": "status",
        "code": "not_active_issuer",
        "detail": "CredentialRegistry: NotActiveIssuer(issuer=0xabc)",
        "count": 3,
        "next_attempt_at": "2026-12-06T07:00:00+00:00",
    }
    out = status_output(monkeypatch, capsys, {**STANDING, "anchoringProblems": [problem]})
    assert "refused      status: not_active_issuer (3 in a row" in out
    assert "NotActiveIssuer" in out


def test_status_of_an_institution_the_chain_accepts_shows_no_refusal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "refused" not in status_output(monkeypatch, capsys, STANDING)
