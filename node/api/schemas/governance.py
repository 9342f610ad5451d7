"""What the consortium's state looks like: members, proposals, issuers and their grants."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from node.api.schemas.common import OpenModel


class Consortium(BaseModel):
    members: list[str]
    threshold: int
    operator: str = Field(description="This node's operator address.")


class ProposalView(OpenModel):
    id: int
    action: str = Field(examples=["accredit_issuer"])
    target: str
    credential_types: list[str]
    valid_from: str | None
    valid_until: str | None
    metadata_hash: str
    metadata_document: str = Field("", description='The exact published text ("" if none).')
    metadata: dict[str, Any] | None = Field(
        None, description="The published document as an issuer profile, if it is a valid one."
    )
    aliases: list[str] = Field(
        default_factory=list, description="DIDs the accreditation binds to the issuer address."
    )
    new_threshold: int
    proposer: str
    created_at: str | None
    expires_at: str | None
    executed: bool
    approvals: int
    threshold: int
    expired: bool
    state: str = Field(description="`open`, `ready` (enough approvals), `executed` or `expired`.")


class GrantView(OpenModel):
    credential_type: str
    granted_at: str | None
    granted_until: str | None
    valid_from: str | None
    valid_until: str | None


class IssuerStatusChange(OpenModel):
    status: str
    at: str | None


class IssuerView(OpenModel):
    address: str
    status: str
    metadata_hash: str
    accreditations: list[GrantView]
    status_history: list[IssuerStatusChange]
