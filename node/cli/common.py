"""What every `lernode` command shares: the app, its consoles, one-line failures, and the
options and client of the commands that talk to a running node.

The commands live in one module per group (node.py, credentials.py, institutions.py,
govern.py; `verify` and the entry point in main.py), all registered on `app` below.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from node import __version__
from node.cli.client import NodeClient

app = typer.Typer(
    name="lernode",
    help="Registry node for verifiable Learning and Employment Records.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def fail(message: str, exit_code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(exit_code)


def _show_version(value: bool) -> None:
    if value:
        console.print(f"lernode {__version__}", highlight=False)
        raise typer.Exit(0)


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_show_version
        ),
    ] = False,
) -> None:
    """Registry node for verifiable Learning and Employment Records."""


# -- talking to a running node ------------------------------------------------------------------

NodeOption = Annotated[
    str | None, typer.Option("--node", help="Node API URL (default: LERNODE_NODE_URL or this node)")
]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key", help="API key (default: LERNODE_API_KEY or DATA_DIR/secrets/admin-api-key)"
    ),
]


def connect(node_url: str | None, api_key: str | None) -> NodeClient:
    """The client of a running node, through `node.cli.main._client` (the seam tests replace)."""
    from node.cli import main

    client: NodeClient = main._client(node_url, api_key)
    return client


def make_client(node_url: str | None, api_key: str | None) -> NodeClient:
    from node.config import load_settings

    return NodeClient.from_settings(load_settings(), node_url, api_key)


def _validated(model: Any, data: Any, where: str) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise fail(f"{where}: {field}: {first['msg']}", 2) from None
