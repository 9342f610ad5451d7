"""Consortium operators: members, proposals, approvals and the issuer registry.

Every write is signed with this node's operator key; the contract decides whether it counts.
Reads are public: who is accredited, and since when, is exactly what verifiers need to see.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal, Self

from fastapi import APIRouter, Depends, Path, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from node.access.apikeys import Scope
from node.api.auth import Principal, require_scope
from node.api.deps import NodeDep
from node.api.schemas.governance import Consortium, IssuerView, ProposalView
from node.chain.contracts.types import KNOWN_CREDENTIAL_TYPES, ProposalAction
from node.governance.metadata import IssuerMetadata
from node.governance.service import Proposal

router = APIRouter(prefix="/v1", tags=["consortium operator"])
Operator = Annotated[Principal, Depends(require_scope(Scope.OPERATOR))]
#: 9999-12-31T23:59:59Z: the last instant a date can name.
MAX_UNIX_TIME = 253_402_300_799
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
    valid_from: int = Field(0, ge=0, le=MAX_UNIX_TIME, description="Unix time; 0 = no start")
    valid_until: int = Field(0, ge=0, le=MAX_UNIX_TIME, description="Unix time; 0 = no end")
    metadata: IssuerMetadata | None = Field(
        None,
        description="accredit_issuer: the issuer's public profile, published on chain with the "
        "proposal (its hash is stored) and served by the registry once executed",
    )
    aliases: list[str] = Field(
        default_factory=list,
        max_length=8,
        description="accredit_issuer: DIDs (e.g. did:web:registrar.example.edu) to bind to the "
        "issuer on execution",
    )
    new_threshold: int | None = Field(None, ge=1, lt=2**256)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.action == "change_threshold":
            if self.new_threshold is None:
                raise ValueError("change_threshold needs new_threshold")
        elif self.target is None:
            raise ValueError(f"{self.action} needs a target address")
        if self.action != "accredit_issuer" and (self.metadata is not None or self.aliases):
            raise ValueError("metadata and aliases belong to accredit_issuer proposals only")
        return self


@router.get("/governance", response_model=Consortium, summary="Members and threshold")
def consortium(node: NodeDep) -> Consortium:
    return Consortium(
        members=node.governance.members(),
        threshold=node.governance.threshold(),
        operator=node.operator.address,
    )


@router.get(
    "/governance/proposals", response_model=list[ProposalView], summary="Proposals, newest first"
)
def proposals(node: NodeDep) -> list[ProposalView]:
    return [_view(p) for p in node.governance.proposals()]


@router.get(
    "/governance/proposals/{proposal_id}", response_model=ProposalView, summary="One proposal"
)
def proposal(proposal_id: ProposalId, node: NodeDep) -> ProposalView:
    return _view(node.governance.proposal(proposal_id))


@router.post(
    "/governance/proposals",
    status_code=status.HTTP_201_CREATED,
    response_model=ProposalView,
    summary="Propose a change",
)
def propose(body: ProposalRequest, node: NodeDep, _: Operator) -> ProposalView:
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
            metadata=body.metadata,
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
    return _view(governance.proposal(proposal_id))


@router.post(
    "/governance/proposals/{proposal_id}/approve",
    response_model=ProposalView,
    summary="Approve a proposal",
)
def approve(proposal_id: ProposalId, node: NodeDep, _: Operator) -> ProposalView:
    node.governance.approve(node.operator, proposal_id)
    return _view(node.governance.proposal(proposal_id))


@router.post(
    "/governance/proposals/{proposal_id}/execute",
    response_model=ProposalView,
    summary="Execute a proposal",
)
def execute(proposal_id: ProposalId, node: NodeDep, _: Operator) -> ProposalView:
    node.governance.execute(node.operator, proposal_id)
    return _view(node.governance.proposal(proposal_id))


@router.get(
    "/issuers",
    response_model=list[IssuerView],
    summary="Every accredited issuer with status and history",
)
def issuers(node: NodeDep) -> list[IssuerView]:
    return [
        IssuerView.model_validate(asdict(i))
        for i in node.governance.issuers(node.deployment.block_number)
    ]


@router.get(
    "/issuers/{address}",
    response_model=IssuerView,
    summary="An issuer's status and full accreditation history",
)
def issuer(address: str, node: NodeDep) -> IssuerView:
    return IssuerView.model_validate(asdict(node.governance.issuer(address)))


def _view(proposal: Proposal) -> ProposalView:
    return ProposalView.model_validate(proposal.as_json())
