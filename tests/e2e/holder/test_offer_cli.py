"""The institution's CLI: `lernode offer ID` and `lernode issue --csv ... --offer` print each
learner's link and QR code and write a PNG per learner and a CSV to mail-merge."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from node.cli import main as cli
from node.cli.client import NodeClient
from tests.support.holders import issue


@pytest.fixture
def run(api: TestClient, monkeypatch: pytest.MonkeyPatch) -> object:
    """`lernode ...` in-process, talking to the test node through the API client."""

    def client(node_url: str | None, api_key: str | None) -> NodeClient:
        made = NodeClient("https://node.example.edu", None)
        made._http = api  # the TestClient is an httpx.Client bound to the app
        return made

    monkeypatch.setattr(cli, "_client", client)

    def invoke(*args: str) -> int:
        with pytest.raises(SystemExit) as exited:
            cli.main(list(args))
        return int(exited.value.code or 0)

    return invoke


def test_lernode_offer_prints_the_link_and_qr_and_writes_png_and_csv(
    api: TestClient, run: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    credential_id = issue(api, name="Mary Jackson")
    assert run("offer", credential_id, "--out-dir", str(tmp_path), "--tx-code") == 0  # type: ignore[operator]
    printed = capsys.readouterr().out
    [row] = list(csv.DictReader((tmp_path / "offers.csv").open()))
    assert row["credential_id"] == credential_id and row["learner"] == "Mary Jackson"
    assert row["page"].startswith("https://node.example.edu/offers/")
    assert row["lcw_link"].startswith("https://lcw.app/request.html?")
    assert len(row["tx_code"]) == 6
    assert row["page"] in printed and "Mary Jackson" in printed and row["tx_code"] in printed
    assert "█" in printed  # the terminal QR code
    png = tmp_path / row["qr_png"]
    assert png.read_bytes().startswith(b"\x89PNG")
    offers = api.get("/v1/offers", params={"credential_id": credential_id}).json()["offers"]
    assert [o["id"] for o in offers] == [row["offer_id"]]


def test_a_csv_cohort_is_issued_and_offered_one_link_per_learner(
    api: TestClient, run: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "template.json"
    template.write_text(
        '{"achievement": {"name": "Orbital Mechanics", "description": "Trajectories",'
        ' "criteria_narrative": "Passed", "achievement_type": "Course"}}'
    )
    cohort = tmp_path / "spring.csv"
    cohort.write_text(
        "name,email\nDorothy Vaughan,dv@example.edu\nChristine Darden,cd@example.edu\n"
    )
    out = tmp_path / "handout"
    code = run(  # type: ignore[operator]
        "issue", "--template", str(template), "--csv", str(cohort), "--offer",
        "--offers-dir", str(out),
    )  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader((out / "offers.csv").open()))
    assert [r["learner"] for r in rows] == ["Dorothy Vaughan", "Christine Darden"]
    assert all((out / r["qr_png"]).is_file() for r in rows)
    listed = api.get("/v1/offers", params={"cohort": "spring"}).json()["offers"]
    assert {o["id"] for o in listed} == {r["offer_id"] for r in rows}
    assert "Christine Darden" in capsys.readouterr().out
