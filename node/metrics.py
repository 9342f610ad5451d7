"""What operators scrape at `GET /metrics`: the node's counters in the Prometheus format.

Every layer reports through the few functions below (`http_request`, `verification`,
`rpc_calls`, `transaction_refused`), so no service knows about Prometheus. Metrics are created
on first use rather than at import: when the API runs as several worker processes, `configure`
must point prometheus_client at a shared directory (its multi-process mode) before any value
exists, and the master process imports this module long before it knows the data directory.

Figures that live in the database (outbox depth, anchoring lag) are not counted here at all:
the `/metrics` route reads them at scrape time (`node.store.backlog`), so they are right
whichever process did the work and survive restarts.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.metrics_core import Metric

__all__ = ["CONTENT_TYPE_LATEST"]

#: Seconds; finer than the default buckets at the low end, where a verification should be.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _State:
    """Where this process keeps its metrics (one instance: `_state`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.registry: CollectorRegistry | None = None
        self.metrics: dict[str, Any] = {}
        self.multiproc_dir: Path | None = None


_state = _State()


def configure(multiproc_dir: Path | None) -> None:
    """Share values between processes through files in `multiproc_dir` (emptied first: files of
    a previous run would be added to this one's), or keep them in this process (None).

    Call before any metric is used, in the process that then starts the workers; they inherit
    the environment variable prometheus_client reads."""
    with _state.lock:
        if multiproc_dir is not None:
            shutil.rmtree(multiproc_dir, ignore_errors=True)
            multiproc_dir.mkdir(parents=True)
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc_dir)
        else:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        _state.multiproc_dir = multiproc_dir
        # prometheus_client picks file- or memory-backed values from the environment when it is
        # imported; metrics made from now on follow the new choice.
        values.ValueClass = values.get_value_class()
        _state.metrics.clear()
        _state.registry = None


def _attach() -> None:
    """In a worker started by another process, follow the directory it configured."""
    inherited = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if inherited and _state.multiproc_dir is None:
        _state.multiproc_dir = Path(inherited)
        values.ValueClass = values.get_value_class()


def _get(name: str, make: Callable[[CollectorRegistry], Any]) -> Any:
    metric = _state.metrics.get(name)
    if metric is not None:
        return metric
    with _state.lock:
        if name not in _state.metrics:
            _attach()
            if _state.registry is None:
                _state.registry = CollectorRegistry(auto_describe=True)
            _state.metrics[name] = make(_state.registry)
        return _state.metrics[name]


@dataclass(frozen=True)
class _Family:
    """One metric family, made in this process's registry on first use (see `_get`): a
    histogram over `buckets`, or a counter without them."""

    name: str
    documentation: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] | None = None

    def get(self) -> Any:
        return _get(self.name, self._make)

    def _make(self, registry: CollectorRegistry) -> Any:
        if self.buckets is None:
            return Counter(self.name, self.documentation, self.labels, registry=registry)
        return Histogram(
            self.name, self.documentation, self.labels, registry=registry, buckets=self.buckets
        )


_HTTP = _Family(
    "lernode_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ("method", "route", "status"),
    LATENCY_BUCKETS,
)
_VERIFICATIONS = _Family(
    "lernode_verifications",
    "Credentials verified, by verdict (refused: input the verifier could not evaluate).",
    ("verdict",),
)
_RPC = _Family(
    "lernode_jsonrpc_calls",
    "JSON-RPC calls sent to the chain node (a batch counts each call in it).",
    ("method",),
)
_RPC_REQUESTS = _Family(
    "lernode_jsonrpc_requests",
    "HTTP round trips to the chain node (one per call, or one per batch).",
)
_REFUSED = _Family(
    "lernode_refused_transactions",
    "Transactions of an institution the chain refused (reverted or rejected).",
    ("institution",),
)
_FAMILIES = (_HTTP, _VERIFICATIONS, _RPC, _RPC_REQUESTS, _REFUSED)


# -- what the layers report ------------------------------------------------------------------


def http_request(method: str, route: str, status: int, seconds: float) -> None:
    _HTTP.get().labels(method, route, str(status)).observe(seconds)


def verification(verdict: str) -> None:
    _VERIFICATIONS.get().labels(verdict).inc()


def rpc_calls(methods: Iterable[str]) -> None:
    """One round trip carrying `methods` (one method, or every call of a batch)."""
    counter = _RPC.get()
    for method in methods:
        counter.labels(method).inc()
    _RPC_REQUESTS.get().inc()


def transaction_refused(institution: str | int) -> None:
    """For the anchoring code: the chain refused a transaction of `institution`."""
    _REFUSED.get().labels(str(institution)).inc()


# -- exposition ------------------------------------------------------------------------------


class _Scraped:
    """A collector whose metrics are computed when scraped (database figures)."""

    def __init__(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterable[Metric]:
        return self._collect()


def exposition(extra: Callable[[], Iterable[Metric]] | None = None) -> bytes:
    """The text a scrape returns: every process's counters, plus `extra` computed now."""
    _attach()
    for family in _FAMILIES:
        family.get()  # so that every family is listed, even before its first sample
    registry = CollectorRegistry()
    if _state.multiproc_dir is not None:
        multiprocess.MultiProcessCollector(registry, path=str(_state.multiproc_dir))
    else:
        own = _state.registry
        registry.register(_Scraped(lambda: own.collect() if own else []))
    if extra is not None:
        registry.register(_Scraped(extra))
    return generate_latest(registry)


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    """The current value of one sample in this process (tests; None counts as 0)."""
    registry = _state.registry
    if registry is None:
        return 0.0
    value = registry.get_sample_value(name, labels or {})
    return float(value or 0.0)
