"""`/v1/admin/api-keys`: create, list, rotate and revoke API keys (admin scope only).

A key's token is in the response to create and rotate and nowhere else, ever: those responses
are marked `Cache-Control: no-store` so no proxy or browser cache keeps a copy. Every change is
logged with the acting key's id, which is the audit trail of who granted what.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from node.access import apikeys
from node.access.apikeys import ApiKeyInfo, IssuedKey, Scope
from node.api.auth import Principal, node_database, require_scope
from node.api.problems import problem_responses
from node.api.schemas.common import SingleLine

log = logging.getLogger(__name__)

Admin = Annotated[Principal, Depends(require_scope(Scope.ADMIN))]
KeyId = Annotated[SingleLine, Path(max_length=64, description="The key's id (not its secret).")]

router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    dependencies=[Depends(require_scope(Scope.ADMIN))],
    responses=problem_responses(401, 403),
)


class ApiKeyCreate(BaseModel):
    scopes: list[Scope] = Field(min_length=1, max_length=len(Scope), examples=[["issuer"]])
    label: SingleLine = Field("", max_length=200, description="What the key is for, for humans.")
    institution_id: int | None = Field(
        None,
        ge=1,
        lt=2**63,
        description="Required for (and only for) `issuer` keys: who the key issues for.",
    )


class ApiKeyView(BaseModel):
    id: str
    scopes: list[Scope]
    label: str
    institution_id: int | None
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, key: ApiKeyInfo) -> ApiKeyView:
        return cls(
            id=key.id,
            scopes=sorted(key.scopes),
            label=key.label,
            institution_id=key.institution_id,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
            last_used_at=key.last_used_at,
        )


class ApiKeyWithSecret(ApiKeyView):
    key: str = Field(description="The full API key. Shown only in this response: store it now.")

    @classmethod
    def issued(cls, issued: IssuedKey) -> ApiKeyWithSecret:
        return cls(**ApiKeyView.of(issued.info).model_dump(), key=issued.token)


@router.post(
    "/api-keys",
    status_code=201,
    response_model=ApiKeyWithSecret,
    responses=problem_responses(404, 422),
    summary="Create an API key (the key is shown once)",
)
def create_api_key(
    body: ApiKeyCreate, admin: Admin, request: Request, response: Response
) -> ApiKeyWithSecret:
    issued = apikeys.create_key(
        node_database(request), body.scopes, label=body.label, institution_id=body.institution_id
    )
    scopes = " ".join(sorted(issued.info.scopes))
    log.info("API key %s created with scopes %s by %s", issued.info.id, scopes, admin.key_id)
    return _secret_once(issued, response)


@router.get("/api-keys", response_model=list[ApiKeyView], summary="List API keys (no secrets)")
def list_api_keys(request: Request, include_revoked: bool = True) -> list[ApiKeyView]:
    return [
        ApiKeyView.of(key)
        for key in apikeys.list_keys(node_database(request), include_revoked=include_revoked)
    ]


@router.post(
    "/api-keys/{key_id}/rotate",
    response_model=ApiKeyWithSecret,
    responses=problem_responses(404, 409),
    summary="Replace a key's secret; the old one stops working at once",
)
def rotate_api_key(
    key_id: KeyId, admin: Admin, request: Request, response: Response
) -> ApiKeyWithSecret:
    issued = apikeys.rotate_key(node_database(request), key_id)
    log.info("API key %s rotated by %s", key_id, admin.key_id)
    return _secret_once(issued, response)


@router.delete(
    "/api-keys/{key_id}",
    response_model=ApiKeyView,
    responses=problem_responses(404),
    summary="Revoke a key for good",
)
def revoke_api_key(key_id: KeyId, admin: Admin, request: Request) -> ApiKeyView:
    key = apikeys.revoke_key(node_database(request), key_id)
    log.info("API key %s revoked by %s", key_id, admin.key_id)
    return ApiKeyView.of(key)


def _secret_once(issued: IssuedKey, response: Response) -> ApiKeyWithSecret:
    """The answer that shows a key's secret, the only time it is shown: never cached."""
    response.headers["Cache-Control"] = "no-store"
    return ApiKeyWithSecret.issued(issued)
