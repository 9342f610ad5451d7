"""The CLI as a newcomer meets it: every usage mistake is one line and exit 2 (never a
traceback), `--version` works, a refused request names the server's code and the field at
fault, and a proposal that is not executed yet says `lernode govern execute N` is still needed."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from node import __version__
from node.access import apikeys
from node.api.app import create_app
from node.cli import main as cli
from node.cli.client import NodeClient
from node.config import Settings
from node.store.db import Database


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        cli.main(list(argv))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


@pytest.fixture(autouse=True)
def keep_recursion_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """`main` sets the process's recursion limit; in the test process, leave it alone."""
    monkeypatch.setattr(cli, "restore_recursion_limit", lambda: None)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["frobnicate"], "No such command 'frobnicate'"),
        (["export"], "Missing argument 'credential_id'"),
        (["issue", "--bogus"], "No such option: --bogus"),
        (["verify", "x.json"], "Missing option '--rpc'"),
        (["govern", "approve", "seven"], "Invalid value for 'proposal_id'"),
        (["govern", "frob"], "No such command 'frob'"),
    ],
    ids=["unknown command", "missing argument", "unknown option", "missing option",
         "bad value", "unknown subcommand"],
)  # fmt: skip
def test_a_usage_mistake_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1, err
    assert err.startswith("error: ") and says in err, err
    assert "Traceback" not in out + err


def test_version_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"lernode {__version__}"


def test_an_over_long_csv_field_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    template = tmp_path / "t.json"
    template.write_text('{"achievement": {"name": "A", "description": "d", '
                        '"criteria_narrative": "c", "achievement_type": "Course"}}')  # fmt: skip
    cohort = tmp_path / "c.csv"
    cohort.write_text('name,email\n"' + "x" * 200_000 + '",a@example.edu\n')
    code, _, err = run(capsys, "issue", "--template", str(template), "--csv", str(cohort))
    assert code == 2
    assert err.count("\n") == 1 and "is not a readable CSV" in err, err


def test_the_real_entry_point_prints_no_traceback_and_restores_the_recursion_limit() -> None:
    """py_ecc raises the limit to 100,000 on import; every lernode process sets it back."""
    probe = (
        "import sys; from node.cli.main import main, RECURSION_LIMIT; import node.wiring.server; "
        "sys.excepthook = None; "
        "assert sys.getrecursionlimit() != RECURSION_LIMIT; "
        "import atexit; atexit.register(lambda: print(sys.getrecursionlimit())); "
        "main(['frobnicate'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == "error: No such command 'frobnicate'. (see `lernode --help`)\n"
    assert done.stdout.strip() == str(cli.RECURSION_LIMIT)


# -- talking to a node ----------------------------------------------------------------------


@pytest.fixture
def node_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI's client wired to the real app around a stand-in node with an admin key."""
    db = Database(f"sqlite:///{tmp_path / 'cli.sqlite'}")
    db.migrate()
    token = apikeys.create_key(db, ["admin"]).token
    app = create_app(SimpleNamespace(db=db, settings=Settings(data_dir=tmp_path)))  # type: ignore[arg-type]
    client = NodeClient("http://testserver", token)
    client._http = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    monkeypatch.setattr(cli, "_client", lambda *_: client)
    yield
    db.dispose()


def test_a_refused_request_names_the_code_and_the_field(
    capsys: pytest.CaptureFixture[str], node_api: None
) -> None:
    code, _, err = run(capsys, "govern", "propose", "accredit_issuer")
    assert code == 1
    assert err == "error [invalid_request] Value error, accredit_issuer needs a target address\n"
    code, _, err = run(capsys, "onboard", "Bad\tName")
    assert code == 1
    assert err.startswith("error [invalid_request] name: Value error, must not contain control"), (
        err
    )


def proposal(state: str, approvals: int, threshold: int) -> dict[str, Any]:
    return {"id": 7, "action": "accredit_issuer", "state": state, "approvals": approvals,
            "threshold": threshold}  # fmt: skip


@pytest.mark.parametrize(
    ("state", "approvals", "threshold", "says"),
    [
        ("ready", 1, 1, "run `lernode govern execute 7`"),
        ("open", 1, 3, "needs 2 more approval(s)"),
        ("executed", 1, 1, None),
    ],
)
def test_propose_says_when_govern_execute_is_still_needed(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    state: str,
    approvals: int,
    threshold: int,
    says: str | None,
) -> None:
    answer = proposal(state, approvals, threshold)
    monkeypatch.setattr(cli, "_client", lambda *_: SimpleNamespace(post=lambda *a, **k: answer))
    code, out, _ = run(capsys, "govern", "propose", "suspend_issuer", "--target", "0x" + "1" * 40)
    assert code == 0
    if says is None:
        assert "not in effect" not in out
    else:
        assert "not in effect yet" in out and says in out, out
        assert "lernode govern execute 7" in out


def test_onboard_says_the_accreditation_needs_govern_execute(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = {
        "name": "Harbor", "did": "did:ethr:0x7a69:0x1", "verificationMethod": "did:ethr:...#k",
        "status": "none", "accreditedNow": {"OpenBadgeCredential": False},
        "proposal": proposal("ready", 1, 1), "apiKey": "lk_x",
    }  # fmt: skip
    monkeypatch.setattr(cli, "_client", lambda *_: SimpleNamespace(post=lambda *a, **k: answer))
    code, out, _ = run(capsys, "onboard", "Harbor")
    assert code == 0
    assert "accreditation proposal #7: ready" in out
    assert "lernode govern execute 7" in out
