"""RDFC-1.0 canonicalization in safe mode (byte equality with rdf-canonize is in tests/interop)."""

from __future__ import annotations

from typing import Any

import pytest

from node.credentials.canonical import (
    canonize,
    ensure_portable,
    escape_literal,
    number_is_portable,
)
from node.errors import InvalidInput

VC2 = "https://www.w3.org/ns/credentials/v2"


def _credential(**extra: Any) -> dict[str, Any]:
    return {
        "@context": [VC2],
        "id": "urn:uuid:1",
        "type": ["VerifiableCredential"],
        "issuer": "did:ex:issuer",
        "credentialSubject": {"id": "did:ex:subject", "name": "Ann"},
        **extra,
    }


def test_output_is_sorted_canonical_nquads() -> None:
    nquads = canonize(_credential())
    lines = nquads.splitlines()
    assert lines == sorted(lines)
    assert '<did:ex:subject> <https://schema.org/name> "Ann" .' in lines
    assert nquads.endswith(" .\n")


def test_key_order_and_blank_node_naming_do_not_change_the_result() -> None:
    document = _credential(credentialSubject={"name": "Ann", "description": "x"})
    reordered = dict(reversed(list(document.items())))
    assert canonize(document) == canonize(reordered)
    assert "_:c14n0" in canonize(document)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("\b\f\t\n\r", "\\b\\f\\t\\n\\r"),
        ('"\\', '\\"\\\\'),
        ("\x00\x01\x1f\x7f", "\\u0000\\u0001\\u001F\\u007F"),
        ("é😀\u2028", "é😀\u2028"),
    ],
)
def test_literals_are_escaped_as_canonical_nquads(raw: str, escaped: str) -> None:
    assert escape_literal(raw) == escaped


def test_control_characters_reach_the_output_escaped() -> None:
    assert '"a\\bb\\u0001"' in canonize(_credential(name="a\bb\x01"))


def test_direction_is_mapped_to_an_i18n_datatype() -> None:
    name = {"@value": "שלום", "@language": "HE", "@direction": "rtl"}
    assert '"שלום"^^<https://www.w3.org/ns/i18n#he_rtl>' in canonize(_credential(name=name))


@pytest.mark.parametrize(
    "document",
    [
        _credential(undefinedTerm="dropped by expansion"),
        _credential(credentialSubject={"id": "did:ex:s", "notDefined": 1}),
        _credential(id="relative"),
        _credential(type=["VerifiableCredential", "UndefinedType"]),
    ],
    ids=["top-level term", "nested term", "relative id", "undefined type"],
)
def test_safe_mode_refuses_what_expansion_would_drop_or_leave_relative(
    document: dict[str, Any],
) -> None:
    with pytest.raises(InvalidInput) as raised:
        canonize(document)
    assert raised.value.code == "undefined_term"


def test_unknown_contexts_are_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        canonize({**_credential(), "@context": [VC2, "https://evil.example/ctx"]})
    assert raised.value.code == "unknown_context"


def test_malformed_json_ld_is_an_invalid_input() -> None:
    with pytest.raises(InvalidInput) as raised:
        canonize({"@context": [VC2], "id": "urn:x", "name": {"@value": "x", "@language": 5}})
    assert raised.value.code == "invalid_jsonld"


def test_a_relative_context_is_invalid_jsonld_not_a_crash() -> None:
    import pytest

    from node.credentials.canonical import canonize
    from node.errors import InvalidInput

    with pytest.raises(InvalidInput) as raised:
        canonize({"@context": "x", "id": "urn:a"})
    assert raised.value.code in {"invalid_jsonld", "unknown_context"}


@pytest.mark.parametrize(
    ("number", "portable"),
    [
        (7.5, True),
        (0.25, True),
        (120, True),
        (1e-6, True),
        (1.5e-7, True),
        (1e-7, False),  # jsonld.js: "1e-7" has no "." -> integer "0"; pyld: "1.0E-7"
        (5e-324, False),
        (1234567890123456.5, False),  # a tie: toExponential rounds up, pyld to even
        (2**53 + 1, False),  # JSON.parse rounds it
        (float("inf"), False),
        (float("nan"), False),
    ],
)
def test_a_number_is_portable_only_when_jsonld_js_and_pyld_give_it_the_same_literal(
    number: float, portable: bool
) -> None:
    assert number_is_portable(number) is portable


@pytest.mark.parametrize("text", ["NUL \x00", "bell \x07", "form feed \x0c", "DEL \x7f", "\ud800"])
def test_text_with_control_characters_or_lone_surrogates_is_not_portable(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        ensure_portable({"name": [{"deep": text}]})
    assert raised.value.code == "non_portable_value"
    assert raised.value.extra["path"] == "/name/0/deep"


def test_tabs_newlines_rtl_and_emoji_are_portable() -> None:
    ensure_portable({"name": "tab\t nl\n cr\r شهادة 🎓 \u202e \x85", "credits": 7.5, "ok": True})
