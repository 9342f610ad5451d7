"""Specifications for `lernode up` as a process (issue 10, items 2 and 15): the embedded chain
never outlives its node, a start finds no stale chain, one node per data directory, "up" only
once the API listens, and a dead chain stops the node with one line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.chain.anvil import find_anvil_binary, free_port
from node.chain.embedded import process_start_ticks
from tests.support.up import (
    LERNODE,
    anvil_child,
    is_alive,
    node_env,
    start,
    wait_gone,
    wait_health,
)

pytestmark = [pytest.mark.anvil, pytest.mark.timeout(300)]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, int]]:
    """A healthy `lernode up` on an embedded chain: (process, port, anvil pid)."""
    port = free_port()
    node = start(tmp_path, port)
    try:
        wait_health(f"http://127.0.0.1:{port}", node)
        yield node, port, anvil_child(node)
    finally:
        if node.poll() is None:
            node.kill()
        node.communicate(timeout=30)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_up_stops_the_node_and_its_chain_cleanly(
    running: tuple[subprocess.Popen[str], int, int], tmp_path: Path, signum: int
) -> None:
    node, _, chain = running
    node.send_signal(signum)
    output, _ = node.communicate(timeout=60)
    assert node.returncode == 0, output
    assert "lernode stopped" in output
    assert wait_gone(chain), f"anvil {chain} outlived its node"
    # The final state was written by the node (no pidfile left, state file complete JSON).
    assert not (tmp_path / "chain" / "anvil.pid").exists()
    state = json.loads((tmp_path / "chain" / "anvil-state.json").read_text())
    assert int(state["block"]["number"], 16) > 0


def test_a_killed_node_takes_its_chain_with_it(
    running: tuple[subprocess.Popen[str], int, int],
) -> None:
    node, _, chain = running
    os.kill(node.pid, signal.SIGKILL)
    node.wait(30)
    assert wait_gone(chain), f"anvil {chain} outlived a kill -9 of its node"


def test_the_chain_files_are_private(
    running: tuple[subprocess.Popen[str], int, int], tmp_path: Path
) -> None:
    del running  # only needs the node running
    chain_dir = tmp_path / "chain"
    assert chain_dir.stat().st_mode & 0o777 == 0o700
    for name in ("anvil.pid", "anvil.log", "anvil-state.json"):
        assert (chain_dir / name).stat().st_mode & 0o777 == 0o600, name
    assert (tmp_path / "lernode.lock").stat().st_mode & 0o777 == 0o600


def test_a_second_up_on_the_same_directory_exits_naming_the_holders_pid(
    running: tuple[subprocess.Popen[str], int, int], tmp_path: Path
) -> None:
    node, _, chain = running
    second = subprocess.run(
        [*LERNODE, "up"],
        env=node_env(tmp_path, LERNODE_PORT=str(free_port())),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert second.returncode != 0
    assert "lernode is up" not in second.stdout
    lines = [line for line in second.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, second.stderr
    assert f"PID {node.pid}" in lines[0] and "in use" in lines[0]
    assert node.poll() is None and is_alive(chain)  # the first node is untouched


def test_up_announces_itself_only_once_the_api_listens(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*LERNODE, "up"],
            env=node_env(tmp_path, LERNODE_PORT=str(port)),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode != 0
    assert "lernode is up" not in result.stdout, result.stdout


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_api_accepts_connections_from_the_moment_up_says_so(
    tmp_path: Path, workers: str
) -> None:
    """A client that connects on seeing the banner is served, not refused: with worker
    processes the supervisor binds the socket and each worker listens only once it has
    imported the app, seconds later."""
    port = free_port()
    node = subprocess.Popen(
        [*LERNODE, "up"],
        env=node_env(tmp_path, LERNODE_PORT=str(port), LERNODE_WORKERS=workers),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert node.stdout is not None
        seen: list[str] = []
        for line in node.stdout:  # until the banner (or the end of its output)
            seen.append(line)
            if "lernode is up" in line:
                break
        assert "lernode is up" in "".join(seen), "".join(seen)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            connection.settimeout(60)  # a worker may still be importing: the kernel queues us
            connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert connection.recv(64).startswith(b"HTTP/1.1 200")
    finally:
        node.send_signal(signal.SIGINT)
        node.communicate(timeout=60)


def test_when_the_embedded_chain_dies_the_node_stops_with_one_line(
    running: tuple[subprocess.Popen[str], int, int],
) -> None:
    node, _, chain = running
    os.kill(chain, signal.SIGKILL)
    output, _ = node.communicate(timeout=60)
    assert node.returncode == 1, output
    assert "the embedded chain stopped" in output
    assert "Traceback" not in output


def test_a_start_stops_a_chain_a_previous_node_left_on_the_directory(tmp_path: Path) -> None:
    chain_dir = tmp_path / "chain"
    chain_dir.mkdir(mode=0o700)
    stale = subprocess.Popen(
        [str(find_anvil_binary()), "--port", str(free_port()), "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    bystander = subprocess.Popen(["sleep", "120"])  # a pidfile naming it must not kill it
    try:
        time.sleep(0.5)
        record = {"pid": stale.pid, "start_ticks": process_start_ticks(stale.pid), "port": 0}
        (chain_dir / "anvil.pid").write_text(json.dumps(record))
        port = free_port()
        node = start(tmp_path, port)
        try:
            wait_health(f"http://127.0.0.1:{port}", node)
            assert stale.wait(15) is not None
        finally:
            node.send_signal(signal.SIGINT)
            node.communicate(timeout=60)

        record = {"pid": bystander.pid, "start_ticks": process_start_ticks(bystander.pid)}
        (chain_dir / "anvil.pid").write_text(json.dumps(record))
        node = start(tmp_path, port)
        try:
            wait_health(f"http://127.0.0.1:{port}", node)
            assert bystander.poll() is None
        finally:
            node.send_signal(signal.SIGINT)
            node.communicate(timeout=60)
    finally:
        for process in (stale, bystander):
            if process.poll() is None:
                process.kill()
                process.wait(10)
