"""Requests are inspected before anything parses them: JSON nesting is measured without
recursion, exactly as deep as a parser would go, and NUL characters are refused everywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from node.api.inspection import (
    INSPECTOR_SCOPE_KEY,
    BodyInspector,
    NulCharacter,
    body_depth_checked,
)
from node.api.limits import install_limits
from node.api.problems import install_problem_handlers
from node.config import Settings
from node.credentials.json_depth import (
    MAX_JSON_DEPTH,
    DepthScanner,
    NestingTooDeep,
    check_json_depth,
)

#: Strings full of what a naive bracket counter would trip on (quotes, escapes, brackets).
TRICKY_TEXT = st.lists(
    st.sampled_from(['"', "\\", '\\"', "[", "{", "]", "}", "é", "\\u0041", "x"]), max_size=6
).map("".join)
JSON_VALUES = st.recursive(
    st.none() | st.integers() | TRICKY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY_TEXT, inner, max_size=3),
    max_leaves=30,
)


def depth_of(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(
    value=JSON_VALUES,
    limit=st.integers(0, 8),
    cuts=st.lists(st.integers(0, 400)),
    told_last=st.booleans(),
)
def test_the_scanner_measures_what_a_parser_would_reach_in_any_chunking(
    value: Any, limit: int, cuts: list[int], told_last: bool
) -> None:
    """Whether or not the scanner is told which chunk is the last (then it may skip the scan
    of a text with few brackets, strings included)."""
    text = json.dumps(value, ensure_ascii=False).encode()
    points = sorted({c % (len(text) + 1) for c in cuts})
    scanner = DepthScanner(limit)
    try:
        for start, end in zip([0, *points], [*points, len(text)], strict=True):
            scanner.feed(text[start:end], last=told_last and end == len(text))
    except NestingTooDeep:
        assert depth_of(value) > limit, text
    else:
        assert depth_of(value) <= limit, text


def test_stray_closing_brackets_cannot_buy_depth() -> None:
    with pytest.raises(NestingTooDeep):
        check_json_depth(b"]]]]]]]]]]" + b"[" * 65, 64)
    with pytest.raises(NestingTooDeep):
        check_json_depth(b'"x"]]]]]]]]' * 10 + b"[" * 65, 64)


def test_utf16_json_is_measured_too() -> None:
    with pytest.raises(NestingTooDeep):
        check_json_depth(("[" * 65 + "]" * 65).encode("utf-16"), 64)


@pytest.mark.parametrize(
    "chunks",
    [
        [b'{"a": "\\u0000"}'],
        [b'{"a": "\\u00', b'00"}'],
        [b'{"a": "\x00"}'],
    ],
    ids=["escaped", "escape split between chunks", "raw byte"],
)
def test_a_nul_character_anywhere_in_a_body_is_refused(chunks: list[bytes]) -> None:
    inspector = BodyInspector("application/json")
    with pytest.raises(NulCharacter):
        for chunk in chunks:
            inspector.feed(chunk)


def test_an_url_encoded_nul_in_a_form_field_is_refused() -> None:
    inspector = BodyInspector("application/x-www-form-urlencoded")
    with pytest.raises(NulCharacter):
        inspector.feed(b"credential=ab%0")
        inspector.feed(b"0cd&x=1")


def test_percent_escapes_split_between_chunks_are_decoded_before_measuring() -> None:
    inspector = BodyInspector("application/x-www-form-urlencoded", max_depth=3)
    inspector.feed(b"a=%5B%5B%5")
    with pytest.raises(NestingTooDeep):
        inspector.feed(b"B%5B")


def test_each_form_field_is_a_text_of_its_own() -> None:
    """Depth does not add up across fields: three fields of depth 3 pass a limit of 3."""
    inspector = BodyInspector("application/x-www-form-urlencoded", max_depth=3)
    inspector.feed(b"a=%5B%5B%5B&b=%5B%5B%5B&c=%5B%5B%5B")


# -- through the app ------------------------------------------------------------------------


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)
    install_limits(app, Settings(data_dir=tmp_path))

    @app.post("/echo")
    def echo(payload: dict[str, Any]) -> dict[str, Any]:
        return payload

    @app.get("/items/{item_id}")
    def item(item_id: str, q: str = "") -> dict[str, str]:
        return {"id": item_id, "q": q}

    @app.post("/checked")
    async def checked(request: Request) -> dict[str, bool]:
        before = body_depth_checked(request.scope)
        await request.body()
        return {"before": before, "after": body_depth_checked(request.scope)}

    @app.post("/form")
    async def form(request: Request) -> dict[str, str]:
        async with request.form() as fields:
            return {k: str(v) for k, v in fields.items()}

    return TestClient(app)


def test_nul_in_a_path_or_query_is_a_problem_not_a_database_error(client: TestClient) -> None:
    for url in ("/items/ab%00cd", "/items/x?q=a%00b"):
        response = client.get(url)
        assert response.status_code == 422, url
        assert response.json()["code"] == "nul_character"


def test_a_nul_in_a_json_string_is_refused_as_a_problem(client: TestClient) -> None:
    response = client.post("/echo", json={"label": "a\u0000b"})
    assert response.status_code == 422
    assert response.json()["code"] == "nul_character"
    assert "U+0000" in response.json()["detail"]


def test_ordinary_json_forms_and_queries_pass_untouched(client: TestClient) -> None:
    document = {"a": [[{"b": '[{ \\ " }]'}]], "c": "ünïcode"}
    assert client.post("/echo", json=document).json() == document
    assert client.get("/items/x", params={"q": json.dumps(document)}).json()["q"]
    form = {"credential": json.dumps(document), "at": ""}
    assert client.post("/form", data=form).json() == form
    uploaded = client.post("/form", files={"file": ("c.json", json.dumps(document).encode())})
    assert uploaded.status_code == 200, uploaded.text


def test_a_body_counts_as_depth_checked_only_once_read_to_its_end(client: TestClient) -> None:
    """What lets `/v1/verify` parse its body without scanning it a second time."""
    answer = client.post("/checked", content=b'{"a": [[{"b": "[[["}]]}').json()
    assert answer == {"before": False, "after": True}


def test_only_the_middleware_inspection_at_the_node_limit_vouches_for_a_body() -> None:
    assert not body_depth_checked({})  # no body-limit middleware on the way
    for max_depth, vouches in ((MAX_JSON_DEPTH, True), (MAX_JSON_DEPTH + 1, False)):
        inspector = BodyInspector("application/json", max_depth=max_depth)
        scope = {INSPECTOR_SCOPE_KEY: inspector}
        inspector.feed(b"[[", last=False)
        assert not body_depth_checked(scope)
        inspector.feed(b"]]", last=True)
        assert body_depth_checked(scope) is vouches
    refused = BodyInspector("application/json", max_depth=1)
    with pytest.raises(NestingTooDeep):
        refused.feed(b"[[]]", last=True)
    assert not body_depth_checked({INSPECTOR_SCOPE_KEY: refused})
