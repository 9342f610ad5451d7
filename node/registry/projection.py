"""The IssuerRegistry's governance events projected into the registry's tables.

The registry protocols answer from these rows only (never from this node's own database of
institutions), so every member node serves the same answers for the same block: the chain is
the registry. One `GovernanceEvent` per issuer/member decision, one `AccreditationDocument` per
accreditation proposal (the metadata and aliases members voted on), one `IssuerAlias` per bound
alias. Rows at or above a re-read block are deleted on a reorg, like every projection.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from eth_hash.auto import keccak
from hexbytes import HexBytes
from sqlmodel import Session

from node.chain.artifacts import load_artifact
from node.chain.contracts.issuer_registry import GOVERNANCE_EVENTS
from node.chain.contracts.types import ProposalAction
from node.indexing.indexer import DecodedLog, Subscription, delete_rows_from
from node.store.models import (
    AccreditationDocument,
    GovernanceEvent,
    GovernanceEventKind,
    IssuerAlias,
)

_KINDS = {
    "IssuerAccredited": GovernanceEventKind.ACCREDITED,
    "IssuerSuspended": GovernanceEventKind.SUSPENDED,
    "IssuerReinstated": GovernanceEventKind.REINSTATED,
    "IssuerRemoved": GovernanceEventKind.REMOVED,
    "MemberAdded": GovernanceEventKind.MEMBER_ADDED,
    "MemberRemoved": GovernanceEventKind.MEMBER_REMOVED,
}


def issuer_registry_subscription(
    address: str, abi: Sequence[Mapping[str, Any]] | None = None
) -> Subscription:
    """Project an IssuerRegistry's governance events into the registry tables."""
    if abi is None:
        abi = load_artifact("IssuerRegistry").abi
    contract = address.lower()

    return Subscription(
        name="issuer-registry",
        address=contract,
        abi=abi,
        events=GOVERNANCE_EVENTS,
        handler=record_governance_event,
        rollback=delete_rows_from(contract, GovernanceEvent, AccreditationDocument, IssuerAlias),
    )


def record_governance_event(session: Session, event: DecodedLog) -> None:
    """Store one IssuerRegistry event (ProposalApproved/Executed carry nothing we serve)."""
    handler = _HANDLERS.get(event.event)
    if handler is not None:
        handler(session, event)


def _proposal_created(session: Session, event: DecodedLog) -> None:
    args = event.args
    if int(args["action"]) != ProposalAction.ACCREDIT_ISSUER:
        return
    metadata = str(args.get("metadata") or "")
    aliases = [str(alias) for alias in args.get("aliases") or ()]
    session.add(
        AccreditationDocument(
            contract=event.contract,
            proposal_id=int(args["id"]),
            issuer=str(args["target"]).lower(),
            proposer=str(args["proposer"]).lower(),
            metadata_text=metadata,
            metadata_hash=_hex(args["metadataHash"]),
            aliases=json.dumps(aliases),
            block_number=event.block_number,
            log_index=event.log_index,
            block_hash=event.block_hash,
            tx_hash=event.tx_hash,
        )
    )


def _issuer_or_member(session: Session, event: DecodedLog) -> None:
    args = event.args
    subject = args.get("issuer", args.get("member"))
    row = GovernanceEvent(
        contract=event.contract,
        subject=str(subject).lower(),
        kind=_KINDS[event.event],
        proposal_id=int(args["proposalId"]),
        block_number=event.block_number,
        log_index=event.log_index,
        block_hash=event.block_hash,
        block_time=event.block_time,
        tx_hash=event.tx_hash,
    )
    if event.event == "IssuerAccredited":
        row.credential_types = json.dumps([_hex(t) for t in args["credentialTypes"]])
        row.valid_from = int(args["validFrom"])
        row.valid_until = int(args["validUntil"])
        row.metadata_hash = _hex(args["metadataHash"])
    session.add(row)


def _alias_bound(session: Session, event: DecodedLog) -> None:
    alias = str(event.args["did"])
    session.add(
        IssuerAlias(
            contract=event.contract,
            alias=alias,
            alias_hash="0x" + keccak(alias.encode("utf-8")).hex(),
            issuer=str(event.args["issuer"]).lower(),
            block_number=event.block_number,
            log_index=event.log_index,
            block_hash=event.block_hash,
            block_time=event.block_time,
            tx_hash=event.tx_hash,
        )
    )


_HANDLERS: dict[str, Callable[[Session, DecodedLog], None]] = {
    "ProposalCreated": _proposal_created,
    "AliasBound": _alias_bound,
    **{name: _issuer_or_member for name in _KINDS},
}


def _hex(value: bytes | str) -> str:
    return "0x" + bytes(HexBytes(value)).hex()
