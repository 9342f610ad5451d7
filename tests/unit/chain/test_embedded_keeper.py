"""The embedded chain's keeper thread is the node's only watch on its chain process and what
bounds what a crash of it loses (periodic saves): it must outlive whatever a check or a save
raises, and still report the chain's death afterwards."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from node.chain import embedded
from node.chain.embedded import EmbeddedChain
from node.errors import ChainError


class _Surprising(EmbeddedChain):
    """A keeper over no process: its first check and first save raise what nobody expects,
    later saves succeed, and a later check finds the chain dead."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, save_interval=0)
        self.checks = 0
        self.saves = 0

    def check_alive(self) -> None:
        self.checks += 1
        if self.checks == 1:
            raise RuntimeError("a surprise while checking")
        if self.checks >= 6:
            raise ChainError("anvil exited")

    def save(self) -> int:
        self.saves += 1
        if self.saves == 1:
            raise ValueError("a surprise while saving")
        return 0


def test_the_keeper_outlives_surprises_and_still_reports_the_chain_dying(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedded, "WATCH_TICK", 0.01)
    chain = _Surprising(tmp_path)
    died = threading.Event()
    chain.watch(lambda error: died.set())
    try:
        deadline = time.monotonic() + 10
        while not died.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert died.is_set(), "the keeper ended before the chain died"
        assert chain.saves >= 2  # saved again after the failed save
    finally:
        chain._watch_stop.set()
