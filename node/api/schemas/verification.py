"""The verification report: every check with its status and stable reason code."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from node.api.schemas.common import CamelModel


class CheckView(CamelModel):
    name: str = Field(examples=["signature"])
    status: str = Field(description="`passed`, `failed` or `unknown`.")
    code: str = Field(description="Stable reason code.")
    detail: str


class ChainStateView(CamelModel):
    block: int = Field(description="The block the chain facts of the report reflect.")
    source: str = Field(
        description="`index`: the node's event index (no chain call); `chain`: read from the "
        "chain for this verification."
    )


class VerificationReportView(CamelModel):
    verdict: str = Field(description="`valid`, `invalid` or `unknown`.")
    checks: list[CheckView]
    credential: dict[str, Any] = Field(description="What the credential says, for display.")
    embedded: list[VerificationReportView] = Field(
        description="Reports of the credentials a CLR bundles (they count towards the verdict)."
    )
    verified_at: str
    chain_id: int
    chain_state: ChainStateView | None = Field(
        None, description="The block the report reflects (top-level report only)."
    )
    registered_issuer: dict[str, Any] | None = Field(
        None, description="verifier-core's registered-issuer entry (informative)."
    )


class PresentationReportView(CamelModel):
    """A holder's presentation: its own checks and each credential's report."""

    verdict: str = Field(description="`valid`, `invalid` or `unknown`.")
    holder: str | None
    checks: list[CheckView]
    credentials: list[VerificationReportView]
    verified_at: str
