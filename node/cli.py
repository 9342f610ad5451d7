"""`lernode`: run a node, and talk to one.

`up` and `deploy` run the node itself. The commands an institution or operator uses day to day
(issue, revoke, export, govern) talk to the running node over its HTTP API, so the node's
anchoring worker stays the only sender for its keys. `verify` needs nothing but an RPC URL.

Every failure is one line on stderr and a non-zero exit: 1 for a refused or failed operation,
2 for bad usage or configuration.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from node.errors import ConfigurationError, LernodeError

app = typer.Typer(
    name="lernode",
    help="Registry node for verifiable Learning and Employment Records.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, exit_code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(exit_code)


@app.command()
def up() -> None:
    """Start the node: embedded chain and SQLite unless configured otherwise, contracts
    deployed, this node's institution accredited, API served. Ctrl-C stops everything."""
    from node.services.bootstrap import serve

    serve(console)


@app.command()
def deploy() -> None:
    """Deploy the contracts (a one-member consortium of this node's operator key) and record
    their addresses in DATA_DIR/deployment.json."""
    from node.config import load_settings
    from node.runtime import Node

    settings = load_settings()
    if settings.deployment_path.exists():
        raise fail(f"already deployed: {settings.deployment_path} exists", 2)
    node = Node.open(settings, deploy_if_missing=True)
    try:
        for name, address in node.deployment.addresses.items():
            console.print(f"{name}: {address}")
        console.print(f"recorded in {settings.deployment_path}")
    finally:
        node.close()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning expected failures into one line and an exit code."""
    try:
        app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except LernodeError as exc:
        err_console.print(f"[bold red]error:[/] {exc.detail}", highlight=False, soft_wrap=True)
        sys.exit(2 if isinstance(exc, ConfigurationError) else 1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # click usage errors and friends
        import click

        if isinstance(exc, click.exceptions.ClickException):
            err_console.print(f"[bold red]error:[/] {exc.format_message()}", highlight=False)
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(130)
        raise


if __name__ == "__main__":
    main()
