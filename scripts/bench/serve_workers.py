"""The API worker processes `lernode up` supervises, for a node another process runs.

    python scripts/bench/serve_workers.py

The node (its data directory, database and chain) is named by the environment that
`workers.served_by_workers` sets: LERNODE_* settings and the chain endpoint the workers attach
to. The supervisor is `lernode up`'s own (node/wiring/workers.py: one listening socket per
worker, uvicorn's process management), so the figures are those of a deployed node.
"""

from __future__ import annotations

import os

from node.config import load_settings
from node.wiring.workers import RPC_URL_ENV, configure_process, worker_supervisor


def main() -> None:
    settings = load_settings()
    configure_process(settings)
    worker_supervisor(settings, os.environ[RPC_URL_ENV]).run(lambda: None)


if __name__ == "__main__":
    main()
