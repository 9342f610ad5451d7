"""RFC 8785 canonical JSON, including the ECMAScript number vectors of RFC 8785 appendix B."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.credentials.jcs import canonicalize, serialize_number
from node.errors import InvalidInput


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (0.0, "0"),
        (-0.0, "0"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (9007199254740992.0, "9007199254740992"),
        (295147905179352830000.0, "295147905179352830000"),
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (333333333.3333333, "333333333.3333333"),
        (-1.5, "-1.5"),
        (2**60, "1152921504606847000"),
    ],
)
def test_numbers_serialize_like_ecmascript(number: float, text: str) -> None:
    assert serialize_number(number) == text


def test_keys_sort_by_utf16_code_units_not_code_points() -> None:
    # U+1F600 is the surrogate pair D83D DE00, which sorts *before* U+FB01 in UTF-16.
    value = {"\ufb01": 1, "\U0001f600": 2, "b": 3, "a": 4, "\u20ac": 5}
    expected = '{"a":4,"b":3,"€":5,"😀":2,"ﬁ":1}'
    assert canonicalize(value) == expected.encode()


def test_strings_escape_only_what_json_stringify_escapes() -> None:
    assert canonicalize('\u0001\b\t\n\f\r"\\/é\u2028') == (
        '"\\u0001\\b\\t\\n\\f\\r\\"\\\\/é\u2028"'.encode()
    )


def test_whitespace_free_nested_structures() -> None:
    assert canonicalize({"b": [1, True, None, {"d": "x", "c": 2.5}], "a": {}}) == (
        b'{"a":{},"b":[1,true,null,{"c":2.5,"d":"x"}]}'
    )


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), {1: "x"}, {"a": object()}, "\ud800"])
def test_values_json_cannot_carry_are_refused(bad: Any) -> None:
    with pytest.raises(InvalidInput) as raised:
        canonicalize(bad)
    assert raised.value.code == "invalid_json"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(exclude_categories=["Cs"])),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(alphabet=st.characters(exclude_categories=["Cs"])), children, max_size=4
        )
    ),
    max_leaves=20,
)


@given(json_values)
def test_canonical_form_parses_back_to_an_equal_value(value: Any) -> None:
    # Like a JavaScript reader, parse every number as a double ("1e+21" and "66845102492128990"
    # are doubles even where Python would read an int).
    assert json.loads(canonicalize(value), parse_int=float) == value


@given(json_values)
def test_canonicalization_is_idempotent(value: Any) -> None:
    once = canonicalize(value)
    assert canonicalize(json.loads(once)) == once


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_double_round_trips_through_its_shortest_form(number: float) -> None:
    assert float(serialize_number(number)) == number
