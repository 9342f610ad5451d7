"""API workers are forked from a forkserver that imported the node (node/wiring/preload.py):
they take the environment and umask of the supervisor that made their configuration, not the
forkserver's older ones, and where no forkserver can start they are spawned as before."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing import forkserver

import pytest

from node.wiring import preload
from node.wiring.lifecycle import WorkerConfig


@pytest.fixture
def forkserver_unavailable(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse() -> None:
        raise OSError("no temporary directory")

    monkeypatch.setattr(forkserver, "ensure_running", refuse)
    monkeypatch.setattr(preload, "_unavailable", [])
    yield


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a forkserver on Linux only")
def test_workers_start_from_the_preloading_forkserver() -> None:
    context = preload.worker_context()
    assert context.get_start_method() == "forkserver"
    assert forkserver._forkserver._preload_modules == [preload.WORKER_MODULE]


@pytest.mark.usefixtures("forkserver_unavailable")
def test_where_no_forkserver_starts_workers_are_spawned() -> None:
    preload.start_forkserver()  # no error: the supervisor goes on
    assert preload.worker_context().get_start_method() == "spawn"


def test_a_worker_takes_the_environment_and_umask_its_supervisor_had(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("_LERNODE_WORKER_RPC_URL", "http://127.0.0.1:8545")
    previous = os.umask(0o077)
    try:
        config = WorkerConfig("node.wiring.workers:worker_app", factory=True)
    finally:
        os.umask(previous)
    assert config.environment["_LERNODE_WORKER_RPC_URL"] == "http://127.0.0.1:8545"
    assert config.umask == 0o077
    loaded: list[tuple[str | None, int]] = []
    monkeypatch.setattr(
        "uvicorn.Config.load",
        lambda self: loaded.append((os.environ.get("_LERNODE_WORKER_RPC_URL"), _umask())),
    )
    monkeypatch.setenv("_LERNODE_WORKER_RPC_URL", "stale")
    config.load()  # in the process that made it: nothing to take
    config.maker = -1  # as in a worker forked elsewhere
    with _process_state_kept():
        config.load()
    assert loaded == [("stale", previous), ("http://127.0.0.1:8545", 0o077)]


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@contextmanager
def _process_state_kept() -> Iterator[None]:
    """This test process's environment and umask as they were, whatever the block sets."""
    environment, umask = dict(os.environ), _umask()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(environment)
        os.umask(umask)
