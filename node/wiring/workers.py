"""Serving on every core: the API as several worker processes beside one chain sender.

One Python process serves one request at a time per core at best (the GIL), so `lernode up`
starts `LERNODE_WORKERS` uvicorn worker processes (default: one per core) on the listening
socket. The process that ran `lernode up` stays their supervisor and keeps the node's one-off
work: the embedded anvil, the anchoring worker (the only process that signs and sends anchors
and status changes, which also holds the sending lease: a PostgreSQL advisory lock, or a file
lock beside a SQLite database) and the chain indexers. Workers attach to what it prepared: the
same database, keys, deployment and chain endpoint, with no background threads, and answer
from the event index the supervisor keeps at the head. They are forked from a forkserver that
imported the node beside the supervisor (node/wiring/preload.py), rather than each importing it
again in a fresh interpreter.

Counters of every process meet in prometheus_client's multi-process directory
(DATA_DIR/metrics, emptied at each start), so `/metrics` on any worker shows the whole node.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from node import metrics
from node.api.app import create_app
from node.chain.bindings import Contracts, Deployment
from node.chain.client import ChainClient
from node.chain.embedded import die_with_parent, parent_pid
from node.config import Settings, load_settings
from node.keystore import KeyStore, load_or_create_passphrase
from node.logs import configure_logging
from node.store.db import Database
from node.wiring.lifecycle import (
    ListeningServer,
    WorkerConfig,
    WorkerSupervisor,
    settle_startup_heap,
)
from node.wiring.runtime import OPERATOR_KEY, Node

log = logging.getLogger(__name__)

#: How the supervisor tells its workers where the chain is (the embedded anvil's port is only
#: known once it runs). Not a setting: no `LERNODE_` prefix.
RPC_URL_ENV = "_LERNODE_WORKER_RPC_URL"
#: The supervisor's PID, for a worker to bind its life to. Read from here, not from the worker's
#: `getppid()`: a worker takes seconds to import the app before it can bind, and a supervisor
#: killed meanwhile has left it reparented (getppid() is then init's PID, and a worker bound to
#: that would outlive the node on its port).
SUPERVISOR_PID_ENV = "_LERNODE_SUPERVISOR_PID"


def configure_process(settings: Settings) -> None:
    """The supervisor's log format, before anything logs."""
    configure_logging(settings.log_level, settings.log_format, settings.access_log)


def serve_api(node: Node, settings: Settings, announce: Callable[[], None]) -> None:
    """Serve the API until stopped: in this process for one worker, else in worker processes.

    Either way `announce` runs once the socket listens, the node's background work starts
    beside the server, and a dead embedded chain stops the server (then `raise_failure`)."""
    if settings.worker_count <= 1:
        metrics.configure(None)
        app = _serving_app(node)
        config = uvicorn.Config(app, **_server_options(settings))  # type: ignore[arg-type]
        server = ListeningServer(config, announce)
        node.start_background(on_chain_exit=server.stop_because)
        with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the signal it handled
            server.run()
        server.raise_failure()
        return
    log.info("serving the API in %d worker processes", settings.worker_count)
    supervisor = worker_supervisor(settings, node.chain.rpc_url)
    node.start_background(on_chain_exit=supervisor.stop_because)
    with contextlib.suppress(KeyboardInterrupt):
        supervisor.run(announce)
    supervisor.raise_failure()


def worker_supervisor(settings: Settings, rpc_url: str) -> WorkerSupervisor:
    """The supervisor of `settings.worker_count` API worker processes (`worker_app`) attached
    to the node whose chain answers at `rpc_url`: this process's in `lernode up`, or one the
    benchmark runs (scripts/bench/serve_workers.py). Run it from the main thread."""
    # Counters of every process in one directory (the data directory exists by now: `prepare`
    # created and checked it).
    metrics.configure(settings.data_dir.resolve() / "metrics")
    os.environ[RPC_URL_ENV] = rpc_url
    os.environ[SUPERVISOR_PID_ENV] = str(os.getpid())
    config = WorkerConfig(
        f"{__name__}:worker_app",
        factory=True,
        workers=settings.worker_count,
        **_server_options(settings),
    )
    return WorkerSupervisor(config)


def _server_options(settings: Settings) -> dict[str, object]:
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "log_config": None,  # configure_logging already set the format
        # The app decides whom forwarding headers name (LERNODE_TRUSTED_PROXIES,
        # node/api/proxies.py); uvicorn's own default would trust them from loopback.
        "proxy_headers": False,
    }


def attach(settings: Settings, rpc_url: str) -> Node:
    """A node over what the supervisor prepared (database migrated, contracts deployed, keys
    created): nothing is started, created or deployed here."""
    data_dir = settings.data_dir.resolve()
    passphrase = load_or_create_passphrase(data_dir, settings.key_passphrase)
    keystore = KeyStore(data_dir / "keys", passphrase)
    operator = keystore.account(OPERATOR_KEY, settings.account_key)
    db = Database(settings.sqlalchemy_url)
    expected = settings.embedded_chain_id if settings.embedded else settings.chain_id
    chain = ChainClient(rpc_url, expected_chain_id=expected)
    try:
        chain.connect()
        deployment = Deployment.load(settings.deployment_path)
    except BaseException:
        db.dispose()
        raise
    return Node(
        settings=settings,
        keystore=keystore,
        db=db,
        chain=chain,
        deployment=deployment,
        contracts=Contracts(chain, deployment),
        operator=operator,
    )


def _exit_with_supervisor(interval: float = 0.25) -> None:
    """End this worker as soon as its supervisor is gone.

    A supervisor killed with SIGKILL cannot stop its workers, and orphaned workers would go on
    answering on the node's port (a restarted node could not bind it). Exiting at once, without
    cleanup, is what kill -9 of `lernode up` means for the whole node. A worker whose
    supervisor died before this ran exits here, before it serves anything.

    A worker's parent is its supervisor (spawned) or the supervisor's forkserver (forked,
    node/wiring/preload.py). A forked worker watches the supervisor itself, not its parent:
    the forkserver outlives the supervisor while workers hold its end of their shared pipe, and
    a forkserver stopped on its own (a service manager signals every process of the node)
    must not cut short the workers' graceful stop."""
    supervisor = int(os.environ.get(SUPERVISOR_PID_ENV) or os.getppid())
    parent = os.getppid()

    def orphaned() -> bool:
        return parent != supervisor and parent_pid(parent) != supervisor

    if orphaned():
        os._exit(1)
    # Linux: the kernel kills this worker the instant its supervisor dies, or (forked) wakes
    # it then, before a restarted node could meet it on the port. Other systems poll.
    if parent == supervisor:
        bind = die_with_parent(supervisor)
        if bind is not None:
            bind()
            return
    elif _watch(supervisor):
        if orphaned():  # the supervisor died before the watch began
            os._exit(1)
        return

    def watch() -> None:
        while os.getppid() == parent and not orphaned():
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()


def _watch(supervisor: int) -> bool:
    """Exit this process the moment `supervisor` ends (a Linux pidfd, readable then); False
    where there is none."""
    try:
        pidfd = os.pidfd_open(supervisor)
    except (AttributeError, OSError):  # no pidfd_open here, or the supervisor is gone
        return False

    def watch() -> None:
        select.select([pidfd], [], [])
        os._exit(1)

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()
    return True


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn's factory, run in the worker: forked from the
    forkserver, or spawned as a fresh interpreter when uvicorn replaces a dead one)."""
    _exit_with_supervisor()
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format, settings.access_log)
    try:
        node = attach(settings, os.environ[RPC_URL_ENV])
    except Exception as error:
        # The supervisor is stopping (the chain died) or will restart this worker: say why once.
        log.error("an API worker could not attach to the node: %s", error)
        raise SystemExit(1) from None
    app = _serving_app(node)
    app.router.on_shutdown.append(node.close)
    return app


def _serving_app(node: Node) -> FastAPI:
    """The app a serving process runs: once started, its startup heap is settled."""
    app = create_app(node)
    app.router.on_startup.append(settle_startup_heap)
    return app
