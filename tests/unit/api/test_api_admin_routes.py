"""`/v1/admin/api-keys`: the admin API over the key service, admin keys only."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from node.access import apikeys
from node.api.problems import install_problem_handlers
from node.api.routes import admin
from node.store.db import Database

KEYS = "/v1/admin/api-keys"


@pytest.fixture
def admin_token(db: Database) -> str:
    return apikeys.create_key(db, ["admin"], label="root").token


@pytest.fixture
def client(node: SimpleNamespace, admin_token: str) -> TestClient:
    app = FastAPI()
    app.state.node = node
    install_problem_handlers(app)
    app.include_router(admin.router)
    return TestClient(app, headers={"Authorization": f"Bearer {admin_token}"})


def test_create_shows_the_key_once_and_it_works(
    client: TestClient, db: Database, institution_id: int
) -> None:
    response = client.post(
        KEYS, json={"scopes": ["issuer"], "label": "SIS", "institution_id": institution_id}
    )
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    created = response.json()
    assert created["scopes"] == ["issuer"]
    assert created["institution_id"] == institution_id
    assert apikeys.authenticate(db, created["key"]).id == created["id"]

    listed = client.get(KEYS).json()
    assert {k["id"] for k in listed} >= {created["id"]}
    assert all("key" not in k and "secret_hash" not in k for k in listed)
    assert created["key"] not in client.get(KEYS).text


def test_rotate_returns_a_new_key_and_the_old_one_dies(client: TestClient, db: Database) -> None:
    created = client.post(KEYS, json={"scopes": ["operator"]}).json()
    rotated = client.post(f"{KEYS}/{created['id']}/rotate")
    assert rotated.status_code == 200
    assert rotated.headers["cache-control"] == "no-store"
    assert rotated.json()["id"] == created["id"]
    with pytest.raises(apikeys.InvalidApiKey):
        apikeys.authenticate(db, created["key"])
    assert apikeys.authenticate(db, rotated.json()["key"]).id == created["id"]


def test_delete_revokes(client: TestClient, db: Database) -> None:
    created = client.post(KEYS, json={"scopes": ["operator"]}).json()
    revoked = client.delete(f"{KEYS}/{created['id']}")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    with pytest.raises(apikeys.InvalidApiKey):
        apikeys.authenticate(db, created["key"])
    active = client.get(KEYS, params={"include_revoked": "false"}).json()
    assert created["id"] not in {k["id"] for k in active}


def test_unknown_key_is_a_not_found_problem(client: TestClient) -> None:
    for response in (client.post(f"{KEYS}/nosuchkey000/rotate"), client.delete(f"{KEYS}/x")):
        assert response.status_code == 404
        assert response.json()["code"] == "api_key_not_found"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"scopes": ["issuer"]}, "institution_required"),
        ({"scopes": ["root"]}, "invalid_request"),
        ({"scopes": []}, "invalid_request"),
    ],
)
def test_invalid_requests_create_nothing(
    client: TestClient, db: Database, body: dict[str, object], code: str
) -> None:
    response = client.post(KEYS, json=body)
    assert response.status_code == 422
    assert response.json()["code"] == code
    assert len(apikeys.list_keys(db)) == 1  # only the admin key of the fixture


def test_only_admin_keys_may_manage_keys(client: TestClient, db: Database) -> None:
    operator = apikeys.create_key(db, ["operator"]).token
    response = client.post(
        KEYS, json={"scopes": ["admin"]}, headers={"Authorization": f"Bearer {operator}"}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert len(apikeys.list_keys(db)) == 2
