"""Commands that run the node itself in this process: `up` and `deploy`."""

from __future__ import annotations

from node.cli.common import app, console, fail


@app.command()
def up() -> None:
    """Start the node: embedded chain and SQLite unless configured otherwise, contracts
    deployed, this node's institution accredited, API served. Ctrl-C stops everything."""
    from node.config import load_settings

    try:
        workers = load_settings().worker_count
    except Exception:  # `serve` says what is wrong with the settings
        workers = 1
    if workers > 1:
        from node.wiring.preload import start_forkserver

        start_forkserver()  # its imports overlap this process's (node/wiring/preload.py)
    from node.wiring.server import serve

    serve(console)


@app.command()
def deploy() -> None:
    """Deploy the contracts (a one-member consortium of this node's operator key) and record
    their addresses in DATA_DIR/deployment.json."""
    from node.config import load_settings
    from node.wiring.datadir import claim_data_dir
    from node.wiring.runtime import Node

    settings = load_settings()
    claim_data_dir(settings)
    if settings.deployment_path.exists():
        raise fail(f"already deployed: {settings.deployment_path} exists", 2)
    node = Node.open(settings, deploy_if_missing=True)
    try:
        for name, address in node.deployment.addresses.items():
            console.print(f"{name}: {address}")
        console.print(f"recorded in {settings.deployment_path}")
    finally:
        node.close()
