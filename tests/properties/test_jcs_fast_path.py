"""JCS through Python's C JSON encoder (`jcs._json_module_agrees`) is byte-identical to the exact
RFC 8785 serializer on every value it accepts, and every other value takes the exact path."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from node.credentials import jcs


def _exact(value: Any) -> bytes:
    parts: list[str] = []
    jcs._serialize(value, parts)
    return "".join(parts).encode("utf-8")


texts = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=20)
scalars = st.none() | st.booleans() | st.integers(-(2**60), 2**60) | texts
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(texts, inner, max_size=5),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(values)
def test_the_fast_path_writes_what_the_exact_serializer_writes(value: Any) -> None:
    assert jcs.canonicalize(value) == _exact(value)


def test_floats_non_ascii_keys_and_large_integers_take_the_exact_path() -> None:
    for value in ({"a": 1.5}, {"é": 1}, {"n": 2**53}, [1e21], {"\U0001f600": 1, "\ue000": 2}):
        assert not jcs._json_module_agrees(value)
        assert jcs.canonicalize(value) == _exact(value)


def test_control_characters_are_escaped_as_ecmascript_does() -> None:
    value = {"s": '\x00\x01\x1f\x7f\b\f\n\r\t"\\ \u2028 é 😀'}
    assert jcs._json_module_agrees(value)
    assert jcs.canonicalize(value) == _exact(value)


objects = st.dictionaries(texts, values, max_size=6)


@settings(max_examples=300, deadline=None)
@given(objects, texts, values)
def test_members_canonicalized_apart_join_into_the_object_s_canonical_bytes(
    value: dict[str, Any], key: str, extra: Any
) -> None:
    members = jcs.canonical_members(value)
    assert jcs.canonical_object(members.texts) == jcs.canonicalize(value)
    assert jcs.canonical_object(members.with_member(key, extra).texts) == jcs.canonicalize(
        {**value, key: extra}
    )


@settings(max_examples=200, deadline=None)
@given(objects)
def test_members_say_whether_any_number_occurs(value: dict[str, Any]) -> None:
    def numbers(item: Any) -> bool:
        if isinstance(item, dict):
            return any(numbers(member) for member in item.values())
        if isinstance(item, list):
            return any(numbers(member) for member in item)
        return type(item) is int

    if numbers(value):
        assert jcs.canonical_members(value).numbers
