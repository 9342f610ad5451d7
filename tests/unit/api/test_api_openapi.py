"""The OpenAPI document describes every response (issue 15, item 5), and the documentation
pages it feeds load nothing from another origin (issue 10, item 18)."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from node.api.app import create_app
from node.config import Settings


@pytest.fixture(scope="module")
def client() -> TestClient:
    node = SimpleNamespace(db=None, settings=Settings(data_dir=Path(".lernode-unused")))
    return TestClient(create_app(node))  # type: ignore[arg-type]


def operations(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    document = client.get("/openapi.json").json()
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_every_operation_documents_the_schema_of_its_success_response(
    client: TestClient,
) -> None:
    undescribed = []
    for method, path, operation in operations(client):
        success = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        assert success, f"{method} {path} documents no success response"
        for status, response in success.items():
            if status == "204":
                continue
            content = response.get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            alternatives = schema.get("anyOf") or schema.get("oneOf") or []
            described = (
                schema.get("$ref")
                or schema.get("items", {}).get("$ref")
                or schema.get("items", {}).get("type")  # a list of strings, numbers...
                or (alternatives and all("$ref" in a for a in alternatives))
                or schema.get("additionalProperties") is True  # a JSON-LD document
                # another media type (a signed JWT, a page) with its own schema
                or any(t != "application/json" and c.get("schema") for t, c in content.items())
            )
            if not described:
                undescribed.append(f"{method} {path} {status}: {schema}")
    assert not undescribed, "\n".join(undescribed)


def test_json_documents_are_the_only_free_form_responses(client: TestClient) -> None:
    """`dict[str, Any]` answers only where the body is a JSON-LD document (a credential)."""
    free_form = [
        f"{method} {path}"
        for method, path, operation in operations(client)
        for response in operation["responses"].values()
        if response.get("content", {})
        .get("application/json", {})
        .get("schema", {})
        .get("additionalProperties")
        is True
    ]
    assert sorted(free_form) == [
        "GET /v1/status-lists/{list_id}",  # a status list credential
        "POST /offers/{offer_id}/request",  # the collected credential (DCC request flow)
    ]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_documentation_pages_load_only_what_the_node_serves(
    client: TestClient, page: str
) -> None:
    html = client.get(page)
    assert html.status_code == 200
    assert not re.findall(r"(?:https?:)?//[a-z0-9.-]+", html.text), "a page loads another origin"
    assets = re.findall(r"""(?:src|href)=["']?(/[^"' >]+)""", html.text)
    assert any(a.endswith(".js") for a in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
