"""Commands on institutions, sent to a running node: onboard, status."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from node.cli.common import KeyOption, NodeOption, app, connect, console
from node.cli.govern import print_next_step


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
    result = connect(node_url, api_key).post("/v1/admin/institutions", json=body)
    _print_standing(result)
    if result.get("proposal"):
        p = result["proposal"]
        console.print(
            f"accreditation proposal #{p['id']}: {p['state']} "
            f"({p['approvals']}/{p['threshold']} approvals)"
        )
        print_next_step(p)
    console.print(f"issuer API key (shown once): {result['apiKey']}", highlight=False)


@app.command()
def status(node_url: NodeOption = None, api_key: KeyOption = None) -> None:
    """The institution's DID, signing key and accreditation (for the key's institution)."""
    _print_standing(connect(node_url, api_key).get("/v1/institution"))


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
