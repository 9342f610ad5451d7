"""`lernode`: run a node, and talk to one.

`up` and `deploy` run the node itself. The commands an institution or operator uses day to day
(issue, revoke, export, govern) talk to the running node over its HTTP API, so the node's
anchoring worker stays the only sender for its keys. `verify` needs nothing but an RPC URL.

Every failure is one line on stderr and a non-zero exit: 1 for a refused or failed operation,
2 for bad usage or configuration.
"""

from __future__ import annotations

import base64
import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress

from node import __version__
from node.cli.client import NodeClient, ServerProblem, read_json_file
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


@app.command()
def up() -> None:
    """Start the node: embedded chain and SQLite unless configured otherwise, contracts
    deployed, this node's institution accredited, API served. Ctrl-C stops everything."""
    from node.wiring.server import serve

    serve(console)


@app.command()
def deploy() -> None:
    """Deploy the contracts (a one-member consortium of this node's operator key) and record
    their addresses in DATA_DIR/deployment.json."""
    from node.config import load_settings
    from node.wiring.runtime import Node

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


def _client(node_url: str | None, api_key: str | None) -> NodeClient:
    from node.config import load_settings

    return NodeClient.from_settings(load_settings(), node_url, api_key)


@app.command()
def issue(
    file: Annotated[
        Path | None, typer.Option("--file", help="JSON: one credential input or a list")
    ] = None,
    template: Annotated[
        Path | None, typer.Option("--template", help="JSON template for a CSV cohort")
    ] = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="CSV: one learner per row")] = None,
    learner_name: Annotated[str | None, typer.Option(help="Learner's name")] = None,
    learner_email: Annotated[str | None, typer.Option(help="Learner's email (hashed)")] = None,
    achievement: Annotated[str | None, typer.Option(help="Achievement name")] = None,
    description: Annotated[str | None, typer.Option(help="Achievement description")] = None,
    criteria: Annotated[str | None, typer.Option(help="What earning it required")] = None,
    achievement_type: Annotated[str, typer.Option(help="OB 3.0 achievementType")] = "Course",
    jcs: Annotated[bool, typer.Option("--jcs", help="Sign with eddsa-jcs-2022")] = False,
    anchor_now: Annotated[bool, typer.Option(help="Anchor at once, not in the next batch")] = False,
    out: Annotated[Path | None, typer.Option(help="Write the issued credentials here")] = None,
    offer: Annotated[
        bool, typer.Option("--offer", help="Also offer each credential to its learner's wallet")
    ] = False,
    offers_dir: Annotated[
        Path, typer.Option(help="With --offer: where the QR PNGs and offers.csv go")
    ] = Path("offers"),
    node_url: NodeOption = None,
    api_key: KeyOption = None,
) -> None:
    """Issue one credential (flags or --file) or a cohort (--template + --csv); with --offer,
    print each learner's wallet link and QR code (PNGs and offers.csv in --offers-dir)."""
    inputs = _issue_inputs(
        file,
        template,
        csv_file,
        learner_name,
        learner_email,
        achievement,
        description,
        criteria,
        achievement_type,
    )
    client = _client(node_url, api_key)
    issued: list[dict[str, Any]] = []
    suite = "eddsa-jcs-2022" if jcs else "eddsa-rdfc-2022"
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("issuing", total=len(inputs))
        for start in range(0, len(inputs), ISSUE_CHUNK):
            chunk = inputs[start : start + ISSUE_CHUNK]
            body = {"credentials": chunk, "cryptosuite": suite, "anchor_now": anchor_now}
            issued.extend(client.post("/v1/credentials", json=body)["credentials"])
            progress.advance(task, len(chunk))
    if out is not None:
        out.write_text(json.dumps([c["credential"] for c in issued], indent=2) + "\n")
    for item in issued[:10]:
        console.print(f"{item['id']}  {item['state']}")
    if len(issued) > 10:
        console.print(f"... and {len(issued) - 10} more")
    where = f"; written to {out}" if out else ""
    console.print(f"issued {len(issued)} credential(s) with {suite}{where}")
    if offer:
        from node.cli.offers import hand_out, learner_label, make_offers

        ids = [item["id"] for item in issued]
        labels = {cid: learner_label(item) for cid, item in zip(ids, inputs, strict=True)}
        cohort = csv_file.stem if csv_file is not None else None
        made = make_offers(client, ids, cohort=cohort, ttl=None, tx_code=False)
        hand_out(console, made, offers_dir, labels=labels)


ISSUE_CHUNK = 500


def _issue_inputs(
    file: Path | None,
    template: Path | None,
    csv_file: Path | None,
    learner_name: str | None,
    learner_email: str | None,
    achievement: str | None,
    description: str | None,
    criteria: str | None,
    achievement_type: str,
) -> list[dict[str, Any]]:
    """The credential inputs as JSON-ready dicts, validated before anything is sent."""
    from node.credentials.cohort import cohort_inputs
    from node.credentials.inputs import CredentialInput

    if template is not None or csv_file is not None:
        if template is None or csv_file is None:
            raise fail("a cohort needs both --template and --csv", 2)
        try:
            csv_text = csv_file.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise fail(f"cannot read {csv_file}: {reason}", 2) from None
        try:
            parsed = cohort_inputs(read_json_file(template), csv_text)
        except csv.Error as exc:  # e.g. a field over the csv module's 128 KiB limit
            raise fail(f"{csv_file} is not a readable CSV: {exc}", 2) from None
    elif file is not None:
        data = read_json_file(file)
        items = data if isinstance(data, list) else [data]
        parsed = [
            _validated(CredentialInput, item, f"{file} item {i}") for i, item in enumerate(items, 1)
        ]
    else:
        if not (achievement and (learner_email or learner_name)):
            raise fail(
                "give --file, --template/--csv, or at least --achievement and "
                "--learner-email/--learner-name",
                2,
            )
        flags = {
            "learner": {k: v for k, v in (("name", learner_name), ("email", learner_email)) if v},
            "achievement": {
                "name": achievement,
                "description": description or achievement,
                "criteria_narrative": criteria or f"Completed {achievement}",
                "achievement_type": achievement_type,
            },
        }
        parsed = [_validated(CredentialInput, flags, "flags")]
    return [item.model_dump(mode="json", exclude_none=True) for item in parsed]


def _validated(model: Any, data: Any, where: str) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise fail(f"{where}: {field}: {first['msg']}", 2) from None


def _status_command(action: str) -> Any:
    def command(
        ids: Annotated[list[str], typer.Argument(help="Credential ids")],
        reason: Annotated[str, typer.Option(help="Why (kept in the lifecycle log)")] = "",
        node_url: NodeOption = None,
        api_key: KeyOption = None,
    ) -> None:
        client = _client(node_url, api_key)
        result = client.post(
            "/v1/credentials/status", json={"action": action, "ids": ids, "reason": reason}
        )
        changed = sum(1 for c in result["changes"] if c["changed"])
        console.print(
            f"{action}: {changed} changed, {len(ids) - changed} already so; "
            f"on chain: {result['onChain']}"
        )

    command.__name__ = action
    command.__doc__ = f"{action.capitalize()} credentials (one chain transaction per list)."
    return command


for _action in ("revoke", "suspend", "reinstate"):
    app.command(_action)(_status_command(_action))


@app.command()
def export(
    credential_id: Annotated[str, typer.Argument(help="Credential id (urn:uuid:...)")],
    out: Annotated[Path | None, typer.Option(help="Bundle file (default: <uuid>.json)")] = None,
    qr: Annotated[bool, typer.Option(help="Show a QR code of the verification link")] = True,
    node_url: NodeOption = None,
    api_key: KeyOption = None,
) -> None:
    """Write the holder bundle (credential + anchor receipt) and print a verification link."""
    client = _client(node_url, api_key)
    bundle = client.get(f"/v1/credentials/{quote(credential_id, safe='')}/bundle")
    path = out or Path(credential_id.rsplit(":", 1)[-1] + ".json")
    path.write_text(json.dumps(bundle, indent=2) + "\n")
    if bundle.get("receipt") is None:
        console.print("note: not anchored yet; export again later for a bundle with its receipt")
    encoded = (
        base64.urlsafe_b64encode(json.dumps(bundle, separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )
    link = f"{client.base_url}/verify?credential={encoded}"
    console.print(f"bundle written to {path}")
    console.print(f"verify at: {client.base_url}/verify (upload {path.name})")
    if qr and len(link) <= QR_MAX:
        import qrcode

        code = qrcode.QRCode(border=1)
        code.add_data(link)
        code.print_ascii(out=sys.stdout, invert=True)
    elif qr:
        console.print("(the credential is too large for a QR code link; share the bundle file)")


QR_MAX = 2_900


@app.command("offer")
def offer_command(
    credential_ids: Annotated[list[str], typer.Argument(help="Credential ids (urn:uuid:...)")],
    cohort: Annotated[str | None, typer.Option(help="Label grouping these offers")] = None,
    ttl: Annotated[
        int | None, typer.Option(help="Seconds the offers stay open (default: the node's)")
    ] = None,
    tx_code: Annotated[
        bool, typer.Option("--tx-code", help="OpenID4VCI: also require a 6-digit code")
    ] = False,
    out_dir: Annotated[Path, typer.Option(help="Where the QR PNGs and offers.csv go")] = Path(
        "offers"
    ),
    qr: Annotated[bool, typer.Option(help="Print QR codes in the terminal")] = True,
    node_url: NodeOption = None,
    api_key: KeyOption = None,
) -> None:
    """Offer issued credentials to their learners' wallets: a single-use, expiring link and QR
    code per learner (Learner Credential Wallet, VC-API and OpenID4VCI wallets)."""
    from node.cli.offers import hand_out, make_offers

    client = _client(node_url, api_key)
    made = make_offers(client, credential_ids, cohort=cohort, ttl=ttl, tx_code=tx_code)
    hand_out(console, made, out_dir, terminal_qr=qr)


@app.command()
def onboard(
    name: Annotated[str, typer.Argument(help="The institution's display name")],
    profile_url: Annotated[
        str | None, typer.Option(help="Public profile page (https://...)")
    ] = None,
    accreditation: Annotated[
        bool, typer.Option(help="Propose its accreditation with this node's operator key")
    ] = True,
    image_url: Annotated[
        str | None, typer.Option(help="Logo for the issuer profile (https://... or data:image/...)")
    ] = None,
    did_method: Annotated[
        str | None,
        typer.Option(help="Sign under its did:ethr (ethr) or a did:web this node serves (web)"),
    ] = None,
    node_url: NodeOption = None,
    api_key: KeyOption = None,
) -> None:
    """Onboard another institution on this node: DID, keys, profile, accreditation proposal."""
    body = {
        "name": name,
        "profile_url": profile_url,
        "image_url": image_url,
        "request_accreditation": accreditation,
        "did_method": did_method,
    }
    result = _client(node_url, api_key).post("/v1/admin/institutions", json=body)
    _print_standing(result)
    if result.get("proposal"):
        p = result["proposal"]
        console.print(
            f"accreditation proposal #{p['id']}: {p['state']} "
            f"({p['approvals']}/{p['threshold']} approvals)"
        )
        _print_next_step(p)
    console.print(f"issuer API key (shown once): {result['apiKey']}", highlight=False)


@app.command()
def status(node_url: NodeOption = None, api_key: KeyOption = None) -> None:
    """The institution's DID, signing key and accreditation (for the key's institution)."""
    _print_standing(_client(node_url, api_key).get("/v1/institution"))


def _print_standing(standing: dict[str, Any]) -> None:
    console.print(f"{standing['name']}: {standing['did']}")
    if standing.get("didWeb"):
        signs = " (signs as this DID)" if standing.get("signsAs") == "web" else ""
        console.print(f"  did:web      {standing['didWeb']}{signs}")
    console.print(f"  signing key  {standing['verificationMethod']}")
    accredited = [t for t, ok in standing["accreditedNow"].items() if ok]
    console.print(
        f"  status       {standing['status']}; accredited now for: "
        f"{', '.join(accredited) or 'nothing yet'}"
    )
    for problem in standing.get("anchoringProblems") or []:
        console.print(
            f"  refused      {problem['work']}: {problem['code']} ({problem['count']} in a row, "
            f"next attempt {problem['next_attempt_at']}): {problem['detail']}"
        )


govern = typer.Typer(
    help="Consortium governance (operator key of this node).", no_args_is_help=True
)
app.add_typer(govern, name="govern")


@govern.command("members")
def govern_members(node_url: NodeOption = None, api_key: KeyOption = None) -> None:
    """Members and threshold."""
    data = _client(node_url, api_key).get("/v1/governance")
    console.print(f"threshold {data['threshold']} of {len(data['members'])}")
    for member in data["members"]:
        mark = " (this node)" if member == data["operator"] else ""
        console.print(f"  {member}{mark}")


@govern.command("proposals")
def govern_proposals(node_url: NodeOption = None, api_key: KeyOption = None) -> None:
    """Proposals with state and approvals, newest first."""
    for p in _client(node_url, api_key).get("/v1/governance/proposals"):
        target = p["target"] if p["action"] != "change_threshold" else p["new_threshold"]
        console.print(
            f"#{p['id']} {p['action']} {target}  {p['state']} "
            f"({p['approvals']}/{p['threshold']} approvals, expires {p['expires_at']})"
        )


@govern.command("propose")
def govern_propose(
    action: Annotated[str, typer.Argument(help="accredit_issuer, suspend_issuer, ...")],
    target: Annotated[str | None, typer.Option(help="Issuer or member address")] = None,
    types: Annotated[
        list[str] | None, typer.Option("--type", help="Credential type (repeatable)")
    ] = None,
    threshold: Annotated[int | None, typer.Option(help="New threshold")] = None,
    name: Annotated[str | None, typer.Option(help="Issuer's display name")] = None,
    legal_name: Annotated[str | None, typer.Option(help="Issuer's legal name")] = None,
    homepage: Annotated[str | None, typer.Option(help="Issuer's homepage (https://)")] = None,
    logo: Annotated[str | None, typer.Option(help="Logo: https:// URL or data: URI")] = None,
    location: Annotated[str | None, typer.Option(help="e.g. 'Boston, MA, USA'")] = None,
    ctid: Annotated[str | None, typer.Option(help="Credential Engine CTID (ce-<uuid>)")] = None,
    ror: Annotated[str | None, typer.Option(help="ROR id of the institution")] = None,
    aliases: Annotated[
        list[str] | None, typer.Option("--alias", help="DID to bind, e.g. did:web:... (repeat)")
    ] = None,
    node_url: NodeOption = None,
    api_key: KeyOption = None,
) -> None:
    """Propose a change (counts as this operator's approval).

    For accredit_issuer, the issuer's metadata (--name and the other profile options) and its
    DID aliases are published on chain with the proposal: the consortium votes on them too.
    """
    body: dict[str, Any] = {"action": action, "target": target, "new_threshold": threshold}
    if types:
        body["credential_types"] = types
    profile = {
        "organization_name": name,
        "legal_name": legal_name,
        "homepage_uri": homepage,
        "logo_uri": logo,
        "location": location,
        "ctid": ctid,
        "rorid": ror,
    }
    if any(value is not None for value in profile.values()):
        from node.governance.metadata import IssuerMetadata

        metadata = _validated(IssuerMetadata, profile, "issuer metadata")
        body["metadata"] = metadata.model_dump(exclude_none=True)
    if aliases:
        body["aliases"] = aliases
    p = _client(node_url, api_key).post("/v1/governance/proposals", json=body)
    console.print(
        f"proposal #{p['id']} {p['action']}: {p['state']} "
        f"({p['approvals']}/{p['threshold']} approvals)"
    )
    _print_next_step(p)


def _print_next_step(proposal: dict[str, Any]) -> None:
    """What still has to happen before a proposal takes effect: nothing does until it is
    executed, even when this node's approval alone reaches the threshold."""
    number, state = proposal["id"], proposal["state"]
    if state == "ready":
        console.print(
            f"  not in effect yet: run `lernode govern execute {number}` to apply it",
            highlight=False,
        )
    elif state == "open":
        missing = proposal["threshold"] - proposal["approvals"]
        console.print(
            f"  not in effect yet: needs {missing} more approval(s) (`lernode govern approve "
            f"{number}` on other members' nodes), then `lernode govern execute {number}`",
            highlight=False,
        )
    elif state == "expired":
        console.print("  expired before it was executed: propose it again", highlight=False)


def _vote(verb: str) -> Any:
    def command(
        proposal_id: Annotated[int, typer.Argument()],
        node_url: NodeOption = None,
        api_key: KeyOption = None,
    ) -> None:
        path = f"/v1/governance/proposals/{proposal_id}/{verb}"
        p = _client(node_url, api_key).post(path)
        console.print(f"proposal #{p['id']}: {p['state']} ({p['approvals']}/{p['threshold']})")
        _print_next_step(p)

    command.__doc__ = f"{verb.capitalize()} a proposal with this node's operator key."
    return command


govern.command("approve")(_vote("approve"))
govern.command("execute")(_vote("execute"))


@govern.command("issuers")
def govern_issuers(node_url: NodeOption = None, api_key: KeyOption = None) -> None:
    """Issuers with status and accreditation history."""
    for issuer in _client(node_url, api_key).get("/v1/issuers"):
        console.print(f"{issuer['address']}  {issuer['status']}")
        for grant in issuer["accreditations"]:
            until = grant["granted_until"] or "open"
            console.print(f"    {grant['credential_type']}: {grant['granted_at']} .. {until}")


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
