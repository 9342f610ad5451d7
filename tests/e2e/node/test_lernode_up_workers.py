"""`lernode up` with several API worker processes: every worker answers (a burst of keep-alive
connections is spread over them, not accepted by one), the supervisor stays the one chain
sender, `/metrics` shows the whole node, and a supervisor killed with SIGKILL takes its workers
with it (nothing keeps answering on the node's port)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from node.chain.anvil import free_port
from node.chain.embedded import parent_pid
from tests.support.up import descendants, is_alive

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
        workers = descendants(process.pid)
        # Each worker accepts on a listening socket of its own (the kernel spreads connections
        # over them), not on one they share, where one worker may accept a whole burst.
        listening = _sockets_by_process(workers, port, LISTEN)
        assert len(listening) == 2 and all(len(inodes) == 1 for inodes in listening.values())
        assert len(set.union(*listening.values())) == 2, listening
        # Forked from the supervisor's forkserver, which imported the node once beside the
        # supervisor (node/wiring/preload.py), not spawned to import it again each.
        forkservers = {parent_pid(worker) for worker in listening}
        assert len(forkservers) == 1 and process.pid not in forkservers, forkservers
        assert all(parent_pid(server) == process.pid for server in forkservers)
        held = _keep_alive_burst(port, 32)
        try:
            connected = _sockets_by_process(workers, port, ESTABLISHED)
        finally:
            for connection in held:
                connection.close()
        assert len(connected) == 2 and sum(map(len, connected.values())) == 32, connected
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


def _keep_alive_burst(port: int, count: int) -> list[socket.socket]:
    """`count` connections opened at once, as a load balancer's pool or many verifiers do,
    each kept open after one answered request."""
    connections = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    request = f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    for connection in connections:
        connection.sendall(request)
    for connection in connections:
        connection.settimeout(30)
        assert connection.recv(65536).startswith(b"HTTP/1.1 200")
    return connections


#: TCP states as /proc/net/tcp writes them.
ESTABLISHED, LISTEN = "01", "0A"


def _sockets_by_process(pids: list[int], port: int, state: str) -> dict[int, set[str]]:
    """The sockets on local `port` in `state` that each of `pids` holds (Linux /proc)."""
    wanted = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                    wanted.add(f"socket:[{fields[9]}]")
    held = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            links = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
            if links & wanted:
                held[pid] = links & wanted
    return held


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
            with contextlib.suppress(ProcessLookupError):  # it ended since its line was read
                os.kill(int(entry.name), signal.SIGKILL)


#: A supervisor that starts one worker and dies at once, as one killed while its workers still
#: import the app: the worker binds only after a second, when its parent is long gone.
_EARLY_DEATH = """
import os, subprocess, sys
worker = '''
import os, sys, time
from pathlib import Path
Path(sys.argv[1]).write_text(str(os.getpid()))
time.sleep(1.0)
from node.wiring.workers import _exit_with_supervisor
_exit_with_supervisor()
Path(sys.argv[2]).write_text("serving")
'''
env = {**os.environ, "_LERNODE_SUPERVISOR_PID": str(os.getpid())}
subprocess.Popen([sys.executable, "-c", worker, sys.argv[1], sys.argv[2]], env=env)
"""


def test_a_worker_whose_supervisor_died_before_it_bound_exits_before_serving(
    tmp_path: Path,
) -> None:
    pid_file, served = tmp_path / "worker.pid", tmp_path / "served"
    subprocess.run(
        [sys.executable, "-c", _EARLY_DEATH, str(pid_file), str(served)],
        check=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])},
    )
    _wait(pid_file.exists, 30, "the worker to start")
    worker = int(pid_file.read_text())
    _wait(lambda: not is_alive(worker), 60, "the orphaned worker to exit")
    assert not served.exists(), "a worker outlived its supervisor and went on to serve"
