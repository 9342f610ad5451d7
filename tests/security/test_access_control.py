"""Who may touch what on a real node: issuer keys only reach their own institution's
credentials, rotated and revoked keys stop at once, and the public endpoints are metered.

tests/e2e/api/test_route_security.py already proves, route by route, that every non-public
endpoint refuses a missing, malformed, unknown, revoked or wrong-scope key. This adds what
needs a running node: object-level authorization between two institutions, key rotation and
revocation through the admin API, and rate limits on what anyone may call.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from node.api.app import create_app
from node.wiring.runtime import Node

pytestmark = [pytest.mark.slow, pytest.mark.anvil]

ACHIEVEMENT = {"name": "Access Control", "description": "d", "criteria_narrative": "c",
               "achievement_type": "Certificate"}  # fmt: skip


@pytest.fixture(scope="module")
def admin_api(live: tuple[Node, str]) -> Iterator[TestClient]:
    node, admin_key = live
    with TestClient(create_app(node), headers={"Authorization": f"Bearer {admin_key}"}) as api:
        yield api


@pytest.fixture(scope="module")
def other_issuer_key(live: tuple[Node, str], admin_api: TestClient) -> str:
    """An issuer key of a second institution hosted on the same node."""
    node, _ = live
    other = node.onboarding.create_institution("Other University")
    created = admin_api.post(
        "/v1/admin/api-keys", json={"scopes": ["issuer"], "institution_id": other.id}
    )
    assert created.status_code == 201, created.text
    key: str = created.json()["key"]
    return key


def issue_one(api: TestClient) -> dict[str, Any]:
    response = api.post(
        "/v1/credentials",
        json={"credential": {"learner": {"name": "A", "email": "a@example.edu"},
                             "achievement": ACHIEVEMENT}},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()["credentials"][0]
    return issued


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("GET", "/bundle", None),
        ("POST", "/revoke", {"wait": 0}),
        ("POST", "/suspend", {"wait": 0}),
        ("POST", "/reinstate", {"wait": 0}),
        ("DELETE", "", None),
    ],
)
def test_an_issuer_key_cannot_see_or_change_another_institutions_credential(
    live: tuple[Node, str],
    admin_api: TestClient,
    other_issuer_key: str,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    credential = issue_one(admin_api)
    with TestClient(
        create_app(live[0]), headers={"Authorization": f"Bearer {other_issuer_key}"}
    ) as other:
        response = other.request(method, f"/v1/credentials/{credential['id']}{suffix}", json=body)
    # Not 403: a 404 does not even confirm the credential exists.
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "credential_not_found"
    after = admin_api.get(f"/v1/credentials/{credential['id']}").json()
    assert (after["revoked"], after["suspended"], after["erased"]) == (False, False, False)


def test_a_batch_status_change_naming_a_foreign_credential_changes_nothing(
    live: tuple[Node, str], admin_api: TestClient, other_issuer_key: str
) -> None:
    foreign = issue_one(admin_api)
    with TestClient(
        create_app(live[0]), headers={"Authorization": f"Bearer {other_issuer_key}"}
    ) as other:
        response = other.post(
            "/v1/credentials/status",
            json={"action": "revoke", "ids": [foreign["id"]], "wait": 0},
        )
    assert response.status_code == 404
    assert admin_api.get(f"/v1/credentials/{foreign['id']}").json()["revoked"] is False


def test_a_rotated_key_stops_working_at_once_and_its_successor_works(
    live: tuple[Node, str], admin_api: TestClient
) -> None:
    created = admin_api.post("/v1/admin/api-keys", json={"scopes": ["operator"]}).json()
    rotated = admin_api.post(f"/v1/admin/api-keys/{created['id']}/rotate").json()
    app = create_app(live[0])
    with TestClient(app) as client:
        old = client.post(
            "/v1/governance/proposals", headers={"Authorization": f"Bearer {created['key']}"},
            json={},
        )  # fmt: skip
        new = client.post(
            "/v1/governance/proposals", headers={"Authorization": f"Bearer {rotated['key']}"},
            json={},
        )  # fmt: skip
    assert old.status_code == 401 and old.json()["code"] == "invalid_api_key"
    assert new.status_code == 422  # past auth: only the empty body is wrong


def test_a_revoked_key_stops_working_at_once(live: tuple[Node, str], admin_api: TestClient) -> None:
    created = admin_api.post("/v1/admin/api-keys", json={"scopes": ["admin"]}).json()
    headers = {"Authorization": f"Bearer {created['key']}"}
    with TestClient(create_app(live[0])) as client:
        assert client.get("/v1/admin/api-keys", headers=headers).status_code == 200
        assert admin_api.delete(f"/v1/admin/api-keys/{created['id']}").status_code == 200
        refused = client.get("/v1/admin/api-keys", headers=headers)
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_api_key"


PUBLIC_GETS = [
    "/v1/issuers",
    "/v1/governance",
    "/v1/governance/proposals",
    "/1.0/identifiers/did:ethr:0x7a69:0x0000000000000000000000000000000000000001",
    "/v1/status-lists/0x0000000000000000000000000000000000000001-0-revocation",
]


PUBLIC_CALLS = [("GET", path) for path in PUBLIC_GETS] + [
    ("POST", "/v1/verify"),  # an empty body: a 422 problem until the meter refuses
    ("POST", "/credentials/verify"),
]


@pytest.mark.parametrize(("method", "path"), PUBLIC_CALLS)
def test_public_endpoints_are_rate_limited_per_client(
    live: tuple[Node, str], method: str, path: str
) -> None:
    """Anyone may call these, so each client is metered (LERNODE_VERIFY_RATE_LIMIT a minute)."""
    node, _ = live
    limit = 5
    original = node.settings
    node.settings = original.model_copy(update={"verify_rate_limit": limit})
    try:
        app = create_app(node)
    finally:
        node.settings = original
    with TestClient(app) as client:
        answers = [client.request(method, path).status_code for _ in range(limit + 3)]
    assert 429 not in answers[:limit], answers
    assert answers[-1] == 429, f"{path} is not rate-limited: {answers}"


def test_an_oversized_body_is_refused_before_it_is_read(live: tuple[Node, str]) -> None:
    node, admin_key = live
    with TestClient(create_app(node), headers={"Authorization": f"Bearer {admin_key}"}) as api:
        response = api.post(
            "/v1/credentials",
            content=b'{"credentials": [' + b" " * (node.settings.max_body_bytes + 1) + b"]}",
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
