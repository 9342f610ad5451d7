"""One request must not knock the node over: JSON nested 100,000 deep, sent to every route in
every way a route could parse it, is refused as a `nesting_too_deep` problem before any parse,
and the node keeps answering. Nor may a request pick its own rate-limit bucket by claiming to be
forwarded (issue 10, item 10: uvicorn trusted `X-Forwarded-For` from loopback by default).

Why it mattered: `py_ecc` (imported by eth-account) raises Python's recursion limit to 100,000,
so `json.loads` of such a text overflows the C stack and the process dies with a segfault
(issue 10, item 8). The in-process half checks every route/shape/carrier answers the problem
(on the old code the test process itself crashed); the subprocess half sends the same matrix to
a real `lernode up` and checks the process is alive and `/health` answers afterwards.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from node.api.app import create_app
from node.api.problems import PROBLEM_MEDIA_TYPE
from node.config import Settings
from node.wiring.runtime import Node

DEPTH = 100_000
#: URLs are bounded (httpx: 64 KiB of query), so what travels in one nests less deep.
URL_DEPTH = 4_000


def shapes(depth: int) -> dict[str, bytes]:
    return {
        "arrays": b"[" * depth + b"]" * depth,
        "objects": b'{"":' * depth + b"1" + b"}" * depth,
        "mixed": b'[{"":' * (depth // 2) + b"1" + b"}]" * (depth // 2),
    }


SHAPES = shapes(DEPTH)
URL_SHAPES = shapes(URL_DEPTH)
#: In process a crash needs no proof by size: 10,000 deep is far past the limit and quick to send.
LOCAL_SHAPES = shapes(10_000)
#: The pages are kept out of the OpenAPI document (they answer HTML) but parse input too.
PAGES = [("GET", "/verify"), ("POST", "/verify")]


def stand_in_app() -> Any:
    """The real app around a stand-in node, for its OpenAPI document."""
    node = SimpleNamespace(db=None, settings=Settings(data_dir=Path(".lernode-unused")))
    return create_app(node)  # type: ignore[arg-type]


def every_route(app: Any) -> list[tuple[str, str, str]]:
    """(METHOD, concrete path, template) of every operation in the OpenAPI document, plus the
    pages."""
    routes = []
    for template, item in app.openapi()["paths"].items():
        path = template
        while "{" in path:
            start = path.index("{")
            path = path[:start] + "1" + path[path.index("}", start) + 1 :]
        routes.extend((method.upper(), path, template) for method in item)
    assert len(routes) >= 20, routes
    return routes + [(method, path, path) for method, path in PAGES]


def carriers(shape_name: str, sizes: dict[str, bytes] = SHAPES) -> dict[str, dict[str, Any]]:
    """httpx request arguments putting a shape where some route might parse it."""
    shape, text = sizes[shape_name], sizes[shape_name].decode()
    return {
        "json body": {"content": shape, "headers": {"Content-Type": "application/json"}},
        "untyped body": {"content": shape, "headers": {"Content-Type": "text/plain"}},
        "form field": {"data": {"credential": text}},
        "multipart file": {"files": {"file": ("credential.json", shape, "application/json")}},
        "query": {"params": {"credential": URL_SHAPES[shape_name].decode()}},
    }


def base64_link(shape_name: str) -> dict[str, Any]:
    """`/verify?credential=<base64url>`, what `lernode export` prints: decoded by the route."""
    shape = URL_SHAPES[shape_name]
    return {"params": {"credential": base64.urlsafe_b64encode(shape).decode().rstrip("=")}}


def assert_refused(response: httpx.Response, where: str) -> None:
    assert response.status_code == 422, f"{where}: {response.status_code} {response.text[:200]}"
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE, where
    assert response.json()["code"] == "nesting_too_deep", where


# -- in process: every route, shape and carrier -------------------------------------------------


@pytest.fixture(scope="module")
def client(live: tuple[Node, str]) -> Iterator[TestClient]:
    """The app around the security package's ready node, with room for 100,000-deep bodies."""
    node, admin_key = live
    limit, node.settings.max_body_bytes = node.settings.max_body_bytes, 4_000_000
    app = create_app(node)
    node.settings.max_body_bytes = limit  # read once by create_app; the shared node is unchanged
    with TestClient(
        app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {admin_key}"}
    ) as test_client:
        yield test_client


def reads_body(app: Any, method: str, template: str, carrier: str) -> bool:
    """Whether the route reads a body sent this way (JSON routes read any body; the page reads
    only forms)."""
    if (method, template) == ("POST", "/verify"):
        return carrier in ("form field", "multipart file")
    return "requestBody" in app.openapi()["paths"].get(template, {}).get(method.lower(), {})


def test_every_route_refuses_deep_nesting_in_every_carrier_before_parsing(
    client: TestClient,
) -> None:
    """Query values are inspected on every route; bodies on every route that reads one (a
    route that never reads its body never parses it, and answers as it would without it)."""
    refused = 0
    for method, path, template in every_route(client.app):
        for shape_name in SHAPES:
            for carrier, arguments in carriers(shape_name, LOCAL_SHAPES).items():
                response = client.request(method, path, **arguments)
                where = f"{method} {path} {shape_name} in {carrier}"
                if carrier == "query" or reads_body(client.app, method, template, carrier):
                    assert_refused(response, where)
                    refused += 1
                else:
                    assert response.status_code < 500, f"{where}: {response.text[:200]}"
    assert refused >= 20 * 3


def test_a_base64_verification_link_nested_too_deep_is_refused_on_the_page(
    client: TestClient,
) -> None:
    for shape_name in SHAPES:
        response = client.get("/verify", **base64_link(shape_name))
        assert response.status_code == 422, shape_name
        assert "nests deeper than 64 levels" in response.text, shape_name


def test_nesting_within_the_limit_still_reaches_the_route(client: TestClient) -> None:
    """64 levels pass inspection (and fail later for what they are: not a credential)."""
    body = b"[" * 64 + b"]" * 64
    response = client.post("/v1/verify", content=body)
    assert response.status_code == 422
    assert response.json()["code"] != "nesting_too_deep"


def test_brackets_inside_strings_do_not_count(client: TestClient) -> None:
    body = b'{"name": "' + b"[{" * 10_000 + b'\\"[["}'
    response = client.post("/v1/verify", content=body)
    assert response.json()["code"] != "nesting_too_deep", response.text


def test_a_form_key_cannot_hide_a_deep_value(client: TestClient) -> None:
    """An unbalanced quote in a field name must not make the value look like a string."""
    deep = "[" * 1000 + "]" * 1000
    response = client.post(
        "/verify",
        content=f'x"=1&credential={deep}'.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_refused(response, "form with a quote in a key")


def test_a_multipart_header_cannot_hide_a_deep_part(client: TestClient) -> None:
    deep = b"[" * 1000 + b"]" * 1000
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a""\r\n\r\n'
        + deep
        + b"\r\n--b--\r\n"
    )
    response = client.post(
        "/verify", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert_refused(response, "multipart part after an unbalanced header quote")


def test_a_body_split_in_small_chunks_is_measured_across_them(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"a": "\\'
        yield b'"[[", "b": '
        for _ in range(100):
            yield b"[["

    response = client.post(
        "/v1/verify", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_refused(response, "chunked body")


# -- a real `lernode up`: alive and answering afterwards ----------------------------------------


@pytest.fixture(scope="module")
def real_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.support.processes import NodeProcess, deploy, external_chain

    data_dir = tmp_path_factory.mktemp("nesting-node")
    with external_chain() as chain:
        deploy(data_dir, chain.rpc_url)
        env = {"LERNODE_MAX_BODY_BYTES": "4000000", "LERNODE_VERIFY_RATE_LIMIT": "5"}
        node = NodeProcess(data_dir, chain.rpc_url, env=env)
        node.start()
        try:
            yield node
        finally:
            node.stop()


@pytest.mark.anvil
def test_a_real_node_meters_spoofed_forwarded_requests_like_plain_ones(real_node: Any) -> None:
    """Runs first on the fresh node (5 requests a minute): 20 requests each claiming another
    client by `X-Forwarded-For` or `Forwarded` share one bucket with 20 plain ones."""
    with httpx.Client(base_url=real_node.url, timeout=30) as http:
        spoofed = [
            http.get("/verify", headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code
            for n in range(10)
        ] + [
            http.get("/verify", headers={"Forwarded": f"for=198.51.100.{n}"}).status_code
            for n in range(10, 20)
        ]
        plain = [http.get("/verify").status_code for _ in range(20)]
    assert spoofed.count(200) == 5, spoofed
    assert set(spoofed[5:]) == {429}, spoofed
    assert plain.count(200) == 0, plain


@pytest.mark.anvil
@pytest.mark.slow
def test_a_real_node_survives_deep_nesting_on_every_route(real_node: Any) -> None:
    answered: dict[int, int] = {}
    with httpx.Client(base_url=real_node.url, timeout=60) as http:
        for method, path, _ in every_route(stand_in_app()):
            for shape_name in SHAPES:
                sent = [*carriers(shape_name).values()]
                if (method, path) == ("GET", "/verify"):
                    sent.append(base64_link(shape_name))
                for arguments in sent:
                    status = http.request(method, path, **arguments).status_code
                    answered[status] = answered.get(status, 0) + 1
                    assert real_node.process.poll() is None, (
                        f"the node died on {method} {path}:\n{real_node.log_tail()}"
                    )
        health = http.get("/health")
    assert health.status_code == 200, health.text
    assert all(0 < status < 500 for status in answered), answered
    assert answered[422] >= 20 * 3, answered


@pytest.mark.anvil
def test_a_real_node_answers_edge_values_instead_of_resetting(real_node: Any) -> None:
    """What reset the connection in the audit (issue 10, item 11) is a 4xx answer over real
    HTTP (429 counts: the node is metering at 5 requests a minute here)."""
    address = "0x" + "ab" * 20
    urls = [
        f"/v1/status-lists/{address}--5-revocation",
        f"/v1/status-lists/{address}-{2**63}-revocation",
        f"/1.0/identifiers/did:ethr:0x7a69:{address}?versionId=-5",
        f"/1.0/identifiers/did:ethr:0x7a69:{address}?versionId={2**64}",
        "/v1/governance/proposals/-5",
        "/verify?credential=%25%25%25",
        "/verify?credential=!!",
        "/verify?credential=AAAA",
    ]
    with httpx.Client(base_url=real_node.url, timeout=30) as http:
        for url in urls:
            status = http.get(url).status_code
            assert 400 <= status < 500, f"{url}: {status}"
        assert http.get("/health").status_code == 200
