"""A node's API in several worker processes, and verifiers hammering it: shared by the bench's
verification section and the `slow` load test (tests/e2e/test_verify_load_workers.py).

The workers are what `lernode up` starts with LERNODE_WORKERS > 1, under its own supervisor
(serve_workers.py: uvicorn's process management, one listening socket per worker, over
`node.wiring.workers:worker_app`); they attach to a node this process prepared and keeps running
(its anvil, anchoring worker and indexers), exactly as under `lernode up`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from node.chain.anvil import free_port
from node.wiring.runtime import Node
from node.wiring.workers import RPC_URL_ENV

VERIFY_PATH = "/v1/verify"
LOAD_CLIENT = Path(__file__).resolve().parents[1] / "js" / "verify_load.mjs"
SUPERVISOR = Path(__file__).resolve().parent / "serve_workers.py"


@dataclass(frozen=True)
class Served:
    """Worker processes serving a node: their base URL and the supervisor's pid (its process
    tree is what the workers cost, see `cpu_seconds`)."""

    base: str
    supervisor: int


@contextmanager
def served_by_workers(node: Node, workers: int, **settings: Any) -> Iterator[Served]:
    """Serve `node`'s data directory and database with `workers` API worker processes;
    yields once every worker answers. `settings` become LERNODE_* variables."""
    port = free_port()
    env = {
        **os.environ,
        RPC_URL_ENV: node.chain.rpc_url,
        "LERNODE_DATA_DIR": str(node.settings.data_dir),
        "LERNODE_CONFIRMATIONS": str(node.settings.confirmations),
        "LERNODE_VERIFY_RATE_LIMIT": str(node.settings.verify_rate_limit),
        "LERNODE_HOST": "127.0.0.1",
        "LERNODE_PORT": str(port),
        "LERNODE_WORKERS": str(workers),
        "LERNODE_LOG_LEVEL": "info",  # the workers' "startup complete" lines are read below
        "LERNODE_ACCESS_LOG": "false",
    }
    if node.settings.database_url:
        env["LERNODE_DATABASE_URL"] = node.settings.database_url
    env.update({f"LERNODE_{key.upper()}": str(value) for key, value in settings.items()})
    process = subprocess.Popen(
        [sys.executable, str(SUPERVISOR)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = threading.Semaphore(0)
    log: list[str] = []

    def watch() -> None:  # drains stderr and counts workers that finished starting
        assert process.stderr is not None
        for line in process.stderr:
            if len(log) < 200:
                log.append(line)
            if "Application startup complete" in line:
                started.release()

    threading.Thread(target=watch, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        for _ in range(workers):
            if not started.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise RuntimeError("the API workers did not start:\n" + "".join(log[-20:]))
        yield Served(base, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    wall_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    #: CPU seconds the load client itself used (its own report).
    client_cpu_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.wall_s if self.wall_s else 0.0


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (Linux /proc)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                pending += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU time the processes have used so far (those still running)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def verify_load(
    base: str,
    bundles: Sequence[dict[str, Any]],
    *,
    clients: int,
    seconds: float | None = None,
    requests: int | None = None,
    warmup: int = 2,
) -> LoadResult:
    """`clients` concurrent verifiers, each with its own keep-alive connection, verifying
    bundles round robin for `seconds` (or until `requests` in all). An error is anything but a
    200 whose report says `valid`: a transport failure, another status, another verdict.

    The client is scripts/js/verify_load.mjs over raw sockets: on this machine a Python client
    took a quarter of the CPU the workers are measured on, and Node's `http` module 0.5 ms per
    request; the raw client takes under a tenth of a millisecond."""
    node_bin = shutil.which("node")
    if node_bin is None:
        raise RuntimeError("the load client needs Node.js (`node` on PATH)")
    job = {
        "base": base,
        "path": VERIFY_PATH,
        "bodies": [json.dumps(bundle) for bundle in bundles],
        "clients": clients,
        "requests": requests,
        "seconds": seconds,
        "warmup": warmup,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        json.dump(job, file)
        file.flush()
        budget = (seconds or 0) + 600
        done = subprocess.run(
            [node_bin, str(LOAD_CLIENT), file.name],
            capture_output=True,
            text=True,
            timeout=budget,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"the load client failed: {done.stderr.strip()[-2000:]}")
    out = json.loads(done.stdout)
    return LoadResult(
        requests=out["requests"],
        errors=out["errors"],
        wall_s=out["wall_s"],
        latencies_s=out["latencies_s"],
        statuses=Counter({int(code): n for code, n in out["statuses"].items()}),
        verdicts=Counter(out["verdicts"]),
        failures=out["failures"],
        client_cpu_s=out["client_cpu_s"],
    )
