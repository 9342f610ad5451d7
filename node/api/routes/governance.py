"""Consortium operators: members, proposals, approvals and the issuer registry.

Every write is signed with this node's operator key; the contract decides whether it counts.
Reads are public: who is accredited, and since when, is exactly what verifiers need to see.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal, Self

from fastapi import APIRouter, Depends, Path, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from node.access.apikeys import Scope
from node.api.auth import Principal, require_scope
from node.api.deps import NodeDep
from node.chain.contracts.types import KNOWN_CREDENTIAL_TYPES, ProposalAction
from node.credentials import jcs

router = APIRouter(prefix="/v1", tags=["consortium operator"])
Operator = Annotated[Principal, Depends(require_scope(Scope.OPERATOR))]
ProposalId = Annotated[int, Path(ge=1, lt=2**256, description="Proposal number (from 1)")]

ActionName = Literal[
    "accredit_issuer",
    "suspend_issuer",
    "reinstate_issuer",
    "remove_issuer",
    "add_member",
    "remove_member",
    "change_threshold",
]


class ProposalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: ActionName
    target: str | None = Field(None, description="Issuer or member address")
    credential_types: list[str] = Field(default_factory=lambda: list(KNOWN_CREDENTIAL_TYPES))
    valid_from: int = Field(0, ge=0, description="Unix time; 0 = no start bound")
    valid_until: int = Field(0, ge=0, description="Unix time; 0 = no end")
    metadata: dict[str, Any] | None = Field(
        None,
        description="Issuer metadata the consortium votes on (legal name, homepage, logo, "
        "location, CTID, ROR id); published on chain as canonical JSON (at most 4096 bytes).",
    )
    aliases: list[str] = Field(
        default_factory=list,
        max_length=8,
        description="Other DIDs of the issuer (e.g. its did:web) bound to its address on chain.",
    )
    new_threshold: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.action == "change_threshold":
            if self.new_threshold is None:
                raise ValueError("change_threshold needs new_threshold")
        elif self.target is None:
            raise ValueError(f"{self.action} needs a target address")
        return self


@router.get("/governance", summary="Members and threshold")
def consortium(node: NodeDep) -> dict[str, Any]:
    return {
        "members": node.governance.members(),
        "threshold": node.governance.threshold(),
        "operator": node.operator.address,
    }


@router.get("/governance/proposals", summary="Proposals, newest first")
def proposals(node: NodeDep) -> list[dict[str, Any]]:
    return [p.as_json() for p in node.governance.proposals()]


@router.get("/governance/proposals/{proposal_id}", summary="One proposal")
def proposal(proposal_id: ProposalId, node: NodeDep) -> dict[str, Any]:
    return node.governance.proposal(proposal_id).as_json()


@router.post(
    "/governance/proposals", status_code=status.HTTP_201_CREATED, summary="Propose a change"
)
def propose(body: ProposalRequest, node: NodeDep, _: Operator) -> dict[str, Any]:
    """Proposing counts as this operator's approval."""
    governance, operator = node.governance, node.operator
    action = ProposalAction[body.action.upper()]
    if action is ProposalAction.ACCREDIT_ISSUER:
        assert body.target is not None
        proposal_id = governance.propose_accreditation(
            operator,
            body.target,
            body.credential_types,
            valid_from=body.valid_from,
            valid_until=body.valid_until,
            metadata=jcs.canonicalize(body.metadata).decode() if body.metadata else "",
            aliases=body.aliases,
        )
    elif action is ProposalAction.CHANGE_THRESHOLD:
        assert body.new_threshold is not None
        proposal_id = governance.propose_threshold(operator, body.new_threshold)
    elif action in (ProposalAction.ADD_MEMBER, ProposalAction.REMOVE_MEMBER):
        assert body.target is not None
        proposal_id = governance.propose_membership(operator, action, body.target)
    else:
        assert body.target is not None
        proposal_id = governance.propose_issuer_action(operator, action, body.target)
    return governance.proposal(proposal_id).as_json()


@router.post("/governance/proposals/{proposal_id}/approve", summary="Approve a proposal")
def approve(proposal_id: ProposalId, node: NodeDep, _: Operator) -> dict[str, Any]:
    node.governance.approve(node.operator, proposal_id)
    return node.governance.proposal(proposal_id).as_json()


@router.post("/governance/proposals/{proposal_id}/execute", summary="Execute a proposal")
def execute(proposal_id: ProposalId, node: NodeDep, _: Operator) -> dict[str, Any]:
    node.governance.execute(node.operator, proposal_id)
    return node.governance.proposal(proposal_id).as_json()


@router.get("/issuers", summary="Every accredited issuer with status and history")
def issuers(node: NodeDep) -> list[dict[str, Any]]:
    return [asdict(i) for i in node.governance.issuers(node.deployment.block_number)]


@router.get("/issuers/{address}", summary="An issuer's status and full accreditation history")
def issuer(address: str, node: NodeDep) -> dict[str, Any]:
    return asdict(node.governance.issuer(address))
