"""`lernode govern ...`: consortium governance with this node's operator key."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from node.cli.common import KeyOption, NodeOption, _validated, connect, console

govern = typer.Typer(
    help="Consortium governance (operator key of this node).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the group to `app` (after the single commands, so `--help` keeps its order)."""
    app.add_typer(govern, name="govern")


@govern.command("members")
def govern_members(node_url: NodeOption = None, api_key: KeyOption = None) -> None:
    """Members and threshold."""
    data = connect(node_url, api_key).get("/v1/governance")
    console.print(f"threshold {data['threshold']} of {len(data['members'])}")
    for member in data["members"]:
        mark = " (this node)" if member == data["operator"] else ""
        console.print(f"  {member}{mark}")


@govern.command("proposals")
def govern_proposals(node_url: NodeOption = None, api_key: KeyOption = None) -> None:
    """Proposals with state and approvals, newest first."""
    for p in connect(node_url, api_key).get("/v1/governance/proposals"):
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
    p = connect(node_url, api_key).post("/v1/governance/proposals", json=body)
    console.print(
        f"proposal #{p['id']} {p['action']}: {p['state']} "
        f"({p['approvals']}/{p['threshold']} approvals)"
    )
    print_next_step(p)


def print_next_step(proposal: dict[str, Any]) -> None:
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
        p = connect(node_url, api_key).post(path)
        console.print(f"proposal #{p['id']}: {p['state']} ({p['approvals']}/{p['threshold']})")
        print_next_step(p)

    command.__doc__ = f"{verb.capitalize()} a proposal with this node's operator key."
    return command


govern.command("approve")(_vote("approve"))
govern.command("execute")(_vote("execute"))


@govern.command("issuers")
def govern_issuers(node_url: NodeOption = None, api_key: KeyOption = None) -> None:
    """Issuers with status and accreditation history."""
    for issuer in connect(node_url, api_key).get("/v1/issuers"):
        console.print(f"{issuer['address']}  {issuer['status']}")
        for grant in issuer["accreditations"]:
            until = grant["granted_until"] or "open"
            console.print(f"    {grant['credential_type']}: {grant['granted_at']} .. {until}")
