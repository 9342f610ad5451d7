"""`lernode up`: from nothing to a node that can issue, in one command.

On first start with no configuration: the embedded chain starts, the contracts are deployed
with this node's operator as a one-member consortium, the node's own institution gets its DID,
signing key and accreditation, and an admin API key is generated. Every later start finds all of
that again (the chain state, the database and the keys persist in the data directory) and only
starts the services.
"""

from __future__ import annotations

import logging
from pathlib import Path

from rich.console import Console

from node.config import Settings, load_settings
from node.governance.actions import KNOWN_CREDENTIAL_TYPES
from node.keystore import write_private
from node.runtime import Node
from node.services import apikeys
from node.services.apikeys import Scope
from node.store.models import Institution


def admin_key_path(settings: Settings) -> Path:
    return settings.data_dir / "secrets" / "admin-api-key"


def ensure_own_institution(node: Node) -> tuple[Institution, str]:
    """The node's institution, created and accredited if needed; returns it and a status
    line for the operator."""
    institution = node.own_institution()
    if institution is None:
        institution = node.onboarding.create_institution(node.settings.institution_name)
    governance = node.governance
    now = node.now()
    if all(governance.is_accredited(institution.address, t, now) for t in KNOWN_CREDENTIAL_TYPES):
        return institution, "accredited"
    if node.operator.address not in governance.members():
        return (
            institution,
            "not accredited: ask the consortium (lernode govern propose-accreditation)",
        )
    proposal = node.onboarding.request_accreditation(
        governance, node.operator, institution, list(KNOWN_CREDENTIAL_TYPES)
    )
    if governance.proposal(proposal).state == "ready":
        governance.execute(node.operator, proposal)
        return institution, "accredited"
    return institution, f"accreditation proposed (proposal {proposal}): waiting for approvals"


def ensure_admin_key(node: Node) -> str | None:
    """Create the first admin key; returns its secret only when it was just created."""
    if any(Scope.ADMIN in key.scopes and key.active for key in apikeys.list_keys(node.db)):
        return None
    issued = apikeys.create_key(node.db, [Scope.ADMIN], label="bootstrap admin")
    path = admin_key_path(node.settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, issued.token + "\n")
    return issued.token


def prepare(settings: Settings) -> tuple[Node, Institution, str, str | None]:
    """Open the node and make it ready to issue (shared by `up` and the tests)."""
    node = Node.open(settings)
    try:
        institution, accreditation = ensure_own_institution(node)
        admin_key = ensure_admin_key(node)
    except BaseException:
        node.close()
        raise
    return node, institution, accreditation, admin_key


def serve(console: Console) -> None:
    import uvicorn

    from node.api.app import create_app

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
        )
    finally:
        node.close()
        console.print("lernode stopped")
