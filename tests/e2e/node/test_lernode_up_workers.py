"""`lernode up` with several API worker processes: every worker answers, the supervisor stays
the one chain sender, `/metrics` shows the whole node, and a supervisor killed with SIGKILL
takes its workers with it (nothing keeps answering on the node's port)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from node.chain.anvil import free_port

pytestmark = [pytest.mark.anvil, pytest.mark.timeout(300)]

LERNODE = [sys.executable, "-m", "node.cli"]


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_workers_serve_count_together_and_die_with_a_killed_supervisor(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LERNODE_")}
    env.update(
        LERNODE_DATA_DIR=str(tmp_path / "data"), LERNODE_PORT=str(port), LERNODE_WORKERS="2",
        LERNODE_LOG_FORMAT="json",
    )  # fmt: skip
    log = (tmp_path / "up.log").open("wb")
    process = subprocess.Popen([*LERNODE, "up"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: _answers(url), 180, "/health")
        for _ in range(20):  # both workers get some of these
            assert httpx.get(f"{url}/health", timeout=30).status_code == 200
        metrics = httpx.get(f"{url}/metrics", timeout=30).text
        served = [
            line for line in metrics.splitlines()
            if line.startswith("lernode_http_request_duration_seconds_count")
            and 'route="/health"' in line
        ]  # fmt: skip
        assert sum(float(line.rsplit(" ", 1)[1]) for line in served) >= 20
        assert "lernode_outbox_pending_credentials 0.0" in metrics
        output = (tmp_path / "up.log").read_text()
        assert output.count('"logger": "uvicorn.error", "message": "Started server process') == 2
        assert (tmp_path / "data" / "lernode.sqlite.sender.lock").exists()

        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
        _wait(lambda: not _answers(url), 30, "the orphaned workers to exit")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
        log.close()
        _kill_leftovers(tmp_path)


def _kill_leftovers(tmp_path: Path) -> None:
    """The embedded anvil of a SIGKILLed node outlives it (it runs in its own session): end
    every process whose command line names this test's directory."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(tmp_path) in command:
            os.kill(int(entry.name), signal.SIGKILL)
