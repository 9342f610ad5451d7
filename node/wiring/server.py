"""`lernode up`: serve a ready node over HTTP until stopped.

The one place that knows the API app and the ASGI server: everything below the API is started
from here and never imports FastAPI or uvicorn itself.
"""

from __future__ import annotations

from rich.console import Console

from node.config import load_settings
from node.wiring.bootstrap import admin_key_path, prepare
from node.wiring.workers import configure_process, serve_api


def serve(console: Console) -> None:
    settings = load_settings()
    configure_process(settings)
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
        serve_api(node, settings)
    finally:
        node.close()
        console.print("lernode stopped")
