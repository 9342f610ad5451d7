"""An indexer thread outlives whatever one poll raises: the node's index is what verification
answers from, and a thread that ended on one unexpected exception (seen in the suite: a KeyError
from `os.environ` changing under `requests`' proxy lookup) left it behind the chain for good."""

from __future__ import annotations

import threading
import time

import pytest

from node.errors import ChainError, ConfigurationError
from node.indexing.indexer import Indexer


class _Flaky(Indexer):
    """An indexer whose first polls fail in each way a poll can, then succeed."""

    def __init__(self) -> None:  # no chain or database: only `run`'s loop is under test
        self.cursor = "test"
        self.poll_interval = 0.001
        self.failures: list[BaseException] = [
            KeyError("PYTEST_CURRENT_TEST"),
            ChainError("connection refused"),  # an outage: retryable
            ConfigurationError("not retryable"),
        ]
        self.successes = 0

    def poll_once(self) -> int:
        if self.failures:
            raise self.failures.pop(0)
        self.successes += 1
        return 0


def test_an_indexer_keeps_polling_after_any_failure(caplog: pytest.LogCaptureFixture) -> None:
    indexer, stop = _Flaky(), threading.Event()
    thread = threading.Thread(target=indexer.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while indexer.successes < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join(5)
    assert indexer.successes >= 3 and not thread.is_alive()
    assert "KeyError" in caplog.text  # logged with its traceback, not swallowed
