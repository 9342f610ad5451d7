"""Specifications for operators at the command line: an accreditation proposal carries the
issuer's metadata and aliases, checked before anything is sent."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from node.cli import main as cli


class FakeClient:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    def post(self, path: str, json: Any = None) -> dict[str, Any]:
        self.sent.append((path, json))
        return {
            "id": 7,
            "action": "accredit_issuer",
            "state": "open",
            "approvals": 1,
            "threshold": 2,
        }


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> FakeClient:
    fake = FakeClient()
    monkeypatch.setattr(cli, "_client", lambda node_url, api_key: fake)
    return fake


def test_propose_accreditation_sends_the_metadata_and_aliases_to_vote_on(
    client: FakeClient,
) -> None:
    result = CliRunner().invoke(
        cli.app,
        [
            "govern", "propose", "accredit_issuer",
            "--target", "0x" + "ab" * 20,
            "--type", "OpenBadgeCredential",
            "--name", "Tech College",
            "--legal-name", "Board of Tech College",
            "--homepage", "https://tech.example",
            "--location", "Boston, MA, USA",
            "--ror", "https://ror.org/042nb2s44",
            "--alias", "did:web:tech.example",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [(path, body)] = client.sent
    assert path == "/v1/governance/proposals"
    assert body["metadata"] == {
        "organization_name": "Tech College",
        "legal_name": "Board of Tech College",
        "homepage_uri": "https://tech.example",
        "location": "Boston, MA, USA",
        "rorid": "042nb2s44",
    }
    assert body["aliases"] == ["did:web:tech.example"]


def test_invalid_metadata_is_refused_at_the_command_line(client: FakeClient) -> None:
    result = CliRunner().invoke(
        cli.app,
        ["govern", "propose", "accredit_issuer", "--target", "0x" + "ab" * 20,
         "--name", "X", "--homepage", "http://insecure.example"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "homepage_uri" in result.output
    assert client.sent == []
