"""What every benchmark section shares: timing statistics, the machine and version facts, the
anvil helpers, and the `Section` record the report is rendered from.

Why medians and ratios: the benchmark machine is shared and noisy (2 cores), so absolute
figures wander by tens of percent between runs while medians and ratios measured side by side
in one run stay comparable.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import requests

from node.chain.anvil import REPO_ROOT, AnvilProcess, find_anvil_binary

_JSON = {"Content-Type": "application/json"}
#: Admin connection used to create one scratch PostgreSQL database per run.
DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Sizes:
    """How big each section runs: `--quick` keeps the whole run under a minute for CI."""

    quick: bool
    issuance: int
    signing_sample: int
    eas_batches: tuple[int, ...]
    did_changes: tuple[int, ...]
    did_repeats: int
    walk_repeats: int
    reference_repeats: int
    scale_steps: tuple[int, ...]
    lookups: int
    verify_requests: int
    verify_concurrency: int
    #: Timed HTTP verification rounds; the target is judged on the median round.
    http_rounds: int
    #: Seconds of the load run (32 verifiers against the worker processes): errors only.
    load_seconds: float

    @classmethod
    def for_mode(cls, quick: bool) -> Sizes:
        if quick:
            return cls(
                quick=True,
                issuance=200,
                signing_sample=100,
                eas_batches=(10, 100),
                did_changes=(1, 10, 100),
                did_repeats=30,
                walk_repeats=3,
                reference_repeats=3,
                scale_steps=(1_000, 10_000),
                lookups=100,
                verify_requests=100,
                verify_concurrency=8,
                http_rounds=1,
                load_seconds=2.0,
            )
        return cls(
            quick=False,
            issuance=10_000,
            signing_sample=1_000,
            eas_batches=(10, 100, 1_000),
            did_changes=(1, 10, 100),
            did_repeats=300,
            walk_repeats=15,
            reference_repeats=15,
            scale_steps=(1_000, 10_000, 100_000, 1_000_000),
            lookups=500,
            verify_requests=1_000,
            verify_concurrency=32,
            http_rounds=5,
            load_seconds=60.0,
        )


@dataclass
class Target:
    """One target from the issue, where we stand, and (when missed) what limits it."""

    name: str
    goal: str
    measured: str
    met: bool | None  # None: could not be measured in this run
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "goal": self.goal,
            "measured": self.measured,
            "met": self.met,
            "note": self.note,
        }


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Section:
    """One benchmark's results: raw figures for the JSON, tables and plots for the report."""

    key: str
    title: str
    method: str
    available: bool = True
    figures: dict[str, Any] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "available": self.available,
            "method": self.method,
            "figures": self.figures,
            "targets": [t.as_json() for t in self.targets],
            "notes": self.notes,
            "plots": self.plots,
            "seconds": round(self.seconds, 1),
        }


# -- statistics ---------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; what p95/p99 mean in the report."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(samples_s: Sequence[float]) -> dict[str, float]:
    """Median / p95 / p99 / mean of durations given in seconds, as milliseconds."""
    ms = [s * 1000 for s in samples_s]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 4),
        "p95_ms": round(percentile(ms, 95), 4),
        "p99_ms": round(percentile(ms, 99), 4),
        "mean_ms": round(statistics.fmean(ms), 4),
    }


def time_each(action: Callable[[], Any], repeats: int, warmup: int = 2) -> list[float]:
    """Durations (s) of `repeats` calls after `warmup` unmeasured ones (caches, JIT-free
    Python still has first-call imports and connection set-up we do not want to count)."""
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def time_interleaved(
    actions: Sequence[Callable[[], Any]], repeats: int, block: int = 50, warmup: int = 5
) -> list[list[float]]:
    """Durations (s) of `repeats` calls of each action, taken in alternating blocks so that
    every action meets the same moments of a shared, noisy machine: a ratio of their rates is
    then a ratio from one stretch of time, not of two. The bench's own objects are frozen out
    of the garbage collector meanwhile (`gc.freeze`), so its heap (sections already run) does
    not slow the more allocating action more than the other."""
    for action in actions:
        for _ in range(warmup):
            action()
    samples: list[list[float]] = [[] for _ in actions]
    gc.collect()
    gc.freeze()
    try:
        while len(samples[0]) < repeats:
            for action, taken in zip(actions, samples, strict=True):
                for _ in range(min(block, repeats - len(taken))):
                    start = time.perf_counter()
                    action()
                    taken.append(time.perf_counter() - start)
    finally:
        gc.unfreeze()
    return samples


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


def fmt_int(value: float | int | None) -> str:
    return "n/a" if value is None else f"{round(value):,}"


def fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


# -- machine and versions -----------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": ram_gib,
        "os": platform.platform(),
    }


def _package(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _command_version(argv: list[str]) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0] if first else None


def versions() -> dict[str, Any]:
    artifact = json.loads((REPO_ROOT / "contracts/build/CredentialRegistry.json").read_text())
    node_bin = shutil.which("node")
    eas = json.loads(
        (
            REPO_ROOT / "node_modules/@ethereum-attestation-service/eas-contracts/package.json"
        ).read_text()
    ).get("version")
    return {
        "python": platform.python_version(),
        "web3": _package("web3"),
        "pyld": _package("PyLD") or _package("pyld"),
        "sqlalchemy": _package("SQLAlchemy"),
        "psycopg": _package("psycopg"),
        "cryptography": _package("cryptography"),
        "anvil": _command_version([str(find_anvil_binary()), "--version"]),
        "solc": artifact["compiler"]["version"],
        "evm_version": artifact["compiler"].get("evmVersion"),
        "node": _command_version([node_bin, "--version"]) if node_bin else None,
        "eas_contracts": eas,
        "ethr_did_resolver": _npm_version("ethr-did-resolver"),
        "ethr_did_registry": _npm_version("ethr-did-registry"),
    }


def _npm_version(name: str) -> str | None:
    path = REPO_ROOT / "node_modules" / name / "package.json"
    if not path.is_file():
        return None
    version: str | None = json.loads(path.read_text()).get("version")
    return version


# -- anvil --------------------------------------------------------------------------------------


class Rpc:
    """Raw JSON-RPC with batching: bulk-loading state (10^6 storage writes) one HTTP request
    per call would take minutes; anvil answers batches of thousands at once."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    def call(self, method: str, *params: Any) -> Any:
        reply = self.session.post(
            self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        ).json()
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]], chunk: int = 2000) -> list[Any]:
        results: list[Any] = []
        for start in range(0, len(calls), chunk):
            payload = [
                {"jsonrpc": "2.0", "id": start + i, "method": m, "params": list(p)}
                for i, (m, p) in enumerate(calls[start : start + chunk])
            ]
            replies = sorted(
                self.session.post(self.url, data=json.dumps(payload), headers=_JSON).json(),
                key=lambda r: r["id"],
            )
            for reply in replies:
                if "error" in reply:
                    raise RuntimeError(f"batch call failed: {reply['error']}")
                results.append(reply["result"])
        return results


@contextmanager
def fresh_anvil(**kwargs: Any) -> Iterator[AnvilProcess]:
    """A private anvil (default block gas limit, automine) that dies with the section."""
    with AnvilProcess(**kwargs) as process:
        yield process
