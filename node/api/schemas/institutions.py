"""An institution's identity and standing, and what onboarding one answers."""

from __future__ import annotations

from pydantic import Field

from node.api.schemas.common import OpenCamelModel
from node.api.schemas.governance import ProposalView


class InstitutionStanding(OpenCamelModel):
    id: int
    name: str
    did: str
    address: str
    verification_method: str | None
    profile_url: str | None
    status: str = Field(description="Issuer status in the registry (`none` before accreditation).")
    accredited_now: dict[str, bool] = Field(description="Per credential type.")


class OnboardedInstitution(InstitutionStanding):
    proposal: ProposalView | None = Field(description="The accreditation proposal, if requested.")
    api_key: str = Field(description="The institution's issuer API key. Shown only here.")
