"""The IssuerRegistry's accreditation ABI with issuer metadata and DID aliases, in one place.

Why a module of its own: the accreditation proposal changed shape (TEAM.md decision 1:
`proposeAccreditation(issuer, types, validFrom, validUntil, string metadata, string[] aliases)`,
the metadata document published in `ProposalCreated`, aliases bound by `AliasBound`). Every
Python caller that builds that call, decodes a proposal or reads aliases goes through here, so a
further change of the ABI is one edit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_hash.auto import keccak
from web3.contract import Contract
from web3.contract.contract import ContractFunction

#: Events of the registry the registry projection follows (issuer life, membership, aliases).
GOVERNANCE_EVENTS: tuple[str, ...] = (
    "ProposalCreated",
    "IssuerAccredited",
    "IssuerSuspended",
    "IssuerReinstated",
    "IssuerRemoved",
    "AliasBound",
    "MemberAdded",
    "MemberRemoved",
)


def alias_hash(alias: str) -> bytes:
    """The key of `issuerOfAlias`: keccak256 of the alias's UTF-8 bytes."""
    return keccak(alias.encode("utf-8"))


def propose_accreditation_call(
    registry: Contract,
    issuer: str,
    type_ids: Sequence[bytes],
    valid_from: int,
    valid_until: int,
    metadata: str,
    aliases: Sequence[str],
) -> ContractFunction:
    return registry.functions.proposeAccreditation(
        issuer, list(type_ids), valid_from, valid_until, metadata, list(aliases)
    )


@dataclass(frozen=True)
class RawProposal:
    """`getProposal(id)` decoded (`aliases` empty for a contract without them)."""

    action: int
    target: str
    credential_types: list[bytes]
    valid_from: int
    valid_until: int
    metadata_hash: bytes
    new_threshold: int
    proposer: str
    created_at: int
    expires_at: int
    executed: bool
    approvals: int
    aliases: list[str]


def read_proposal(registry: Contract, proposal_id: int) -> RawProposal:
    raw = registry.functions.getProposal(proposal_id).call()
    aliases = list(raw[12]) if len(raw) > 12 else []
    return RawProposal(*raw[:12], aliases=aliases)  # type: ignore[misc]


def aliases_of(registry: Contract, issuer: str) -> list[str]:
    return [str(alias) for alias in registry.functions.aliasesOf(issuer).call()]


def issuer_of_alias(registry: Contract, alias: str) -> str | None:
    found = str(registry.functions.issuerOfAlias(alias_hash(alias)).call())
    return None if int(found, 16) == 0 else found.lower()


def created_metadata(args: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The metadata document and aliases a `ProposalCreated` event published."""
    return str(args.get("metadata") or ""), [str(a) for a in args.get("aliases") or ()]


def bound_alias(args: Mapping[str, Any]) -> str:
    """The alias of an `AliasBound` event (its string argument is `did`; TEAM.md says `alias`)."""
    return str(args.get("did", args.get("alias", "")))
