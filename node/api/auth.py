"""API-key authentication and the list of what is deliberately public.

Routes declare the scope they need with `Depends(require_scope(Scope.ISSUER))`; the dependency
answers with the calling `Principal` or refuses with a problem:

- no key                             -> 401 `missing_api_key` (+ `WWW-Authenticate: Bearer`)
- malformed, unknown or revoked key  -> 401 `invalid_api_key`
- a valid key without the scope      -> 403 `insufficient_scope`

A key travels as `Authorization: Bearer lk_...` or `X-API-Key: lk_...`.

Being public is opt-in: `PUBLIC_ENDPOINTS` names every endpoint that needs no key, and
`routes_without_auth(app)` lists the routes that are neither on it nor guarded by
`require_scope`. The route-security test fails on any such route, so forgetting the dependency
on a new route breaks the build instead of opening the node.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import RouteContext, iter_route_contexts
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import Mount

from node.access.apikeys import ApiKeyInfo, InvalidApiKey, Scope, authenticate
from node.errors import Forbidden, Unauthorized
from node.store.db import Database

#: Endpoints anyone may call, as "METHOD /path-template" ("MOUNT /path" for mounted apps).
#: Everything else must depend on `require_scope`. Keep it short and obvious: adding an entry
#: is a security decision.
PUBLIC_ENDPOINTS: frozenset[str] = frozenset(
    {
        # Operations and API description.
        "GET /health",
        # Aggregate counters for Prometheus (no personal data, no request contents; a few
        # indexed COUNT queries per scrape). Operators who want it private filter it at the proxy.
        "GET /metrics",
        "GET /openapi.json",
        "GET /docs",
        "GET /docs/oauth2-redirect",
        "MOUNT /docs/static",
        "GET /redoc",
        # Verification: anyone may check any credential (rate-limited per client).
        "POST /v1/verify",
        "GET /verify",
        "POST /verify",
        "POST /credentials/verify",
        "POST /presentations/verify",
        # What a verifier needs: public chain data, readable by anyone (rate-limit these).
        "GET /v1/status-lists/{list_id}",
        "GET /1.0/identifiers/{did:path}",
        # did:web documents of this node's institutions (public by the did:web method).
        "GET /.well-known/did.json",
        "GET /institutions/{institution_id:int}/did.json",
        "GET /v1/issuers",
        "GET /v1/issuers/{address}",
        # Consortium transparency: governance state is on chain for anyone to read anyway.
        "GET /v1/governance",
        "GET /v1/governance/proposals",
        "GET /v1/governance/proposals/{proposal_id}",
        # Wallet delivery: the offer id in the path is the capability the institution sent the
        # learner (unguessable, single-use, expiring); the OpenID4VCI token and credential
        # endpoints check their own grant and access token; all rate-limited.
        "GET /offers/{offer_id}",
        "POST /offers/{offer_id}/request",
        "GET /offers/{offer_id}/openid-credential-offer",
        "GET /workflows/credential-offer/exchanges/{offer_id}",
        "POST /workflows/credential-offer/exchanges/{offer_id}",
        "GET /.well-known/openid-credential-issuer",
        "GET /.well-known/oauth-authorization-server",
        "POST /oid4vci/token",
        "POST /oid4vci/nonce",
        "POST /oid4vci/credential",
        # The consortium registry in trust-registry protocols: public by design, read-only.
        "GET /.well-known/openid-federation",
        "GET /federation/fetch",
        "GET /federation/list",
        "GET /federation/registry.json",
        "POST /authorization",
        "POST /recognition",
        "GET /trusted-issuers-registry/v5/issuers",
        "GET /trusted-issuers-registry/v5/issuers/{did}",
        "GET /trusted-issuers-registry/v5/issuers/{did}/attributes",
        "GET /trusted-issuers-registry/v5/issuers/{did}/attributes/{attribute_id}",
    }
)

API_KEY_HEADER = "X-API-Key"

# Declared through FastAPI's security classes so the OpenAPI document lists both ways to send a
# key; the decision itself is made below, on the raw headers.
_bearer = HTTPBearer(
    auto_error=False, scheme_name="apiKeyBearer", description="`Authorization: Bearer lk_...`"
)
_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    scheme_name="apiKeyHeader",
    description="`X-API-Key: lk_...`",
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, scopes and (for an issuer key) its institution."""

    key_id: str
    scopes: frozenset[Scope]
    institution_id: int | None

    def has(self, scope: Scope) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes

    def may_act_for(self, institution_id: int) -> bool:
        """Whether the caller may issue/revoke for `institution_id` (admins: any)."""
        return Scope.ADMIN in self.scopes or self.institution_id == institution_id

    @classmethod
    def of(cls, key: ApiKeyInfo) -> Principal:
        return cls(key_id=key.id, scopes=key.scopes, institution_id=key.institution_id)


class ScopeRequirement:
    """The dependency `require_scope` returns; a class so route inspection can recognise it."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def __repr__(self) -> str:
        return f"require_scope({self.scope.value!r})"

    def __call__(
        self,
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        header: Annotated[str | None, Depends(_header)],
    ) -> Principal:
        # Sync on purpose: FastAPI runs it in the thread pool, where the database read belongs.
        token = _presented_key(request, bearer, header)
        key = authenticate(node_database(request), token)
        principal = Principal.of(key)
        request.state.principal = principal
        if not principal.has(self.scope):
            held = ", ".join(sorted(principal.scopes))
            raise Forbidden(
                f"this endpoint needs the {self.scope.value!r} scope; the key has: {held}",
                code="insufficient_scope",
                required_scope=self.scope.value,
            )
        return principal


@cache
def require_scope(scope: Scope | str) -> ScopeRequirement:
    """The dependency guarding a route with `scope`; one instance per scope, so FastAPI runs it
    once per request even when both a router and an endpoint declare it."""
    return ScopeRequirement(Scope(scope))


def app_routes(app: FastAPI) -> list[RouteContext]:
    """Every route of `app` as served, included routers expanded.

    FastAPI keeps an included router as one lazy entry in `app.routes`; its route contexts carry
    the effective path and the dependencies added by `include_router`, which is what counts.
    """
    return list(iter_route_contexts(app.routes))


def required_scopes(route: RouteContext) -> frozenset[Scope]:
    """The scopes a route's dependencies demand, at any depth (empty: unauthenticated)."""
    dependant: Dependant | None = getattr(route, "dependant", None)
    if dependant is None:
        return frozenset()
    return frozenset(
        dep.call.scope for dep in _walk(dependant) if isinstance(dep.call, ScopeRequirement)
    )


def endpoint_names(route: RouteContext) -> list[str]:
    """The "METHOD /path" names a route answers to, as used in `PUBLIC_ENDPOINTS`."""
    if isinstance(route.original_route, Mount):
        return [f"MOUNT {route.path}"]
    methods = sorted((route.methods or {"ANY"}) - {"HEAD"})
    return [f"{method} {route.path}" for method in methods]


def routes_without_auth(app: FastAPI, public: Iterable[str] = PUBLIC_ENDPOINTS) -> list[str]:
    """Endpoints of `app` that need no API key although they are not declared public."""
    allowed = set(public)
    return [
        name
        for route in app_routes(app)
        if not required_scopes(route)
        for name in endpoint_names(route)
        if name not in allowed
    ]


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    for dep in dependant.dependencies:
        yield dep
        yield from _walk(dep)


def _presented_key(
    request: Request, bearer: HTTPAuthorizationCredentials | None, header: str | None
) -> str:
    if bearer is not None:
        return bearer.credentials
    if "authorization" in request.headers:
        # Present but not `Bearer <key>` (e.g. Basic, or an empty value): a broken key, not none.
        raise InvalidApiKey("the Authorization header must be `Bearer <API key>`")
    if header is not None:
        return header.strip()
    raise Unauthorized(
        f"this endpoint needs an API key (Authorization: Bearer ... or {API_KEY_HEADER})",
        code="missing_api_key",
    )


def node_database(request: Request) -> Database:
    """The database of the node serving `request` (set by `create_app` as `app.state.node`)."""
    database: Database = request.app.state.node.db
    return database
