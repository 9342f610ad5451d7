"""Commands on an institution's credentials, sent to a running node: issue, revoke, suspend,
reinstate, export, offer."""

from __future__ import annotations

import base64
import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.progress import Progress

from node.cli.client import read_json_file
from node.cli.common import KeyOption, NodeOption, _validated, app, connect, console, fail


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
    client = connect(node_url, api_key)
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


def _status_command(action: str) -> Any:
    def command(
        ids: Annotated[list[str], typer.Argument(help="Credential ids")],
        reason: Annotated[str, typer.Option(help="Why (kept in the lifecycle log)")] = "",
        node_url: NodeOption = None,
        api_key: KeyOption = None,
    ) -> None:
        client = connect(node_url, api_key)
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
    client = connect(node_url, api_key)
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

    client = connect(node_url, api_key)
    made = make_offers(client, credential_ids, cohort=cohort, ttl=ttl, tx_code=tx_code)
    hand_out(console, made, out_dir, terminal_qr=qr)
