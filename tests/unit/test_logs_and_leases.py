"""Operator-facing process behaviour: JSON log lines on request, one chain sender per SQLite
database across processes, and one API worker per core by default."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.anchoring.worker import SenderLease
from node.config import load_settings
from node.logs import configure_logging
from node.store.db import Database
from node.store.file_lease import FileLease

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_log_format_writes_one_object_per_line(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("info", "json")
    logging.getLogger("node.test").info("anchored %d credentials", 3, extra={"batch": 9})
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("node.test").exception("step failed")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0]["message"] == "anchored 3 credentials"
    assert lines[0]["level"] == "info" and lines[0]["logger"] == "node.test"
    assert lines[0]["batch"] == 9 and lines[0]["process"] == os.getpid()
    assert lines[0]["time"].endswith("+00:00")
    assert "ValueError: boom" in lines[1]["exception"]


def test_text_log_format_is_the_default(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(load_settings().log_level, load_settings().log_format)
    logging.getLogger("node.test").warning("plain")
    assert capsys.readouterr().err.strip() == "WARNING node.test: plain"


def test_workers_default_to_the_number_of_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LERNODE_WORKERS", raising=False)
    assert load_settings().worker_count == (os.cpu_count() or 1)
    monkeypatch.setenv("LERNODE_WORKERS", "3")
    assert load_settings().worker_count == 3


def test_only_one_holder_of_a_sqlite_sending_lease_at_a_time(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'node.sqlite'}")
    first, second = SenderLease(db), SenderLease(db)
    try:
        assert first.held()
        assert not second.held()
        first.release()
        assert second.held()
        assert not first.held()
    finally:
        first.release()
        second.release()
        db.dispose()


def test_a_sqlite_lease_held_by_another_process_is_not_taken(tmp_path: Path) -> None:
    path = tmp_path / "node.sqlite"
    holder = (
        "import sys, time\n"
        "from node.store.db import Database\n"
        "from node.anchoring.worker import SenderLease\n"
        f"lease = SenderLease(Database('sqlite:///{path}'))\n"
        "print(lease.held(), flush=True)\n"
        "sys.stdin.readline()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", holder], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "True"
        db = Database(f"sqlite:///{path}")
        lease = SenderLease(db)
        assert not lease.held()
        child.kill()  # even kill -9 gives the lease back
        child.wait(10)
        assert lease.held()
        lease.release()
        db.dispose()
    finally:
        if child.poll() is None:
            child.kill()


def test_an_in_memory_database_always_holds_its_lease() -> None:
    assert FileLease.beside(Database("sqlite://"), "sender").held()


_SERVE_ONE_REQUEST = """
import logging, sys, threading, time, httpx, uvicorn
from node.api.access_log import install_access_log_redaction
from node.chain.anvil import free_port
from node.logs import configure_logging

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})

configure_logging("info", "text", access_log=sys.argv[1] == "on")
install_access_log_redaction()
logging.getLogger("httpx").setLevel(logging.WARNING)  # the client's own line names the URL
port = free_port()
server = uvicorn.Server(uvicorn.Config(app, port=port, log_config=None, lifespan="off"))
threading.Thread(target=server.run, daemon=True).start()
while not server.started:
    time.sleep(0.01)
httpx.get(f"http://127.0.0.1:{port}/v1/verify?credential=secret")
server.should_exit = True
time.sleep(0.3)
"""


@pytest.mark.operator
@pytest.mark.parametrize("access_log", ["on", "off"])
def test_the_access_log_is_one_redacted_line_per_request_unless_turned_off(
    access_log: str,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SERVE_ONE_REQUEST, access_log],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=True,
    )
    lines = [line for line in done.stderr.splitlines() if "uvicorn.access" in line]
    if access_log == "off":
        assert lines == []
    else:
        assert len(lines) == 1 and '"GET /v1/verify?[redacted] HTTP/1.1" 204' in lines[0]
        assert "secret" not in done.stderr
