"""`lernode up`: serve a ready node over HTTP until stopped.

Process concerns (the data directory lock, signals, the chain dying, announcing "up") are in
datadir.py and lifecycle.py; serving on every core (worker processes) in workers.py, the one
place besides lifecycle.py that knows the API app and the ASGI server.
"""

from __future__ import annotations

import os

from rich.console import Console

from node.config import Settings, load_settings
from node.keystore import PRIVATE_UMASK
from node.store.models import Institution
from node.wiring.bootstrap import admin_key_path, prepare
from node.wiring.datadir import claim_data_dir
from node.wiring.lifecycle import ignore_termination, stop_on_termination
from node.wiring.runtime import Node
from node.wiring.workers import configure_process, serve_api


def serve(console: Console) -> None:
    # Before anything is created: every file and directory of the node (database, WAL, chain
    # state, logs, keys) is its user's alone, whoever creates it (SQLite, anvil, a handler).
    os.umask(PRIVATE_UMASK)
    settings = load_settings()
    configure_process(settings)
    claim_data_dir(settings)
    stop_on_termination()
    node, institution, accreditation, admin_key = prepare(settings)
    try:
        serve_api(
            node,
            settings,
            announce=lambda: _banner(
                console, settings, node, institution, accreditation, admin_key
            ),
        )
    finally:
        ignore_termination()
        node.close()
        console.print("lernode stopped")


def _banner(
    console: Console,
    settings: Settings,
    node: Node,
    institution: Institution,
    accreditation: str,
    admin_key: str | None,
) -> None:
    base = settings.base_url
    console.print(f"[bold green]lernode is up[/] on chain {node.deployment.chain_id}")
    console.print(f"  API          {base}   (docs: {base}/docs)")
    console.print(f"  verify page  {base}/verify")
    console.print(f"  chain RPC    {node.chain.rpc_url}")
    for name, address in node.deployment.addresses.items():
        console.print(f"  {name:<20} {address}")
    console.print(f"  issuer DID   {institution.did} ({accreditation})")
    if admin_key is not None:
        console.print(f"  admin API key (shown once, also in {admin_key_path(settings)}):")
        console.print(f"    {admin_key}", highlight=False)
    else:
        console.print(f"  admin API key in {admin_key_path(settings)}")
