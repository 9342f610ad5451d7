"""Every route of the real app either is on the public allow-list or refuses callers without the
right API key, with the documented problem codes.

The routes are enumerated from `create_app(...)` itself, so a route added tomorrow is checked
tomorrow; a route that forgot `require_scope` fails `test_every_route_needs_a_key_or_is_public`.

Fixture: the app is built around a stand-in node with only a migrated SQLite database and
default settings (no chain, no keystore). That suffices because every request these tests send
to a guarded route is decided by the auth dependency, which runs before the route's own
parameters, body and handler; the admin-key control checks only that auth let it through.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from node.access import apikeys
from node.access.apikeys import Scope
from node.api.app import create_app
from node.api.auth import (
    PUBLIC_ENDPOINTS,
    app_routes,
    endpoint_names,
    required_scopes,
    routes_without_auth,
)
from node.api.problems import PROBLEM_MEDIA_TYPE
from node.config import Settings
from node.store.db import Database
from node.store.models import Institution

#: A sample value each Starlette path convertor accepts, so the request reaches the route.
SAMPLE_PATH_VALUES = {"int": "1", "float": "1.5", "uuid": str(uuid.uuid4()), "path": "x/y"}


def stand_in_node(db: Database | None, data_dir: Path) -> SimpleNamespace:
    return SimpleNamespace(db=db, settings=Settings(data_dir=data_dir))


def guarded_endpoints() -> list[tuple[str, str, frozenset[Scope]]]:
    """(method, concrete URL, scopes) of every key-protected endpoint of the real app."""
    app = create_app(stand_in_node(None, Path(".lernode-unused")))  # type: ignore[arg-type]
    found = []
    for route in app_routes(app):
        scopes = required_scopes(route)
        if not scopes:
            continue
        url = route.path
        for name, convertor in route.param_convertors.items():
            kind = type(convertor).__name__.removesuffix("Convertor").lower()
            url = url.replace(f"{{{name}}}", SAMPLE_PATH_VALUES.get(kind, "x"))
            url = url.replace(f"{{{name}:{kind}}}", SAMPLE_PATH_VALUES.get(kind, "x"))
        for method in sorted(route.methods - {"HEAD"}):
            found.append((method, url, scopes))
    return found


GUARDED = guarded_endpoints()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The app around a stand-in node, and one key of each kind in its database."""
    data_dir = tmp_path_factory.mktemp("route-security")
    db = Database(f"sqlite:///{data_dir / 'node.sqlite'}")
    db.migrate()
    with db.session() as session:
        institution = Institution(name="U", address="0x" + "22" * 20, did="did:ethr:0x1:0x22")
        session.add(institution)
        session.flush()
        institution_id = institution.id
    revoked = apikeys.create_key(db, ["admin"])
    apikeys.revoke_key(db, revoked.info.id)
    app = create_app(stand_in_node(db, data_dir))  # type: ignore[arg-type]
    yield {
        "client": TestClient(app, raise_server_exceptions=False),
        Scope.ADMIN: apikeys.create_key(db, ["admin"]).token,
        Scope.OPERATOR: apikeys.create_key(db, ["operator"]).token,
        Scope.ISSUER: apikeys.create_key(db, ["issuer"], institution_id=institution_id).token,
        "revoked": revoked.token,
    }
    db.dispose()


def call(keys: dict[str, Any], method: str, url: str, headers: dict[str, str]) -> Response:
    client: TestClient = keys["client"]
    return client.request(method, url, headers=headers)


def assert_problem(response: Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["code"] == code


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def real_app() -> FastAPI:
    return create_app(stand_in_node(None, Path(".lernode-unused")))  # type: ignore[arg-type]


# -- the inventory --------------------------------------------------------------------------


def test_every_route_needs_a_key_or_is_declared_public() -> None:
    assert routes_without_auth(real_app()) == []


def test_a_route_added_without_auth_is_caught() -> None:
    app = real_app()

    @app.post("/v1/sneaky")
    def sneaky() -> None: ...

    assert "POST /v1/sneaky" in routes_without_auth(app)


def test_public_list_names_only_existing_unguarded_endpoints() -> None:
    endpoints = {
        name: required_scopes(route)
        for route in app_routes(real_app())
        for name in endpoint_names(route)
    }
    for public in PUBLIC_ENDPOINTS:
        assert public in endpoints, f"{public} is on the public list but no such route exists"
        assert not endpoints[public], f"{public} is public yet demands a key"
        assert "/admin" not in public


def test_the_admin_api_is_among_the_guarded_routes() -> None:
    admin = {(m, url) for m, url, scopes in GUARDED if scopes == {Scope.ADMIN}}
    assert ("POST", "/v1/admin/api-keys") in admin
    assert ("GET", "/v1/admin/api-keys") in admin


# -- each guarded endpoint ------------------------------------------------------------------


def endpoint_id(endpoint: tuple[str, str, frozenset[Scope]]) -> str:
    return f"{endpoint[0]} {endpoint[1]}"


guarded = pytest.mark.parametrize(
    ("method", "url", "scopes"), GUARDED, ids=map(endpoint_id, GUARDED)
)


@guarded
def test_no_key_is_refused_as_missing(
    keys: dict[str, Any], method: str, url: str, scopes: frozenset[Scope]
) -> None:
    response = call(keys, method, url, {})
    assert_problem(response, 401, "missing_api_key")
    assert response.headers["www-authenticate"].startswith("Bearer")


@guarded
@pytest.mark.parametrize(
    "token",
    ["lk_garbage", "lk_unknownkey00_" + "A" * 43, "revoked"],
    ids=["malformed", "unknown", "revoked"],
)
def test_invalid_keys_are_refused_as_invalid(
    keys: dict[str, Any], method: str, url: str, scopes: frozenset[Scope], token: str
) -> None:
    token = keys.get(token, token)
    assert_problem(call(keys, method, url, bearer(token)), 401, "invalid_api_key")
    assert_problem(call(keys, method, url, {"X-API-Key": token}), 401, "invalid_api_key")


@guarded
def test_a_key_without_the_scope_is_forbidden(
    keys: dict[str, Any], method: str, url: str, scopes: frozenset[Scope]
) -> None:
    wrong = next(s for s in (Scope.ISSUER, Scope.OPERATOR) if not {s} >= scopes)
    response = call(keys, method, url, bearer(keys[wrong]))
    assert_problem(response, 403, "insufficient_scope")


@guarded
def test_an_admin_key_gets_past_auth(
    keys: dict[str, Any], method: str, url: str, scopes: frozenset[Scope]
) -> None:
    response = call(keys, method, url, bearer(keys[Scope.ADMIN]))
    assert response.status_code not in (401, 403), response.text
