"""OpenID Federation 1.0 (DCC profile) and the DCC legacy registry list: the consortium's
registry as LCW, VerifierPlus and `@digitalcredentials/verifier-core` read it.

- `GET /.well-known/openid-federation`: the signed entity configuration;
- `GET /federation/fetch?sub=<DID>`: a signed subordinate statement, or 404 with the OpenID
  Federation error JSON `{"error": "not_found", ...}` when the DID is not listed;
- `GET /federation/list`: the listed DIDs (JSON array);
- `GET /federation/registry.json`: DCC's legacy `{meta, registry}` list.

verifier-core puts the DID into the query unencoded, so a `did:web` with a port
(`did:web:host%3A8443`) arrives percent-decoded (`did:web:host:8443`, another DID): when the
decoded `sub` is not listed, the raw query value is tried too.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from node.api.deps import NodeDep
from node.registry.federation import (
    DCC_LIST_PATH,
    ENTITY_STATEMENT_MEDIA_TYPE,
    FETCH_PATH,
    LIST_PATH,
    WELL_KNOWN_PATH,
    NotListed,
)

router = APIRouter(tags=["registry: OpenID Federation"])

_JWT_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A signed entity statement (compact JWS)",
        "content": {ENTITY_STATEMENT_MEDIA_TYPE: {"schema": {"type": "string"}}},
    },
}
MAX_SUB = 512


class FederationError(BaseModel):
    """OpenID Federation's error response."""

    error: str = Field(examples=["not_found"])
    error_description: str


def federation_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def _jwt(token: str) -> Response:
    return Response(
        token, media_type=ENTITY_STATEMENT_MEDIA_TYPE, headers={"Cache-Control": "no-store"}
    )


@router.get(
    WELL_KNOWN_PATH,
    summary="Entity configuration of this registry (signed JWT)",
    response_class=Response,
    responses=_JWT_RESPONSE,
)
def entity_configuration(node: NodeDep) -> Response:
    return _jwt(node.registry.federation.entity_configuration())


def _raw_query_values(request: Request, name: str) -> list[str]:
    raw = request.scope.get("query_string", b"").decode("latin-1")
    values = []
    for pair in raw.split("&"):
        key, _, value = pair.partition("=")
        if unquote_plus(key) == name:
            values.append(value)
    return values


@router.get(
    FETCH_PATH,
    summary="Subordinate statement about a listed issuer DID (signed JWT)",
    response_class=Response,
    responses={**_JWT_RESPONSE, 400: {"model": FederationError}, 404: {"model": FederationError}},
)
def fetch(
    request: Request,
    node: NodeDep,
    sub: Annotated[str | None, Query(description="The issuer DID")] = None,
) -> Response:
    if not sub:
        return federation_error(400, "invalid_request", "the sub parameter is required")
    if len(sub) > MAX_SUB:
        return federation_error(400, "invalid_request", "sub is too long")
    candidates = list(dict.fromkeys([sub, *_raw_query_values(request, "sub")[:1]]))
    federation = node.registry.federation
    for candidate in candidates:
        try:
            return _jwt(federation.subordinate_statement(candidate))
        except NotListed:
            continue
    return federation_error(404, "not_found", f"{sub[:120]} is not listed by this registry")


@router.get(
    LIST_PATH,
    summary="The DIDs this registry lists (its subordinates)",
    response_model=list[str],
    responses={400: {"model": FederationError}},
)
def subordinates(
    node: NodeDep,
    entity_type: str | None = None,
    trust_marked: bool | None = None,
    trust_mark_type: str | None = None,
    intermediate: bool | None = None,
) -> Any:
    """Subordinates are issuers (leaf entities with `federation_entity` metadata): none is an
    intermediate or carries trust marks."""
    if trust_mark_type is not None:
        return federation_error(400, "unsupported_parameter", "trust marks are not issued here")
    if intermediate or trust_marked or entity_type not in (None, "federation_entity"):
        return []
    return node.registry.federation.subordinates()


class LegacyEntry(BaseModel):
    name: str
    location: str | None = None
    url: str | None = None


class LegacyMeta(BaseModel):
    created: str
    updated: str


class LegacyRegistry(BaseModel):
    """DCC's legacy registry list (`type: 'dcc-legacy'` in verifier-core)."""

    meta: LegacyMeta
    registry: dict[str, LegacyEntry]


@router.get(
    DCC_LIST_PATH,
    summary="DCC legacy registry list",
    response_model=LegacyRegistry,
    response_model_exclude_unset=True,
)
def legacy_list(node: NodeDep, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = "public, max-age=60"
    return node.registry.federation.legacy_list()
