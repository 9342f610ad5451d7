"""How `lernode up` starts and stops: signals, the moment it is really up, a dead chain.

- SIGTERM is handled like Ctrl-C (SIGINT) from the very start, so `kill <pid>` at any point,
  even before the API serves, runs the shutdown path: background work stops, the embedded
  chain's state is saved, and anvil is stopped with the node.
- "Up" is announced only once uvicorn listens: a node that cannot bind its port never claims
  to be up.
- If the embedded chain dies, the node stops too (non-zero exit): its state rewound to the
  last save, and only a fresh start resynchronises nonces, cursors and the outbox with it.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess

from node.errors import ChainError


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def stop_on_termination() -> None:
    """SIGTERM raises KeyboardInterrupt in the main thread, like SIGINT."""
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)


def ignore_termination() -> None:
    """While shutting down: a second signal must not cut the cleanup short (SIGKILL still
    ends the process, and the chain with it)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ListeningServer(uvicorn.Server):
    """A uvicorn server that reports when its sockets listen, and can be stopped for a
    reason (the embedded chain died) that the caller raises after the graceful shutdown."""

    def __init__(self, config: uvicorn.Config, on_listening: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_listening = on_listening
        self.failure: ChainError | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            self._on_listening()

    def stop_because(self, error: ChainError) -> None:
        """Called from any thread: finish the requests in flight, then stop."""
        self.failure = error
        self.should_exit = True

    def raise_failure(self) -> None:
        _raise_chain_failure(self.failure)


class WorkerSupervisor:
    """uvicorn's worker-process supervisor, announcing once its socket listens and stoppable
    for a reason (the embedded chain died) like `ListeningServer`."""

    def __init__(self, config: uvicorn.Config) -> None:
        self.config = config
        self.failure: ChainError | None = None
        self._supervisor: Multiprocess | None = None

    def run(self, on_listening: Callable[[], None]) -> None:
        listening = self.config.bind_socket()
        # uvicorn's bind_socket only binds: each worker listens once it has imported the app,
        # seconds later, and until then a client is refused. Listening here, the kernel queues
        # connections from the announcement on, for the first worker ready to accept.
        listening.listen(self.config.backlog)
        # Multiprocess handles SIGINT/SIGTERM itself from here: it stops its workers, returns.
        self._supervisor = Multiprocess(self.config, sockets=[listening])
        if self.failure is not None:
            self._supervisor.should_exit.set()
        on_listening()
        self._supervisor.run()

    def stop_because(self, error: ChainError) -> None:
        """Called from any thread: stop the workers, then the supervisor."""
        self.failure = error
        if self._supervisor is not None:
            self._supervisor.should_exit.set()

    def raise_failure(self) -> None:
        _raise_chain_failure(self.failure)


def _raise_chain_failure(failure: ChainError | None) -> None:
    if failure is not None:
        raise ChainError(
            f"the embedded chain stopped ({failure.detail}); "
            "run `lernode up` again to continue from its last saved state",
            code="embedded_chain_exited",
        )
