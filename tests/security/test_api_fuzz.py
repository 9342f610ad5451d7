"""Schemathesis over the whole OpenAPI document of a real node: no input makes it fail, and every
error is an RFC 9457 problem with a stable code.

The app is the one `lernode up` serves, around a running node (embedded anvil, SQLite, an
accredited institution), served by uvicorn on loopback. Each operation gets generated
requests twice: with the admin key (so inputs reach the handlers: issuance, status changes,
governance proposals, key management all really run) and with no key (the auth layer).
`test_zz_enough_requests_were_sent` then checks the campaign's size (>= 1,000 requests).

What counts as a failure:
- any 5xx (a generated request is never the server's fault);
- an error response that is not `application/problem+json` with `type`, `title`, `status`
  (= the HTTP status), `detail`, `instance`, a snake_case `code` whose `type` URI ends in it,
  and a boolean `retryable`. The Universal Resolver route is the one documented exception: DID
  resolution errors are DID resolution results (`didResolutionMetadata.error`), per its spec;
  so are the OpenID Federation endpoints: their errors are `{error, error_description}` JSON, as
  OpenID Federation 1.0 requires.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from node.api.app import create_app
from node.api.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE
from node.chain.anvil import free_port
from node.wiring.runtime import Node

pytestmark = [pytest.mark.slow, pytest.mark.anvil]

CODE = re.compile(r"^[a-z][a-z0-9_]*$")
#: Requests sent per status class, and failures seen, across the campaign.
SENT: Counter[str] = Counter()
#: "METHOD /template -> status" -> the first failing answer, for every operation that failed.
FAILURES: dict[str, str] = {}
RESOLVER_PREFIX = "/1.0/identifiers/"
FEDERATION_PREFIX = "/federation/"
#: OpenID Federation 1.0 error codes.
FEDERATION_ERRORS = {"invalid_request", "not_found", "unsupported_parameter", "server_error"}


@pytest.fixture(scope="module")
def server(live: tuple[Node, str]) -> Iterator[tuple[str, Any]]:
    """The node's app served by uvicorn on loopback, as `lernode up` serves it."""
    node, _ = live
    app = create_app(node)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical")
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not served.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        served.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def operations(server: tuple[str, Any]) -> list[Any]:
    """Every operation of the served OpenAPI document (schemathesis 4 with pytest 9 cannot use
    its own pytest plugin, so the operations are driven through hypothesis directly)."""
    base_url, _ = server
    api = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    found = []
    for result in api.get_all_operations():
        assert isinstance(result, Ok), result
        found.append(result.ok())
    assert len(found) >= 20
    return found


def check_answer(case: Any, response: Any) -> None:
    status = response.status_code
    SENT[f"{status // 100}xx"] += 1
    where = f"{case.method} {case.formatted_path} -> {status}: {response.text[:400]}"
    assert status < 500, where
    if status < 400:
        return
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    if case.formatted_path.startswith(RESOLVER_PREFIX) and "problem" not in content_type:
        assert response.json()["didResolutionMetadata"]["error"], where
        return
    if case.formatted_path.startswith(FEDERATION_PREFIX) and "problem" not in content_type:
        assert content_type.split(";")[0] == "application/json", where
        assert response.json()["error"] in FEDERATION_ERRORS, where
        return
    assert content_type.split(";")[0] == PROBLEM_MEDIA_TYPE, where
    body = response.json()
    assert body["status"] == status, where
    assert isinstance(body["code"], str) and CODE.match(body["code"]), where
    assert body["type"] == PROBLEM_TYPE_BASE + body["code"], where
    assert isinstance(body["title"], str) and body["title"], where
    assert isinstance(body["detail"], str), where
    assert body["instance"].startswith("/"), where
    assert isinstance(body["retryable"], bool), where


def fuzz(
    operation: Any, mode: GenerationMode, examples: int, headers: dict[str, str], base_url: str
) -> None:
    """Send `examples` generated requests to one operation, checking each answer."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        if isinstance(case.body, dict) and isinstance(case.body.get("wait"), int | float):
            case.body["wait"] = 0  # status changes may wait 300 s for the chain: not here
        sent = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        response = case.call(base_url=base_url, headers={**sent, **headers})
        try:
            check_answer(case, response)
        except AssertionError as exc:
            # Collected, not raised: one campaign reports every broken operation at once.
            FAILURES.setdefault(f"{operation.label} -> {response.status_code}", str(exc)[:300])

    try:
        run()
    except Unsatisfiable:
        # No invalid variant exists (e.g. GET /health has no parameters to break).
        assert mode is GenerationMode.NEGATIVE, operation.label


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_generated_requests_with_the_admin_key(
    operations: list[Any], live: tuple[Node, str], server: tuple[str, Any], mode: GenerationMode
) -> None:
    """Valid inputs reach the handlers and really run; invalid ones are refused as problems."""
    for operation in operations:
        fuzz(operation, mode, 24, {"Authorization": f"Bearer {live[1]}"}, server[0])
    assert not FAILURES, "\n".join(f"{k}: {v[:200]}" for k, v in sorted(FAILURES.items()))


def test_generated_requests_without_a_key(operations: list[Any], server: tuple[str, Any]) -> None:
    for operation in operations:
        fuzz(operation, GenerationMode.POSITIVE, 10, {}, server[0])
    assert not FAILURES, "\n".join(f"{k}: {v[:200]}" for k, v in sorted(FAILURES.items()))


# -- edge values in every parameter and form, on SQLite and PostgreSQL --------------------------

#: What the audit found answered with a 500 or a reset (issue 10, item 11), and their kin.
EDGE_VALUES: list[Any] = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00-14:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59+14:00",
    "0999-06-01T00:00:00Z",
    "-0001-01-01T00:00:00Z",
    2**63,
    2**64,
    2**256,
    -5,
    -(2**63) - 1,
    str(2**63),
    "-5",
    "a\u0000b",
    "line\nbreak\u001b",
    "%%%%",
    "!!==",
    "x" * 5000,
    True,
    0,
    None,
    [],
    {},
]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def edge_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(base URL, admin key) of the ready node on either database, served by uvicorn."""
    node, admin_key = request.getfixturevalue(
        "live" if request.param == "sqlite" else "live_postgres"
    )
    port = free_port()
    served = uvicorn.Server(
        uvicorn.Config(create_app(node), host="127.0.0.1", port=port, log_level="critical")
    )
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not served.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", admin_key
    finally:
        served.should_exit = True
        thread.join(10)


def with_an_edge_value(case: Any, data: Any) -> bool:
    """Put an edge value into one query parameter, path parameter or body member of `case`."""
    targets = [
        (name, key) for name in ("query", "path_parameters") for key in getattr(case, name) or {}
    ]
    if isinstance(case.body, dict):
        targets += [("body", key) for key in case.body]
    if not targets:
        return False
    where, key = data.draw(st.sampled_from(targets), label="target")
    value = data.draw(st.sampled_from(EDGE_VALUES), label="edge value")
    if where != "body":
        value = value if isinstance(value, str) else json.dumps(value)
    getattr(case, where)[key] = value
    if isinstance(case.body, dict) and isinstance(case.body.get("wait"), int | float):
        case.body["wait"] = 0
    return True


def edge_campaign(operation: Any, base_url: str, headers: dict[str, str]) -> None:
    """Valid requests to `operation`, each with one member replaced by an edge value."""

    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE), data=st.data())
    @settings(
        max_examples=12,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any, data: Any) -> None:
        if not with_an_edge_value(case, data):
            return
        response = case.call(base_url=base_url, headers=headers)
        try:
            check_answer(case, response)
        except AssertionError as exc:
            FAILURES.setdefault(f"edge {operation.label} -> {response.status_code}", str(exc))

    run()


def test_edge_values_in_every_parameter_and_body_member_are_refused_as_problems(
    edge_server: tuple[str, str],
) -> None:
    """Each operation of the OpenAPI document, with one member of a valid request replaced
    by an edge value, on both databases: never a 5xx, every error a problem document."""
    base_url, admin_key = edge_server
    api = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    for result in api.get_all_operations():
        edge_campaign(result.ok(), base_url, {"Authorization": f"Bearer {admin_key}"})
    assert not FAILURES, "\n".join(f"{k}: {v[:300]}" for k, v in sorted(FAILURES.items()))


PAGE_FIELD = st.one_of(
    st.sampled_from(EDGE_VALUES).map(lambda v: v if isinstance(v, str) else json.dumps(v)),
    st.text(max_size=40),
    st.builds(
        lambda v: base64.urlsafe_b64encode(v.encode()).decode().rstrip("="), st.text(max_size=40)
    ),
)


def test_edge_values_in_the_verify_pages_query_form_and_upload_never_fail_the_server(
    edge_server: tuple[str, str],
) -> None:
    """The /verify page is not in the OpenAPI document (it answers HTML): its query, form
    fields and file upload get the same edge values and random text."""
    base_url, _ = edge_server

    @given(credential=PAGE_FIELD, at=PAGE_FIELD, how=st.sampled_from(["query", "form", "file"]))
    @settings(max_examples=60, deadline=None, database=None, derandomize=True)
    def run(credential: str, at: str, how: str) -> None:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            if how == "query":
                response = http.get("/verify", params={"credential": credential, "at": at})
            elif how == "form":
                response = http.post("/verify", data={"credential": credential, "at": at})
            else:
                upload = ("c.json", credential.encode("utf-8", "surrogatepass"), "application/json")
                response = http.post("/verify", files={"file": upload}, data={"at": at})
        SENT[f"{response.status_code // 100}xx"] += 1
        assert response.status_code < 500, f"{how} {credential[:80]!r} {at[:80]!r}"
        kind = response.headers["content-type"]
        assert kind.startswith(("text/html", PROBLEM_MEDIA_TYPE)), kind

    run()


def test_zz_enough_requests_were_sent() -> None:
    """Runs after the campaign (file order): it reached the issue's size."""
    total = sum(SENT.values())
    print(f"\nschemathesis: {total} requests, by status class {dict(SENT)}; 0 server errors")
    assert total >= 1000, SENT
    assert SENT["5xx"] == 0
