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

import gc
import logging
import os
import signal
import socket
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn
from uvicorn._subprocess import subprocess_started
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from node.errors import ChainError
from node.wiring.preload import start_forkserver, worker_context

log = logging.getLogger("uvicorn.error")


def settle_startup_heap() -> None:
    """Take what a process built to serve (modules, the app, the node's services and caches,
    which live as long as the process) out of the garbage collector's reach (`gc.freeze`).

    Otherwise each full collection walks all of it again, and one lands on some request's
    time: measured ~110 ms of one issuance request in ten (1,000 credentials each) on a node's
    heap. Objects made later are collected as before."""
    gc.collect()
    gc.freeze()


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
        # Bound and listening here, not by each worker once it has imported the app (seconds
        # later, and until then a client would be refused): the kernel queues connections
        # from the announcement on.
        sockets = listening_sockets(self.config)
        # Multiprocess handles SIGINT/SIGTERM itself from here: it stops its workers, returns.
        self._supervisor = _OneSocketEach(self.config, sockets)
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


def listening_sockets(config: uvicorn.Config) -> list[socket.socket]:
    """One listening socket per worker on the configured address, in one SO_REUSEPORT group,
    so the kernel spreads new connections evenly across the workers (by a hash of each
    client's address and port).

    One socket shared by every worker is not spread: a worker woken by a burst of connections
    accepts every one queued, so the keep-alive connections of a load balancer or of 32
    verifiers connecting at once all ended up on one worker, one core, about one run in three
    (scripts/bench.py). Where SO_REUSEPORT is missing, one shared socket as before.

    The address is first bound alone: a socket without SO_REUSEPORT cannot share a port, so a
    port already in use (another node's group included, which the kernel would otherwise let
    this one join) fails here as it would for one socket."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    count = config.workers if hasattr(socket, "SO_REUSEPORT") else 1
    try:
        with socket.socket(family, socket.SOCK_STREAM) as alone:
            alone.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            alone.bind((config.host, config.port))
            address = alone.getsockname()[:2]  # the port chosen, if 0 was asked for
        sockets = [_member(family, address, shared=count > 1) for _ in range(count)]
    except OSError as error:
        log.error("cannot listen on %s:%s: %s", config.host, config.port, error)
        raise SystemExit(STARTUP_FAILURE) from None
    for listening in sockets:
        listening.listen(config.backlog)
    log.info("listening on %s port %d with %d socket(s)", *address, len(sockets))
    return sockets


def _member(
    family: socket.AddressFamily, address: tuple[str, int], *, shared: bool
) -> socket.socket:
    member = socket.socket(family, socket.SOCK_STREAM)
    member.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        member.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    member.bind(address)
    member.set_inheritable(True)
    return member


class WorkerConfig(uvicorn.Config):
    """A worker's uvicorn configuration, carrying the environment and umask of the process
    that made it. A worker forked from the forkserver (node/wiring/preload.py) inherits the
    forkserver's, from before the supervisor knew where its chain answers or where the metrics
    go; it takes these instead, as a spawned worker inherits them."""

    def __init__(self, app: Any, **options: Any) -> None:
        super().__init__(app, **options)
        self.environment = dict(os.environ)
        self.umask = os.umask(0)
        os.umask(self.umask)
        self.maker = os.getpid()

    def load(self) -> None:
        if not self.loaded and os.getpid() != self.maker:
            os.environ.clear()
            os.environ.update(self.environment)
            os.umask(self.umask)
        super().load()


class _ForkedWorker(Process):
    """uvicorn's worker process, forked from the preloaded forkserver rather than spawned
    (a dead worker's replacement, which uvicorn makes itself, is still spawned)."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
        super().__init__(config, sockets)  # its spawned process is made, never started
        kwargs = {"config": config, "target": self.target, "sockets": sockets, "stdin_fileno": None}
        # The same calls on either kind of process (uvicorn's annotation names one).
        self.process = worker_context().Process(  # type: ignore[assignment]
            target=subprocess_started, kwargs=kwargs
        )


class _OneSocketEach(Multiprocess):
    """uvicorn's worker supervisor, starting worker i on the i-th listening socket only (all on
    the one socket there is without SO_REUSEPORT), forked from the forkserver.

    A worker started later (one that replaces a dead worker, SIGHUP, SIGTTIN) gets them all,
    as uvicorn gives every worker: no socket is ever left without a worker accepting on it."""

    def init_processes(self) -> None:
        start_forkserver()  # started early by `lernode up`; here for any other supervisor
        for index in range(self.processes_num):
            process = _ForkedWorker(self.config, [self.sockets[index % len(self.sockets)]])
            process.start()
            self.processes.append(process)


def _raise_chain_failure(failure: ChainError | None) -> None:
    if failure is not None:
        raise ChainError(
            f"the embedded chain stopped ({failure.detail}); "
            "run `lernode up` again to continue from its last saved state",
            code="embedded_chain_exited",
        )
