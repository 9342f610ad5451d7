"""`require_scope` lets the right keys in and refuses the rest with distinct problem codes;
`routes_without_auth` finds routes that forgot it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from node.access import apikeys
from node.access.apikeys import Scope
from node.api.auth import (
    API_KEY_HEADER,
    PUBLIC_ENDPOINTS,
    Principal,
    app_routes,
    require_scope,
    required_scopes,
    routes_without_auth,
)
from node.api.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from node.store.db import Database


def make_app(node: SimpleNamespace) -> FastAPI:
    app = FastAPI()
    app.state.node = node
    install_problem_handlers(app)

    @app.post("/issue")
    def issue(
        who: Annotated[Principal, Depends(require_scope(Scope.ISSUER))],
    ) -> dict[str, object]:
        return {"key": who.key_id, "institution": who.institution_id}

    @app.post("/operate", dependencies=[Depends(require_scope("operator"))])
    def operate() -> dict[str, bool]:
        return {"ok": True}

    return app


@pytest.fixture
def client(node: SimpleNamespace) -> TestClient:
    return TestClient(make_app(node))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused(response: Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["code"] == code


def test_issuer_key_reaches_issuer_route_as_its_principal(
    client: TestClient, db: Database, institution_id: int
) -> None:
    issued = apikeys.create_key(db, ["issuer"], institution_id=institution_id)
    response = client.post("/issue", headers=bearer(issued.token))
    assert response.json() == {"key": issued.info.id, "institution": institution_id}


def test_key_is_accepted_in_the_x_api_key_header(client: TestClient, db: Database) -> None:
    token = apikeys.create_key(db, ["operator"]).token
    assert client.post("/operate", headers={API_KEY_HEADER: token}).json() == {"ok": True}


def test_admin_key_passes_every_scope(client: TestClient, db: Database) -> None:
    token = apikeys.create_key(db, ["admin"]).token
    assert client.post("/operate", headers=bearer(token)).status_code == 200
    assert client.post("/issue", headers=bearer(token)).status_code == 200


def test_no_key_is_401_missing_api_key_with_a_challenge(client: TestClient) -> None:
    response = client.post("/operate")
    refused(response, 401, "missing_api_key")
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer lk_nope"},
        {"Authorization": "Bearer lk_aaaaaaaaaaaa_" + "A" * 43},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": ""},
        {API_KEY_HEADER: "not-a-key"},
    ],
    ids=["malformed", "unknown", "basic-scheme", "empty-authorization", "bad-header-key"],
)
def test_bad_keys_are_401_invalid_api_key(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post("/operate", headers=headers)
    refused(response, 401, "invalid_api_key")
    assert "www-authenticate" in response.headers


def test_revoked_key_is_refused_on_its_next_request(client: TestClient, db: Database) -> None:
    issued = apikeys.create_key(db, ["operator"])
    assert client.post("/operate", headers=bearer(issued.token)).status_code == 200
    apikeys.revoke_key(db, issued.info.id)
    refused(client.post("/operate", headers=bearer(issued.token)), 401, "invalid_api_key")


def test_wrong_scope_is_403_insufficient_scope(
    client: TestClient, db: Database, institution_id: int
) -> None:
    issuer = apikeys.create_key(db, ["issuer"], institution_id=institution_id).token
    response = client.post("/operate", headers=bearer(issuer))
    refused(response, 403, "insufficient_scope")
    assert response.json()["required_scope"] == "operator"


def test_principal_may_act_only_for_its_institution() -> None:
    issuer = Principal("k1", frozenset({Scope.ISSUER}), 7)
    admin = Principal("k2", frozenset({Scope.ADMIN}), None)
    assert issuer.may_act_for(7)
    assert not issuer.may_act_for(8)
    assert admin.may_act_for(8)


def test_openapi_declares_both_ways_to_send_a_key(node: SimpleNamespace) -> None:
    schema = make_app(node).openapi()
    assert set(schema["components"]["securitySchemes"]) == {"apiKeyBearer", "apiKeyHeader"}


# -- finding unguarded routes ---------------------------------------------------------------


def issuer_principal(
    principal: Annotated[Principal, Depends(require_scope("issuer"))],
) -> Principal:
    return principal


TOY_PUBLIC = {
    "GET /health",
    "GET /openapi.json",
    "GET /docs",
    "GET /docs/oauth2-redirect",
    "GET /redoc",
    "GET /mixed",
}


def toy_app() -> FastAPI:
    app = FastAPI()
    guarded = APIRouter(prefix="/admin", dependencies=[Depends(require_scope("admin"))])
    plain = APIRouter(prefix="/ops")

    @guarded.get("/things")
    def things() -> None: ...

    @plain.get("/included-guarded")
    def included_guarded() -> None: ...

    @plain.get("/included-open")
    def included_open() -> None: ...

    @app.post("/nested")
    def via_nested(principal: Annotated[Principal, Depends(issuer_principal)]) -> None: ...

    @app.get("/health")
    def health() -> None: ...

    @app.get("/forgotten")
    def forgotten() -> None: ...

    @app.api_route("/mixed", methods=["GET", "PUT"])
    def mixed() -> None: ...

    app.include_router(guarded)
    app.include_router(plain, dependencies=[Depends(require_scope("operator"))])
    app.include_router(plain, prefix="/open")  # the same routes, included without a key
    return app


def test_routes_without_auth_reports_exactly_the_unguarded_non_public_endpoints() -> None:
    unguarded = routes_without_auth(toy_app(), public=TOY_PUBLIC)
    assert sorted(unguarded) == [
        "GET /forgotten",
        "GET /open/ops/included-guarded",
        "GET /open/ops/included-open",
        "PUT /mixed",
    ]


def test_framework_routes_count_unless_declared_public() -> None:
    unguarded = routes_without_auth(toy_app(), public=set())
    assert "GET /openapi.json" in unguarded
    assert "GET /health" in unguarded


def test_required_scopes_see_router_include_and_nested_dependencies() -> None:
    by_path = {route.path: required_scopes(route) for route in app_routes(toy_app())}
    assert by_path["/admin/things"] == {Scope.ADMIN}
    assert by_path["/ops/included-guarded"] == {Scope.OPERATOR}
    assert by_path["/nested"] == {Scope.ISSUER}
    assert by_path["/forgotten"] == frozenset()
    assert by_path["/openapi.json"] == frozenset()


def test_public_endpoint_names_are_well_formed() -> None:
    for name in PUBLIC_ENDPOINTS:
        method, path = name.split(" ")
        assert method in {"GET", "POST", "MOUNT"}, name
        assert path.startswith("/"), name
        assert not path.startswith("/v1/admin"), name
