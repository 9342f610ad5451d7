"""`GET /health`: what an operator or a load balancer needs to know at a glance."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

router = APIRouter(tags=["node"])


class Health(BaseModel):
    status: str
    problems: list[str] = Field(
        default_factory=list, description="What makes the node `degraded`, one line each."
    )
    refusals: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Institutions whose work the chain refuses (reason, count, next attempt).",
    )
    chain_id: int
    rpc_url: str
    latest_block: int | None
    contracts: dict[str, str]
    issuer_did: str | None
    database: str
    pending_anchors: int
    version: str


@router.get("/health", response_model=Health, summary="Node, chain and database status")
def get_health(request: Request) -> dict[str, Any]:
    """Always answers 200 while the process lives, within a second whatever the chain does;
    `status` says `degraded` when the chain or the database cannot be reached or the chain
    refuses an institution's work, and `problems` says what, so monitoring sees the cause
    instead of a timeout."""
    return request.app.state.node.health()
