"""The node refuses every value that jsonld.js and pyld canonicalize differently.

An `eddsa-rdfc-2022` proof is a signature over canonical N-Quads, so a value two JSON-LD
processors turn into different N-Quads makes the proof verify in one and fail in the other. This
runs both processors on a corpus of edge values:

- jsonld.js 8 + rdf-canonize (what Digital Bazaar's verifier uses), through tests/interop/js;
- stock pyld 3.3 `normalize` (URDNA2015), as a pyld-based verifier runs it, i.e. without the
  canonical N-Quads escaping lernode installs into its own copy (node/credentials/canonical.py).

and asserts, for every value: if the node accepts it, both give byte-identical N-Quads (and so
does the node's own canonicalizer); if they differ, the node's input validation refuses it.
Values go where they occur in credentials: `creditsAvailable` (the only number the node's
builders emit, typed xsd:float), an untyped number and an xsd:double one (what a submitted
VC-API credential could carry), and text in an achievement's name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import ValidationError
from pyld import canon as pyld_canon
from pyld import jsonld as pyld
from pyld import nquads as pyld_nquads

from node.credentials.canonical import canonize, ensure_portable, number_is_portable
from node.credentials.inputs import CredentialInput, IssuerProfile
from node.credentials.jsonld import offline_document_loader
from node.credentials.model import build_open_badge
from node.errors import InvalidInput
from tests.support.interop import RunJs

pytestmark = pytest.mark.interop

VC2 = "https://www.w3.org/ns/credentials/v2"
ISSUER = IssuerProfile(id="did:ethr:0x7a69:0x5fbdb2315678afecb367f032d93f642f64180aa3", name="U")
NUMBERS: list[int | float] = [
    0,
    7,
    120,
    7.5,
    0.5,
    0.25,
    0.1,
    1 / 3,
    120.0,
    9.995,
    3.14159,
    4.35,
    2.5,
    1234567.125,
    0.30000000000000004,
    1e-5,
    1e-6,
    0.000123,
    1.5e-7,
    2.5e-7,  # decimals, some tiny
    1e-7,
    2e-8,
    3e-10,
    1e-300,
    5e-324,  # below 1e-6 with one digit: "1e-7" has no "."
    1234567890123456.5,
    4503599627370495.5,  # exact ties at 16 significant digits
    123456789012,
    2**53,
    2**53 + 1,
    10**21 + 1,
    1e20,
    1e21,
    1.5e300,
    1.7976931348623157e308,
    -2.5,
    -1e-7,
    -0.0,
]
#: Not JSON at all (Python's json would write NaN/Infinity): refused without a processor run.
NOT_JSON = [math.inf, -math.inf, math.nan]
TEXTS = [
    "plain",
    "tab\there",
    "line\nbreak",
    "carriage\rreturn",
    'quote " and \\ backslash',
    *(f"C0 {chr(c)} control" for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]),
    "DEL \x7f",
    "C1 \x80 \x85 \x9f",
    "line sep \u2028 para sep \u2029",
    "bidi \u202e override",
    "zero\u200bwidth",
    "BOM \ufeff",
    "nonchars \ufffe \uffff",
    "emoji 😀🎓",
    "e\u0301 combining",
    "lone high \ud800",
    "lone low \udfff",
    "RTL شهادة",
    "CJK 线性代数",
]


def _badge(credits: Any = None, name: str = "Achievement") -> dict[str, Any]:
    achievement: dict[str, Any] = {"name": name, "description": "d", "criteria_narrative": "c"}
    if credits is not None:
        achievement["credits_available"] = credits
    data = CredentialInput.model_validate(
        {"learner": {"id": "did:key:z6MkLearner"}, "achievement": achievement}
    )
    document = build_open_badge(data, ISSUER, credential_id="urn:uuid:00000000-0000-4000-8000-0")
    return {**document, "validFrom": "2025-01-01T00:00:00Z"}


def _named(text: str) -> dict[str, Any]:
    """A badge whose achievement is called `text` (set in the JSON, as a request could carry it
    even where the node's input model would refuse it first, e.g. a lone surrogate)."""
    badge = _badge()
    subject = badge["credentialSubject"]
    return {
        **badge,
        "name": text,
        "credentialSubject": {**subject, "achievement": {**subject["achievement"], "name": text}},
    }


def _generic(value: Any, *, typed: bool) -> dict[str, Any]:
    term: dict[str, Any] = {"@id": "https://example.org/vocab#n"}
    if typed:
        term["@type"] = "http://www.w3.org/2001/XMLSchema#double"
    return {"@context": [VC2, {"n": term}], "id": "urn:uuid:1", "n": value}


def node_accepts_credits(value: Any) -> Callable[[], Any]:
    """What `POST /v1/credentials` does with it: input validation, then the portability guard
    the issuance service runs on the built credential."""
    return lambda: ensure_portable(_badge(credits=value))


def node_accepts_name(text: str) -> Callable[[], Any]:
    return lambda: ensure_portable(_badge(name=text))


def node_accepts_document(document: dict[str, Any]) -> Callable[[], Any]:
    """What the node does before signing any document (e.g. one submitted to the VC-API)."""
    return lambda: ensure_portable(document)


def accepted(attempt: Callable[[], Any]) -> bool:
    try:
        attempt()
    except (ValidationError, InvalidInput):
        return False
    return True


def _cases() -> list[tuple[str, dict[str, Any] | None, Callable[[], Any]]]:
    """(label, document to canonicalize or None if the node's input model refuses it before a
    document exists, what the node does)."""
    cases: list[tuple[str, dict[str, Any] | None, Callable[[], Any]]] = []
    for number in NUMBERS:
        try:
            badge: dict[str, Any] | None = _badge(credits=number)
        except ValidationError:
            badge = None  # e.g. negative credits: refused by the input model itself
        cases.append((f"creditsAvailable {number!r}", badge, node_accepts_credits(number)))
        for typed in (False, True):
            document = _generic(number, typed=typed)
            label = f"{'xsd:double' if typed else 'untyped'} {number!r}"
            cases.append((label, document, node_accepts_document(document)))
    for text in TEXTS:
        cases.append((f"name {text!r}", _named(text), node_accepts_name(text)))
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def stock_pyld() -> Iterator[Callable[[dict[str, Any]], str]]:
    """pyld's own `normalize`, with pyld's own N-Quads serializer (lernode replaces it)."""

    def run(document: dict[str, Any]) -> str:
        options = {
            "algorithm": "URDNA2015",
            "format": "application/n-quads",
            "documentLoader": offline_document_loader,
        }
        nquads = pyld.normalize(document, options)
        nquads.encode("utf-8")  # what a verifier hashes: a lone surrogate cannot be encoded
        return str(nquads)

    patched = pyld_canon.serialize_nquad
    pyld_canon.serialize_nquad = pyld_nquads.serialize_nquad
    try:
        yield run
    finally:
        pyld_canon.serialize_nquad = patched


def _both(run_js: RunJs, stock_pyld: Callable[[dict[str, Any]], str]) -> list[dict[str, Any]]:
    documents = [document for _, document, _ in CASES if document is not None]
    js_results = iter(run_js("canonize", {"documents": documents})["results"])
    outcomes = []
    for label, document, node in CASES:
        js = next(js_results) if document is not None else None
        try:
            py = stock_pyld(document) if document is not None else None
        except Exception as error:
            py = f"error: {type(error).__name__}"
        js_nquads = js.get("nquads") if js else None
        outcomes.append(
            {
                "label": label,
                "document": document,
                "same": js_nquads is not None and js_nquads == py,
                "js": js_nquads or (js or {}).get("error"),
                "pyld": py,
                "accepted": accepted(node),
            }
        )
    return outcomes


@pytest.fixture(scope="module")
def outcomes(run_js: RunJs, stock_pyld: Callable[[dict[str, Any]], str]) -> list[dict[str, Any]]:
    return _both(run_js, stock_pyld)


def test_every_value_the_node_accepts_canonicalizes_identically_in_jsonld_js_and_pyld(
    outcomes: list[dict[str, Any]],
) -> None:
    split = [o["label"] for o in outcomes if o["accepted"] and not o["same"]]
    assert split == []
    for outcome in outcomes:
        if outcome["accepted"]:  # and lernode's own canonicalizer agrees with both
            assert canonize(outcome["document"]) == outcome["js"], outcome["label"]


def test_every_value_where_the_processors_differ_is_refused(
    outcomes: list[dict[str, Any]],
) -> None:
    differing = [o for o in outcomes if not o["same"] and o["document"] is not None]
    assert [o["label"] for o in differing if o["accepted"]] == []
    # The corpus does hit the differences the audit found (so the assertions above bite).
    labels = {o["label"] for o in differing}
    expected = {"creditsAvailable 1e-07", "name 'C0 \\x00 control'", "name 'lone high \\ud800'"}
    assert expected <= labels
    assert "creditsAvailable 1234567890123456.5" in labels  # a tie: toExponential rounds up


def test_the_refusal_is_a_clear_non_portable_value_problem() -> None:
    with pytest.raises(InvalidInput) as raised:
        ensure_portable(_badge(credits=1e-7))
    assert raised.value.code == "non_portable_value"
    assert "/credentialSubject/achievement/creditsAvailable" in raised.value.detail
    with pytest.raises(InvalidInput) as raised:
        ensure_portable(_badge(name="NUL \x00 inside"))
    assert raised.value.code == "non_portable_value"
    assert "U+0000" in raised.value.detail


def test_numbers_that_are_not_json_are_refused() -> None:
    assert not any(number_is_portable(number) for number in NOT_JSON)
    for number in NOT_JSON:
        assert not accepted(node_accepts_document(_generic(number, typed=False)))


def test_the_number_rule_predicts_the_processors_exactly(outcomes: list[dict[str, Any]]) -> None:
    """`number_is_portable` (an exact model of both processors' number handling) says a number
    is portable exactly when the processors agreed on it both untyped and typed xsd:double."""
    agreed: dict[str, list[bool]] = {}
    for outcome in outcomes:
        kind, _, number = outcome["label"].partition(" ")
        if kind in ("untyped", "xsd:double"):
            agreed.setdefault(number, []).append(outcome["same"])
    predicted = {repr(n): number_is_portable(n) for n in NUMBERS}
    assert {n: all(same) for n, same in agreed.items()} == predicted
