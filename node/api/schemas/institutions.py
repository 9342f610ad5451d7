"""An institution's identity and standing, and what onboarding one answers."""

from __future__ import annotations

from typing import Any

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
    anchoring_problems: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Work of this institution the chain refuses now: `work` (anchor, status), "
        "`code`, `detail`, `count` in a row and `next_attempt_at` (retried with backoff).",
    )


class OnboardedInstitution(InstitutionStanding):
    proposal: ProposalView | None = Field(description="The accreditation proposal, if requested.")
    api_key: str = Field(description="The institution's issuer API key. Shown only here.")
