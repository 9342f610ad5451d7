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

from node.access import apikeys
from node.access.apikeys import Scope
from node.chain.contracts.types import KNOWN_CREDENTIAL_TYPES
from node.config import Settings
from node.errors import LernodeError
from node.keystore import write_private
from node.registry.keys import ensure_key_bound, federation_key
from node.store.models import Institution
from node.wiring.runtime import Node

log = logging.getLogger(__name__)


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


def ensure_registry_key(node: Node) -> bool:
    """Publish the registry's signing key on the operator's DID (once); False if it could not
    (the registry still answers, but verifiers cannot tie its statements to a member)."""
    try:
        key = federation_key(node.db, node.keystore)
        ensure_key_bound(node.chain, node.contracts, node.operator, node.sender, key)
    except LernodeError as error:
        log.warning("registry signing key not bound on chain: %s", error)
        return False
    return True


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
        ensure_registry_key(node)
        # The institution's DID, accreditation and registry key survive a crash of the chain.
        node.make_durable(node.chain.latest_block())
    except BaseException:
        node.close()
        raise
    return node, institution, accreditation, admin_key
