"""The API workers' forkserver: started first thing in `lernode up`, it imports the node once,
on another core, while the supervisor imports and prepares the node; each worker is then forked
from it, ready in a fraction of a second. Spawned instead, every worker is a fresh interpreter
that imports the whole node again (~3.5 s of a core each), and only after the supervisor has
finished its own imports and preparation: a node with two workers took ~8.5 s to answer.

Only the standard library here: this runs before anything heavy is imported.
"""

from __future__ import annotations

import multiprocessing
import sys
from multiprocessing.context import ForkServerContext, SpawnContext

#: What a worker runs, and so what the forkserver imports before its first fork.
WORKER_MODULE = "node.wiring.workers"
#: Set when the forkserver could not start here: workers are then spawned.
_unavailable: list[OSError] = []


def worker_context() -> ForkServerContext | SpawnContext:
    """Where workers start from: the forkserver on Linux (where a worker can check who its
    parent's parent is, node/wiring/workers.py), fresh interpreters elsewhere."""
    if not sys.platform.startswith("linux") or _unavailable:
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([WORKER_MODULE])
    return context


def start_forkserver() -> None:
    """Start the forkserver now (if it does not run yet), so that it imports the node beside
    this process's own work. It exits once this process and the workers forked from it have
    ended (each holds an end of its pipe). Where it cannot start, workers are spawned."""
    if worker_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        try:
            forkserver.ensure_running()
        except OSError as error:  # e.g. no writable temporary directory for its socket
            _unavailable.append(error)
