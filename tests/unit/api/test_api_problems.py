"""Every error response is an RFC 9457 problem with a stable `code`, whatever raised it."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import BaseModel

from node.api.problems import (
    MAX_ERROR_TEXT,
    MAX_VALIDATION_ERRORS,
    PROBLEM_MEDIA_TYPE,
    install_problem_handlers,
    problem_responses,
    problem_type,
)
from node.errors import ChainError, NotFound, Unauthorized


class Item(BaseModel):
    name: str
    count: int


def make_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/missing", responses=problem_responses(404))
    def missing() -> None:
        raise NotFound("no credential urn:uuid:1", code="credential_not_found", credential="c1")

    @app.get("/chain")
    def chain() -> None:
        raise ChainError("rpc timed out")

    @app.get("/shadowing")
    def shadowing() -> None:
        raise NotFound("gone", status=200, code_hint="x", type="evil")

    @app.get("/login")
    def login() -> None:
        raise Unauthorized("who are you?")

    @app.post("/items")
    def items(item: Item) -> Item:
        return item

    @app.post("/lists")
    def lists(values: list[int]) -> list[int]:
        return values

    @app.post("/maps")
    def maps(values: dict[str, int]) -> dict[str, int]:
        return values

    @app.get("/bug")
    def bug() -> None:
        raise RuntimeError("secret database password in a trace")

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app(), raise_server_exceptions=False)


def problem(response: Response, status: int, code: str) -> dict[str, Any]:
    """Assert the response is the problem `code` with `status`, and return its document."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == f"https://lernode.dev/problems/{code}"
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["instance"] == response.request.url.path
    return body


def test_lernode_error_carries_its_code_title_and_extra_members(client: TestClient) -> None:
    body = problem(client.get("/missing"), 404, "credential_not_found")
    assert body["title"] == "Not found"
    assert body["detail"] == "no credential urn:uuid:1"
    assert body["credential"] == "c1"
    assert body["retryable"] is False


def test_extra_members_cannot_shadow_the_standard_ones(client: TestClient) -> None:
    body = problem(client.get("/shadowing"), 404, "not_found")
    assert body["type"] == problem_type("not_found")
    assert body["code_hint"] == "x"


def test_retryable_error_says_so_and_sends_retry_after(client: TestClient) -> None:
    response = client.get("/chain")
    body = problem(response, 503, "chain_unavailable")
    assert body["retryable"] is True
    assert int(response.headers["retry-after"]) > 0


def test_401_carries_a_bearer_challenge(client: TestClient) -> None:
    response = client.get("/login")
    problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_validation_error_lists_locations_and_messages(client: TestClient) -> None:
    body = problem(client.post("/items", json={"name": "x"}), 422, "invalid_request")
    assert body["errors"] == [{"location": "body.count", "message": "Field required"}]


def test_validation_error_never_echoes_the_input(client: TestClient) -> None:
    huge = "A" * 100_000
    for path, payload in (("/items", {"name": "x", "count": huge}), ("/maps", {huge: "x"})):
        response = client.post(path, json=payload)
        body = problem(response, 422, "invalid_request")
        assert "A" * 300 not in response.text
        assert len(body["errors"]) == 1
        assert len(body["errors"][0]["location"]) <= MAX_ERROR_TEXT


def test_validation_errors_are_capped(client: TestClient) -> None:
    body = problem(client.post("/lists", json=["x"] * 500), 422, "invalid_request")
    assert len(body["errors"]) == MAX_VALIDATION_ERRORS
    assert "500" in body["detail"]


def test_malformed_json_is_its_own_problem(client: TestClient) -> None:
    response = client.post(
        "/items", content=b'{"name": "x",', headers={"content-type": "application/json"}
    )
    body = problem(response, 400, "malformed_json")
    assert "JSON" in body["detail"]


def test_unknown_route_is_not_found(client: TestClient) -> None:
    body = problem(client.get("/nowhere"), 404, "not_found")
    assert "/nowhere" in body["detail"]


def test_wrong_method_is_method_not_allowed_with_allow_header(client: TestClient) -> None:
    response = client.delete("/items")
    problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


def test_unexpected_exception_is_a_generic_500_with_the_trace_only_in_the_log(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="node.api.problems"):
        response = client.get("/bug")
    body = problem(response, 500, "internal_error")
    assert "password" not in response.text
    assert "RuntimeError" not in response.text
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and body["incident"] in logged[0].getMessage()
    assert "secret database password" in str(logged[0].exc_info[1])  # type: ignore[index]


def test_openapi_documents_problems_as_problem_json() -> None:
    schema = make_app().openapi()
    assert {"type", "title", "status", "detail", "code"} <= set(
        schema["components"]["schemas"]["Problem"]["properties"]
    )
    items = schema["paths"]["/items"]["post"]["responses"]
    missing = schema["paths"]["/missing"]["get"]["responses"]
    for documented in (items["422"], items["default"], missing["404"]):
        assert documented["content"] == {
            PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
        }
    assert "HTTPValidationError" not in schema["components"]["schemas"]
