"""Onboarding institutions: a node can host several issuers, each with its own DID, keys and
issuer-scoped API key, each accredited (or not) by the consortium."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from node.access import apikeys
from node.access.apikeys import Scope
from node.api.auth import Principal, require_scope
from node.api.deps import InstitutionDep, NodeDep
from node.api.schemas.common import SingleLine
from node.api.schemas.institutions import InstitutionStanding, OnboardedInstitution
from node.chain.contracts.types import KNOWN_CREDENTIAL_TYPES

router = APIRouter(prefix="/v1", tags=["issuing institution"])
Admin = Annotated[Principal, Depends(require_scope(Scope.ADMIN))]


class OnboardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: SingleLine = Field(min_length=1, max_length=512)
    profile_url: str | None = Field(None, pattern=r"^https?://\S+$", max_length=2048)
    image_url: str | None = Field(
        None, description="Logo (https URL or data:image/... URI): the issuer profile's image"
    )
    credential_types: list[str] = Field(default_factory=lambda: list(KNOWN_CREDENTIAL_TYPES))
    request_accreditation: StrictBool = Field(
        True, description="Propose the accreditation with this node's operator key."
    )
    did_method: Literal["ethr", "web"] | None = Field(
        None,
        description="Sign under the institution's did:ethr, or under a did:web this node serves "
        "(same keys, bound on chain). Default: the node's LERNODE_ISSUER_DID_METHOD.",
    )


@router.post(
    "/admin/institutions",
    status_code=status.HTTP_201_CREATED,
    response_model=OnboardedInstitution,
    summary="Onboard an institution",
)
def onboard(body: OnboardRequest, node: NodeDep, _: Admin) -> OnboardedInstitution:
    """Create the institution's account and DID, publish its Ed25519 signing key and profile
    service on the DID, propose its accreditation, and issue its API key (shown once)."""
    institution = node.onboarding.create_institution(
        body.name, body.profile_url, body.image_url, signs_as=body.did_method
    )
    proposal = None
    if body.request_accreditation:
        proposal = node.onboarding.request_accreditation(
            node.governance, node.operator, institution, body.credential_types
        )
    assert institution.id is not None
    key = apikeys.create_key(
        node.db, [Scope.ISSUER], label=f"issuer: {body.name}", institution_id=institution.id
    )
    return OnboardedInstitution.model_validate(
        {
            **node.onboarding.standing(institution, node.governance, node.now()),
            "proposal": None if proposal is None else node.governance.proposal(proposal).as_json(),
            "apiKey": key.token,
        }
    )


@router.get(
    "/institution",
    response_model=InstitutionStanding,
    summary="The calling institution's identity and standing",
)
def standing(institution: InstitutionDep, node: NodeDep) -> InstitutionStanding:
    """DID, current signing key, and whether the consortium accredits it right now."""
    problems = [p for p in node.worker.problems() if p["institution_id"] == institution.id]
    return InstitutionStanding.model_validate(
        {
            **node.onboarding.standing(institution, node.governance, node.now()),
            "anchoringProblems": problems,
        }
    )
