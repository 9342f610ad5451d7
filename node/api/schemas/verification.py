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


class VerificationReportView(CamelModel):
    verdict: str = Field(description="`valid`, `invalid` or `unknown`.")
    checks: list[CheckView]
    credential: dict[str, Any] = Field(description="What the credential says, for display.")
    embedded: list[VerificationReportView] = Field(
        description="Reports of the credentials a CLR bundles (they count towards the verdict)."
    )
    verified_at: str
    chain_id: int
