"""Trust Registry Query Protocol 2.0 (RESTful binding): `POST /authorization` and
`POST /recognition`, answered from the chain's history (node/registry/trqp.py says how).

`?evidence=true` adds the chain evidence behind the answer (contract, block, events, and the
`isAccredited` call any RPC endpoint answers the same way). Errors are RFC 9457 problems, as
the binding requires: 400 malformed (`invalid_time`...), 404 unknown authority, entity or
assertion.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from node.api.deps import NodeDep

router = APIRouter(tags=["registry: TRQP 2.0"])

Key = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Value = Annotated[str, StringConstraints(max_length=512)]
Evidence = Annotated[bool, Query(description="Add the chain evidence behind the answer")]


class TrqpQuery(BaseModel):
    """A TRQP 2.0 query (PARC: principal, action, resource, context)."""

    model_config = ConfigDict(extra="ignore")

    entity_id: str = Field(min_length=1, max_length=512, examples=["did:web:registrar.example"])
    authority_id: str = Field(min_length=1, max_length=512, examples=["eip155:31337:0x5fbd..."])
    action: str = Field(min_length=1, max_length=64, examples=["issue"])
    resource: str = Field(min_length=1, max_length=256, examples=["OpenBadgeCredential"])
    context: dict[Key, Value] = Field(
        default_factory=dict,
        max_length=16,
        description="`time`: RFC 3339 UTC instant the question is about (default: now)",
    )


class TrqpAnswer(BaseModel):
    entity_id: str
    authority_id: str
    action: str
    resource: str
    time_requested: str | None = None
    time_evaluated: str
    message: str
    context: dict[str, str]
    evidence: dict[str, Any] | None = None


class AuthorizationResponse(TrqpAnswer):
    authorized: bool
    reason: str = Field(description="Stable code of why (e.g. issuer_suspended)")


class RecognitionResponse(TrqpAnswer):
    recognized: bool


@router.post(
    "/authorization",
    summary="Was the entity authorized to issue this credential type at that time?",
    response_model=AuthorizationResponse,
    response_model_exclude_unset=True,
)
def authorization(body: TrqpQuery, node: NodeDep, evidence: Evidence = False) -> dict[str, Any]:
    return node.registry.trqp.authorization(**body.model_dump(), evidence=evidence)


@router.post(
    "/recognition",
    summary="Does the consortium recognize the entity (a member) as a governing authority?",
    response_model=RecognitionResponse,
    response_model_exclude_unset=True,
)
def recognition(body: TrqpQuery, node: NodeDep, evidence: Evidence = False) -> dict[str, Any]:
    return node.registry.trqp.recognition(**body.model_dump(), evidence=evidence)
