"""`lernode`: run a node, and talk to one.

`up` and `deploy` run the node itself. The commands an institution or operator uses day to day
(issue, revoke, export, govern) talk to the running node over its HTTP API, so the node's
anchoring worker stays the only sender for its keys. `verify` needs nothing but an RPC URL.

Every failure is one line on stderr and a non-zero exit: 1 for a refused or failed operation,
2 for bad usage or configuration.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

# The command groups register themselves on `app` on import, in `--help` order.
from node.cli import node_commands  # noqa: F401  # isort: skip  (`up`, `deploy` lead)
from node.cli import credentials, institutions  # noqa: F401  # isort: skip
from node.cli.client import ServerProblem
from node.cli.common import app, console, err_console, fail, make_client
from node.cli.govern import register as register_govern
from node.errors import ConfigurationError, LernodeError

__all__ = ["app", "fail", "main"]

register_govern(app)

#: How commands reach a running node (tests replace it).
_client = make_client


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="Credential or bundle JSON file")],
    rpc: Annotated[str, typer.Option("--rpc", help="JSON-RPC URL of the chain")],
    registry: Annotated[str, typer.Option("--registry", help="CredentialRegistry address")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    at: Annotated[str | None, typer.Option(help="Verify as of this ISO 8601 instant")] = None,
    challenge: Annotated[
        str | None, typer.Option(help="A presentation must answer this challenge")
    ] = None,
    domain: Annotated[str | None, typer.Option(help="A presentation must name this domain")] = None,
) -> None:
    """Verify a credential, bundle or presentation with nothing but the chain: exit 0 only if
    valid."""
    from node.cli.verify import run_verify

    raise typer.Exit(
        run_verify(
            file,
            rpc,
            registry,
            json_output=json_output,
            at=at,
            challenge=challenge,
            domain=domain,
        )
    )


#: The recursion limit every `lernode` process runs with. `py_ecc` (imported by eth-account for
#: blob transactions, which lernode never sends) raises it to 100,000 on import; at that limit a
#: deep enough recursion in C (`json.loads`, `repr`) overflows the thread's C stack and kills the
#: process instead of raising RecursionError. 4,000 is four times Python's default, far above
#: anything lernode recurses to (JSON input is bounded at 64 levels before parsing), and far
#: below what an 8 MiB thread stack survives.
RECURSION_LIMIT = 4_000


def restore_recursion_limit() -> None:
    """Import py_ecc now (its import raises the limit), then set the limit back."""
    import py_ecc  # noqa: F401

    sys.setrecursionlimit(RECURSION_LIMIT)


EXIT_USAGE = 2


def _click_exceptions(name: str) -> tuple[type[BaseException], ...]:
    """`name` from every click the CLI may be running on: typer >= 0.19 bundles its own
    (`typer._click`), older typer uses the `click` package; their classes are unrelated."""
    import importlib

    found = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def _usage_error(exc: BaseException) -> None:
    """One line and exit 2 for a usage mistake (missing argument, unknown option or command);
    help asked for by running a group without arguments is printed as it is."""
    if type(exc).__name__ == "NoArgsIsHelpError":
        help_text = exc.format_message()  # type: ignore[attr-defined]  # (rich prints it itself)
        if help_text:
            console.print(help_text, highlight=False)
        sys.exit(EXIT_USAGE)
    message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
    command = getattr(getattr(exc, "ctx", None), "command_path", None) or "lernode"
    err_console.print(
        f"[bold red]error:[/] {escape(message)} (see `{escape(command)} --help`)",
        highlight=False,
        soft_wrap=True,
    )
    sys.exit(getattr(exc, "exit_code", EXIT_USAGE) or EXIT_USAGE)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning expected failures into one line and an exit code."""
    restore_recursion_limit()
    interrupted: tuple[type[BaseException], ...] = (
        KeyboardInterrupt,
        *_click_exceptions("Abort"),
    )
    try:
        # Without standalone mode click returns a command's exit code instead of exiting.
        code = app(args=argv, prog_name="lernode", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except _click_exceptions("Exit") as exc:
        sys.exit(getattr(exc, "exit_code", 0))
    except ServerProblem as exc:
        err_console.print(
            f"[bold red]error[/] {escape(f'[{exc.code}]')} {escape(exc.detail)}",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)
    except LernodeError as exc:
        err_console.print(
            f"[bold red]error:[/] {escape(exc.detail)}", highlight=False, soft_wrap=True
        )
        sys.exit(2 if isinstance(exc, ConfigurationError) else 1)
    except interrupted:
        sys.exit(130)
    except _click_exceptions("ClickException") as exc:
        _usage_error(exc)


if __name__ == "__main__":
    main()
