"""The governance vocabulary shared with the IssuerRegistry contract.

Why: services, the API and the indexer must name proposal actions and credential types exactly
as the contract does. `ProposalAction` mirrors the Solidity `Action` enum (same order, so the
integer values match the ABI's uint8) and `IssuerStatus` mirrors `IssuerStatus`; credential type
ids are `keccak256(utf8(name))` of the credential's most specific VC type (docs/design.md).
Pure: no chain access.
"""

from __future__ import annotations

from enum import IntEnum

from eth_hash.auto import keccak

from node.errors import InvalidInput


class ProposalAction(IntEnum):
    """`IssuerRegistry.Action`; the value is what the contract takes and emits."""

    ACCREDIT_ISSUER = 0
    SUSPEND_ISSUER = 1
    REINSTATE_ISSUER = 2
    REMOVE_ISSUER = 3
    ADD_MEMBER = 4
    REMOVE_MEMBER = 5
    CHANGE_THRESHOLD = 6


#: Actions proposed through `proposeIssuerAction`.
ISSUER_ACTIONS = frozenset(
    {ProposalAction.SUSPEND_ISSUER, ProposalAction.REINSTATE_ISSUER, ProposalAction.REMOVE_ISSUER}
)
#: Actions proposed through `proposeMembership`.
MEMBERSHIP_ACTIONS = frozenset({ProposalAction.ADD_MEMBER, ProposalAction.REMOVE_MEMBER})


class IssuerStatus(IntEnum):
    """`IssuerRegistry.IssuerStatus`."""

    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2
    REMOVED = 3


class StatusPurpose(IntEnum):
    """Status list purposes of `CredentialRegistry`; revocation is permanent."""

    REVOCATION = 0
    SUSPENSION = 1


OPEN_BADGE_CREDENTIAL = "OpenBadgeCredential"
CLR_CREDENTIAL = "ClrCredential"
#: Credential type names the node issues and the consortium accredits issuers for.
KNOWN_CREDENTIAL_TYPES: tuple[str, ...] = (OPEN_BADGE_CREDENTIAL, CLR_CREDENTIAL)


def credential_type_id(name: str) -> bytes:
    """The on-chain id of credential type `name`: keccak256 of its UTF-8 bytes (32 bytes)."""
    if not name:
        raise InvalidInput("a credential type name cannot be empty", code="invalid_credential_type")
    return keccak(name.encode("utf-8"))


def credential_type_name(type_id: bytes) -> str | None:
    """The known type name whose id is `type_id`, or None for a type this node does not know."""
    return _NAMES_BY_ID.get(bytes(type_id))


_NAMES_BY_ID = {credential_type_id(name): name for name in KNOWN_CREDENTIAL_TYPES}
