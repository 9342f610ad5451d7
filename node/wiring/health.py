"""`/health` that answers within a second whatever the chain does.

The chain is asked through a client of its own with a short budget and no retries, and its
answer is kept for `max_age` seconds; while one request probes, the others take the last
answer instead of queueing behind it. So a chain that accepts connections and never replies
makes `/health` say `degraded` with the reason, quickly, instead of hanging for the ordinary
client's 15 s read timeout times its retries.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from node.chain.client import ChainClient
from node.errors import LernodeError

#: Longest time one probe may wait for the chain (connect, then read).
PROBE_CONNECT = 0.3
PROBE_READ = 0.5


@dataclass(frozen=True)
class ChainHead:
    latest_block: int | None
    problem: str | None  # why the chain did not answer, if it did not


class ChainProbe:
    def __init__(self, rpc_url: str, max_age: float = 1.0) -> None:
        self.client = ChainClient(
            rpc_url, connect_timeout=PROBE_CONNECT, read_timeout=PROBE_READ, read_attempts=1
        )
        self.max_age = max_age
        self._last: tuple[float, ChainHead] | None = None
        self._probing = threading.Lock()

    def head(self) -> ChainHead:
        last = self._last
        if last is not None and time.monotonic() - last[0] < self.max_age:
            return last[1]
        if not self._probing.acquire(blocking=False):
            # Another request is asking the chain right now: answer with what we know.
            return last[1] if last is not None else ChainHead(None, "chain probe in progress")
        try:
            try:
                head = ChainHead(self.client.latest_block(), None)
            except LernodeError as exc:
                head = ChainHead(None, f"chain: {exc.detail}")
            self._last = (time.monotonic(), head)
            return head
        finally:
            self._probing.release()
