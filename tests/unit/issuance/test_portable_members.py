"""`portable_members` (node/issuance/documents.py) refuses exactly what `ensure_portable` refuses,
with the same error naming the credential, while reading most documents from their canonical
text alone; and it hands back the document's canonical members."""

from __future__ import annotations

from typing import Any

import pytest

from node.credentials import jcs
from node.credentials.canonical import ensure_portable
from node.errors import InvalidInput
from node.issuance.documents import portable_members

CHARACTERS = [chr(code) for code in range(0x80)] + ["\ud800", "\udfff", "\u2028", "é", "😀"]


def _documents(char: str) -> list[dict[str, Any]]:
    return [
        {"name": f"a{char}b"},
        {"subject": {"list": ["x", f"{char}"]}},
        {f"key{char}": "value"},
        {"nested": {f"key{char}": "value"}},
        {"escaped backslash": f"\\{char}"},
    ]


def _refusal(check: Any, document: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    try:
        check(document)
    except InvalidInput as error:
        return error.code, error.extra
    return None


def _same_refusal(document: dict[str, Any]) -> None:
    expected = _refusal(ensure_portable, document)
    got = _refusal(lambda d: portable_members(d, 3), document)
    if expected is None:
        assert got is None, document
    else:
        assert got == (expected[0], {**expected[1], "credential": 3}), document


@pytest.mark.parametrize("char", CHARACTERS)
def test_it_refuses_what_ensure_portable_refuses_and_no_more(char: str) -> None:
    for document in _documents(char):
        _same_refusal(document)


@pytest.mark.parametrize(
    "value", [7.5, 1e-7, 2**53 + 1, 12345678901234567, float("nan"), True, None, 3]
)
def test_numbers_take_the_exact_check(value: Any) -> None:
    _same_refusal({"credits": [{"value": value}]})


def test_it_hands_back_the_document_s_canonical_members() -> None:
    document = {"b": ["é", {"z": 1, "a": None}], "a": "x"}
    members = portable_members(document, 0)
    assert jcs.canonical_object(members.texts) == jcs.canonicalize(document)
