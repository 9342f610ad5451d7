"""`lernode up`: serve a ready node over HTTP until stopped.

The one place that knows the API app and the ASGI server: everything below the API is started
from here and never imports FastAPI or uvicorn itself.
"""

from __future__ import annotations

import logging
import os

import uvicorn
from rich.console import Console

from node.api.app import create_app
from node.config import load_settings
from node.keystore import PRIVATE_UMASK
from node.wiring.bootstrap import admin_key_path, prepare


def serve(console: Console) -> None:
    # Before anything is created: every file and directory of the node (database, WAL, chain
    # state, logs, keys) is its user's alone, whoever creates it (SQLite, anvil, a handler).
    os.umask(PRIVATE_UMASK)
    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    node, institution, accreditation, admin_key = prepare(settings)
    try:
        node.start_background()
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
        uvicorn.run(
            create_app(node),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            # The app decides whom forwarding headers name (LERNODE_TRUSTED_PROXIES,
            # node/api/proxies.py); uvicorn's own default would trust them from loopback.
            proxy_headers=False,
        )
    finally:
        node.close()
        console.print("lernode stopped")
