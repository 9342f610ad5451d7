"""Values at the edges of their types are bad input, never a 500 or a reset connection
(issue 10, items 11 and 19), on SQLite and on PostgreSQL: instants whose UTC form has no
four-digit year, numbers beyond what a database column or the chain holds, negative numbers,
undecodable links, NUL and control characters, booleans given as numbers; and a 405 names every
method the path allows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from node.api.app import create_app
from node.credentials.inputs import CredentialInput
from node.wiring.runtime import Node

pytestmark = [pytest.mark.anvil]

CREDENTIAL = {
    "learner": {"name": "Edge Case", "email": "edge@example.edu"},
    "achievement": {
        "name": "Boundary Analysis",
        "description": "Tests the limits",
        "criteria_narrative": "Found them",
        "achievement_type": "Course",
    },
}
#: Instants a credential cannot state: their UTC form falls outside years 1..9999.
UNREPRESENTABLE = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]
#: Instants it can, though strftime("%Y") would drop the leading zero.
EARLY = ["0999-06-01T00:00:00Z", "0001-01-01T00:00:00-14:00", "9999-12-31T23:59:59+14:00"]
HUGE = [str(2**63), str(2**64), str(2**256), "-5", str(-(2**63) - 1)]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def api(request: pytest.FixtureRequest) -> Iterator[tuple[TestClient, Node]]:
    node, admin_key = request.getfixturevalue(
        "live" if request.param == "sqlite" else "live_postgres"
    )
    client = TestClient(
        create_app(node),
        raise_server_exceptions=False,
        headers={"Authorization": f"Bearer {admin_key}"},
    )
    yield client, node


@pytest.fixture(scope="module")
def bundle(api: tuple[TestClient, Node]) -> dict[str, Any]:
    _, node = api
    institution = node.own_institution()
    assert institution is not None
    issued = node.issuance.issue(institution, [CredentialInput.model_validate(CREDENTIAL)])[0]
    node.worker.drain()
    return node.issuance.bundle(node.issuance.record(issued["id"]))


def problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text[:300]
    body: dict[str, Any] = response.json()
    if code is not None:
        assert body["code"] == code, body
    return body


@pytest.mark.parametrize("instant", UNREPRESENTABLE)
@pytest.mark.parametrize("field", ["valid_from", "valid_until"])
def test_an_instant_without_a_utc_form_is_refused_naming_the_field(
    api: tuple[TestClient, Node], field: str, instant: str
) -> None:
    client, _ = api
    response = client.post("/v1/credentials", json={"credential": {**CREDENTIAL, field: instant}})
    body = problem(response, 422, "invalid_request")
    assert body["errors"][0]["location"] == f"body.credential.{field}"


@pytest.mark.parametrize("instant", EARLY)
def test_early_and_late_instants_are_issued_with_four_digit_years(
    api: tuple[TestClient, Node], instant: str
) -> None:
    client, _ = api
    body = {"credential": {**CREDENTIAL, "valid_from": instant}, "anchor_now": False}
    response = client.post("/v1/credentials", json=body)
    assert response.status_code == 201, response.text[:300]
    valid_from = response.json()["credentials"][0]["credential"]["validFrom"]
    assert len(valid_from.split("-", 1)[0]) == 4, valid_from


@pytest.mark.parametrize("instant", UNREPRESENTABLE + EARLY + ["-0001-01-01T00:00:00Z"])
def test_verifying_at_or_with_edge_instants_answers(
    api: tuple[TestClient, Node], bundle: dict[str, Any], instant: str
) -> None:
    client, _ = api
    assert client.post("/v1/verify", params={"at": instant}, json=bundle).status_code < 500
    for member in ("validFrom", "validUntil"):
        edited = {**bundle, "credential": {**bundle["credential"], member: instant}}
        response = client.post("/v1/verify", json=edited)
        assert response.status_code in (200, 422), response.text[:300]
        if response.status_code == 200:  # a report: the edit broke the signature at least
            assert response.json()["verdict"] != "valid"


@pytest.mark.parametrize("number", HUGE)
def test_numbers_beyond_their_column_or_chain_type_are_bad_input(
    api: tuple[TestClient, Node], bundle: dict[str, Any], number: str
) -> None:
    client, node = api
    institution = node.own_institution()
    assert institution is not None
    problem(client.get(f"/v1/status-lists/{institution.address}-{number}-revocation"), 404)
    resolved = client.get(f"/1.0/identifiers/{institution.did}", params={"versionId": number})
    problem(resolved, 400, "invalid_resolution_options")
    assert client.get(f"/v1/governance/proposals/{number}").status_code in (404, 422)
    keys = client.post(
        "/v1/admin/api-keys", json={"scopes": ["issuer"], "institution_id": int(number)}
    )
    problem(keys, 422, "invalid_request")
    for member in ("valid_from", "valid_until"):
        proposed = client.post(
            "/v1/governance/proposals",
            json={"action": "accredit_issuer", "target": "0x" + "12" * 20, member: int(number)},
        )
        problem(proposed, 422, "invalid_request")
    receipt = {**(bundle["receipt"] or {}), "blockNumber": int(number)}
    assert client.post("/v1/verify", json={**bundle, "receipt": receipt}).status_code == 200


def test_a_verification_link_that_is_not_base64url_json_is_a_page_saying_so(
    api: tuple[TestClient, Node],
) -> None:
    client, _ = api
    for link in ("%%%%", "!!", "AAAA", "/w", "-_-_", "e30", "W10", "bnVsbA", "\u00ff"):
        response = client.get("/verify", params={"credential": link})
        assert response.status_code == 422, (link, response.text[:300])
        assert response.headers["content-type"].startswith("text/html")


def test_nul_in_ids_key_labels_and_names_is_refused_before_the_database(
    api: tuple[TestClient, Node],
) -> None:
    client, _ = api
    problem(client.get("/v1/credentials/urn:uuid:1%002"), 422, "nul_character")
    problem(client.post("/v1/credentials/x%00/revoke"), 422, "nul_character")
    labelled = client.post("/v1/admin/api-keys", json={"scopes": ["operator"], "label": "a\0b"})
    problem(labelled, 422, "nul_character")
    named = client.post(
        "/v1/admin/institutions", json={"name": "U\u0000", "request_accreditation": False}
    )
    problem(named, 422, "nul_character")
    learner = {**CREDENTIAL, "learner": {"name": "A\0", "email": "a@example.edu"}}
    problem(client.post("/v1/credentials", json={"credential": learner}), 422, "nul_character")
    problem(client.post("/v1/credentials/status", json={"action": "revoke", "ids": ["a\0"]}), 422)


def test_control_characters_in_names_labels_and_ids_are_refused_by_field(
    api: tuple[TestClient, Node],
) -> None:
    client, _ = api
    for body, path, location in (
        ({"scopes": ["operator"], "label": "line\nbreak"}, "/v1/admin/api-keys", "body.label"),
        ({"name": "Bell\u0007", "request_accreditation": False}, "/v1/admin/institutions",
         "body.name"),
    ):  # fmt: skip
        errors = problem(client.post(path, json=body), 422, "invalid_request")["errors"]
        assert errors[0]["location"] == location
    problem(client.get("/v1/credentials/urn:uuid:%1B"), 422, "invalid_request")


def test_booleans_must_be_json_booleans(api: tuple[TestClient, Node]) -> None:
    client, _ = api
    for value in (0, 1, "true", "0"):
        body = {"name": "Strict U", "request_accreditation": value}
        errors = problem(client.post("/v1/admin/institutions", json=body), 422)["errors"]
        assert errors[0]["location"] == "body.request_accreditation"
        issued = client.post(
            "/v1/credentials", json={"credential": CREDENTIAL, "anchor_now": value}
        )
        problem(issued, 422, "invalid_request")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/credentials/urn:uuid:1", "DELETE, GET"),
        ("DELETE", "/v1/admin/api-keys", "GET, POST"),
        ("PATCH", "/verify", "GET, POST"),
        ("POST", "/health", "GET"),
    ],
)
def test_a_405_lists_every_method_the_path_allows(
    api: tuple[TestClient, Node], method: str, path: str, allowed: str
) -> None:
    client, _ = api
    response = client.request(method, path)
    problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allowed
