"""`lernode up` as a subprocess: its environment, waiting for it to answer, its children."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

LERNODE = [sys.executable, "-m", "node.cli"]
#: anvil's first development account (funded with 10,000 ETH on every anvil).
ANVIL_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def node_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LERNODE_")}
    env.update({"LERNODE_DATA_DIR": str(data_dir), **extra})
    return env


def wait_health(
    url: str,
    process: subprocess.Popen[Any],
    timeout: float = 60,
    output: Callable[[], str] | None = None,
) -> dict[str, Any]:
    """The node's first 200 `/health` body in which the chain answered (`latest_block`: a
    worker's first probe may miss its half-second budget on a loaded machine); fails with its
    output (`output`, else its piped stdout) if it exits first or does not answer so within
    `timeout` seconds."""

    def said() -> str:
        if output is not None:
            return output()
        return process.stdout.read() if process.stdout is not None else ""

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"lernode up exited early:\n{said()}")
        try:
            response = httpx.get(f"{url}/health", timeout=2)
            if response.status_code == 200:
                body: dict[str, Any] = response.json()
                if body.get("latest_block") is not None:
                    return body
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"no /health within {timeout}s:\n{output() if output else ''}")


def start(data_dir: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*LERNODE, "up"],
        env=node_env(data_dir, LERNODE_PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def children(pid: int) -> list[int]:
    """Direct child processes of `pid` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def descendants(pid: int) -> list[int]:
    """Every process below `pid`: its children, theirs, and so on (an API worker is a child of
    the supervisor's forkserver, node/wiring/preload.py)."""
    found: list[int] = []
    waiting = [pid]
    while waiting:
        below = children(waiting.pop())
        found += below
        waiting += below
    return found


def is_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie awaiting its parent counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_gone(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return True
        time.sleep(0.1)
    return False


def anvil_child(node: subprocess.Popen[Any]) -> int:
    anvils = [c for c in children(node.pid) if "anvil" in Path(f"/proc/{c}/exe").resolve().name]
    assert len(anvils) == 1, children(node.pid)
    return anvils[0]
