"""RDF Dataset Canonicalization (RDFC-1.0) of JSON-LD documents, in safe mode.

`eddsa-rdfc-2022` signs the canonical N-Quads of a credential, so two things must hold:

* **Nothing is silently ignored.** JSON-LD expansion drops any term the contexts do not define,
  so an attacker (or a careless issuer) could add unsigned-but-displayed claims. Like jsonld.js'
  `safe: true`, which Digital Bazaar's Data Integrity libraries use, we refuse such documents
  with `undefined_term`: dropped properties, relative `@id` / `@type` / `@vocab` IRIs, relative
  datatypes, malformed language tags and free-floating values.
* **Byte-identical output with other implementations.** RDFC-1.0 serializes literals in
  canonical N-Quads, which escapes `\\b`, `\\f` and every other control character (as `\\uXXXX`);
  pyld 3.3 only escapes `\\t \\n \\r " \\\\`, and it hashes that same serialization while labelling
  blank nodes. `_canonical_nquad` replaces pyld's serializer inside its canonicalizer (see
  `_install_canonical_serializer`), and `@direction` is mapped with `rdfDirection:
  i18n-datatype` like rdf-canonize / eddsa-rdfc-2022-cryptosuite do. `tests/interop` compares the
  output with rdf-canonize byte for byte.
* **Nothing the node signs splits verifiers.** `ensure_portable` refuses values that jsonld.js
  and pyld turn into different N-Quads (so one of them would reject the proof): numbers whose
  canonical `xsd:double` / `xsd:integer` lexical forms differ between the two, and text with
  control characters or lone surrogates, which stock pyld serializes unlike RDFC-1.0 (see
  docs/design.md, "Portable values"; `tests/interop/test_portable_values.py` runs both).
* **Fast, the same bytes.** After pyld's expansion, the quads and their RDFC-1.0 labelling are
  the node's own (node/credentials/rdfc.py, a third of the time pyld's node map and URDNA2015
  took); a document using a construct that module leaves to pyld takes pyld's path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from pyld import canon as pyld_canon
from pyld import jsonld as pyld

from node.credentials import pyld_speed, rdfc
from node.credentials.jcs import serialize_number
from node.credentials.jsonld import DocumentLoader, offline_document_loader
from node.errors import InvalidInput, LernodeError

_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

_ECHAR = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}
_LITERAL_ESCAPE = re.compile(r'[\x00-\x1f\x7f"\\]')
_IRI_ESCAPE = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def _uchar(char: str) -> str:
    return f"\\u{ord(char):04X}"


def escape_literal(value: str) -> str:
    """Escape a literal's lexical form per canonical N-Quads (RDFC-1.0 section 4.3 / RDF 1.2)."""
    return _LITERAL_ESCAPE.sub(lambda m: _ECHAR.get(m.group()) or _uchar(m.group()), value)


def escape_iri(value: str) -> str:
    """Escape characters not allowed in an N-Quads IRIREF, as rdf-canonize does."""
    return _IRI_ESCAPE.sub(lambda m: _uchar(m.group()), value)


def _term(term: Mapping[str, Any]) -> str:
    if term["type"] == "IRI":
        return f"<{escape_iri(term['value'])}>"
    if term["type"] == "blank node":
        return str(term["value"])
    literal = f'"{escape_literal(term["value"])}"'
    datatype = term.get("datatype", _XSD_STRING)
    if datatype == _RDF_LANGSTRING:
        return literal + (f"@{term['language']}" if term.get("language") else "")
    if datatype != _XSD_STRING:
        return f"{literal}^^<{escape_iri(datatype)}>"
    return literal


def _canonical_nquad(triple: Mapping[str, Any], graph_name: str | None = None) -> str:
    """Drop-in for `pyld.nquads.serialize_nquad` with canonical N-Quads escaping."""
    graph = triple.get("name", {"value": graph_name})["value"]
    parts = [_term(triple["subject"]), _term(triple["predicate"]), _term(triple["object"])]
    if graph is not None:
        parts.append(graph if graph.startswith("_:") else f"<{escape_iri(graph)}>")
    return " ".join(parts) + " .\n"


def _install_canonical_serializer() -> None:
    """Make pyld's URDNA2015 hash and emit canonical N-Quads.

    `pyld.canon` looks the serializer up as a module global both when hashing blank-node quads
    and when emitting the result, so replacing that one name fixes both without copying the
    algorithm. The replacement only changes output for literals containing control characters,
    which pyld serializes in a form no other RDFC-1.0 implementation produces.
    """
    pyld_canon.serialize_nquad = _canonical_nquad


_install_canonical_serializer()
pyld_speed.install()


def _undefined(detail: str, **extra: Any) -> InvalidInput:
    return InvalidInput(detail, code="undefined_term", **extra)


def _is_absolute_or_blank(iri: Any) -> bool:
    return isinstance(iri, str) and (iri.startswith("_:") or bool(_ABSOLUTE_IRI.match(iri)))


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item)
    elif isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key != "@value":
                yield from _walk(value)


def _check_value_object(obj: Mapping[str, Any]) -> None:
    datatype = obj.get("@type")
    if datatype is not None and datatype != "@json" and not _is_absolute_or_blank(datatype):
        raise _undefined(f"relative datatype {datatype!r} is not defined by the contexts")
    language = obj.get("@language")
    if language is not None and not _LANGUAGE_TAG.match(str(language)):
        raise InvalidInput(f"invalid language tag {language!r}", code="invalid_jsonld")


def _check_expanded(expanded: list[Any]) -> None:
    """Reject what jsonld.js safe mode rejects and pyld would silently drop or keep relative."""
    for top in expanded:
        if isinstance(top, dict) and "@value" in top:
            raise _undefined("a free-floating value at the top level would be dropped")
    for obj in _walk(expanded):
        if "@value" in obj:
            _check_value_object(obj)
            continue
        node_id = obj.get("@id")
        if "@id" in obj and not _is_absolute_or_blank(node_id):
            raise _undefined(f"relative or invalid @id {node_id!r}", value=node_id)
        for type_iri in obj.get("@type", []):
            if not _is_absolute_or_blank(type_iri):
                raise _undefined(f"type {type_iri!r} is not defined by the contexts", term=type_iri)


def expand(document: Mapping[str, Any], document_loader: DocumentLoader) -> list[Any]:
    """Expand `document` in safe mode; raises `undefined_term` / `unknown_context`."""
    dropped: list[str | None] = []
    processor = pyld.JsonLdProcessor(on_property_dropped=dropped.append)
    options = {"documentLoader": document_loader, "base": None}
    try:
        expanded: list[Any] = processor.expand(dict(document), options)
    except pyld.JsonLdError as error:
        raise _translate(error) from error
    except (ValueError, TypeError) as error:  # pyld's own checks on malformed input
        raise InvalidInput(f"not valid JSON-LD: {error}", code="invalid_jsonld") from None
    if dropped:
        raise _undefined(
            f"term {dropped[0]!r} is not defined by the document's contexts",
            term=dropped[0],
        )
    _check_expanded(expanded)
    return expanded


def canonize(
    document: Mapping[str, Any], document_loader: DocumentLoader = offline_document_loader
) -> str:
    """Canonical N-Quads (RDFC-1.0) of a JSON-LD document, in safe mode."""
    expanded = expand(document, document_loader)
    options = to_rdf_options(document_loader)
    try:
        return rdfc.canonical_nquads(rdfc.to_quads(expanded, _iri_term, _literal_term))
    except rdfc.Unsupported:
        pass  # a rare construct: pyld's path below
    try:
        dataset = _to_dataset(expanded, options)
        nquads: str = pyld_canon.URDNA2015().main(dataset, {"format": "application/n-quads"})
    except pyld.JsonLdError as error:
        raise _translate(error) from error
    except (ValueError, TypeError) as error:
        raise InvalidInput(f"not valid JSON-LD: {error}", code="invalid_jsonld") from None
    return nquads


#: pyld's test for an absolute IRI (a scheme, or `_` for blank nodes, then no whitespace):
#: where it fails, pyld drops the triple, so the fast path leaves such documents to pyld.
_PYLD_ABSOLUTE_IRI = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*|_):[^\s]*$")


@lru_cache(maxsize=8192)
def _iri_term(iri: str) -> str:
    """An IRI as a canonical N-Quads term (a credential repeats a few dozen IRIs)."""
    if not _PYLD_ABSOLUTE_IRI.match(iri):
        raise rdfc.Unsupported(f"an IRI pyld does not take as absolute: {iri[:60]!r}")
    return f"<{escape_iri(iri)}>"


def to_rdf_options(document_loader: DocumentLoader = offline_document_loader) -> dict[str, Any]:
    """pyld's `to_rdf` options for eddsa-rdfc-2022: `@direction` as rdf-canonize and the
    Data Integrity suites map it, no generalized RDF, JSON-LD 1.1."""
    return {
        "documentLoader": document_loader,
        "base": None,
        "rdfDirection": "i18n-datatype",
        "produceGeneralizedRdf": False,
        "processingMode": "json-ld-1.1",
    }


#: What pyld's `_object_to_rdf` reads when it turns a number or boolean into a literal.
_TO_RDF_OPTIONS = to_rdf_options()


def _literal_term(value: Mapping[str, Any]) -> str:
    """A value object as a canonical N-Quads literal: text here, numbers and booleans through
    pyld's own conversion (its lexical forms are what the node must reproduce)."""
    raw = value["@value"]
    if isinstance(raw, bool | int | float) and rdfc.PLAIN_VALUE_KEYS.issuperset(value):
        if value.get("@language") is not None or value.get("@type") == "@json":
            raise rdfc.Unsupported("a language-tagged or JSON number")
        return _term(pyld.JsonLdProcessor()._object_to_rdf(value, None, [], _TO_RDF_OPTIONS))
    return rdfc.plain_literal(value, escape_literal, _iri_term)


def _to_dataset(expanded: list[Any], options: dict[str, Any]) -> dict[str, Any]:
    """The RDF dataset of an already expanded document: what `JsonLdProcessor.to_rdf` does
    after expanding its input, without expanding the expanded document a second time (that
    would be a no-op costing a third of canonicalization)."""
    processor = pyld.JsonLdProcessor()
    issuer = pyld.IdentifierIssuer("_:b")
    node_map: dict[str, Any] = {"@default": {}}
    processor._create_node_map(expanded, node_map, "@default", issuer)
    dataset: dict[str, Any] = {}
    for graph_name, graph in sorted(node_map.items()):
        if graph_name == "@default" or pyld._is_absolute_iri(graph_name):
            dataset[graph_name] = processor._graph_to_rdf(graph, issuer, options)
    return dataset


def _translate(error: pyld.JsonLdError) -> LernodeError:
    """Surface our own error (e.g. `unknown_context`) from pyld's wrapper chain if present."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, LernodeError):
            return cause
        cause = cause.__cause__
    return InvalidInput(f"invalid JSON-LD: {error}", code="invalid_jsonld")


# -- portable values -------------------------------------------------------------------------

#: C0 controls other than TAB/LF/CR, DEL, and UTF-16 surrogates (only lone ones reach a str).
NON_PORTABLE_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
_XSD_DOUBLE = "http://www.w3.org/2001/XMLSchema#double"
_SIXTEEN_DIGITS = Decimal("1.000000000000000")
#: Deepest nesting `ensure_portable` walks (a credential is a dozen levels deep at most).
MAX_PORTABLE_DEPTH = 64


def _non_portable(path: str, detail: str) -> InvalidInput:
    return InvalidInput(f"{path or '/'}: {detail}", code="non_portable_value", path=path or "/")


def _js_exponential(number: float) -> str:
    r"""ECMAScript `number.toExponential(15)` (exact value, ties rounded up as the spec says),
    then jsonld.js's trim `replace(/(\d)0*e\+?/, '$1E')`: 7.5 -> "7.5E0"."""
    if number == 0:
        text = "0.000000000000000e+0"  # the sign of -0 is dropped
    else:
        exact = abs(Decimal(number))
        exponent = exact.adjusted()
        mantissa = exact.scaleb(-exponent).quantize(_SIXTEEN_DIGITS, rounding=ROUND_HALF_UP)
        if mantissa >= 10:
            exponent += 1
            mantissa = exact.scaleb(-exponent).quantize(_SIXTEEN_DIGITS, rounding=ROUND_HALF_UP)
        sign = "-" if number < 0 else ""
        text = f"{sign}{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"
    return re.sub(r"(\d)0*e\+?", r"\1E", text, count=1)


def _pyld_exponential(number: float) -> str:
    """pyld 3.3's canonical double: C-style `%1.15E` (ties to even), then its trim."""
    return re.sub(r"(\d)0*E\+?(-)?0*(\d)", r"\1E\2\3", f"{number:1.15E}")


def jsonld_js_literal(value: int | float, *, coerced_double: bool = False) -> tuple[str, str]:
    """(lexical form, default datatype) jsonld.js 8 gives a JSON number in toRDF: a double when
    its ECMAScript string has a "." or it is >= 1e21 (or the term is typed xsd:double), else
    `toFixed(0)`. `1e-7` prints as "1e-7", so jsonld.js makes it the integer "0"."""
    number = float(value)  # what JSON.parse makes of it
    if coerced_double or "." in serialize_number(number) or abs(number) >= 1e21:
        return _js_exponential(number), _XSD_DOUBLE
    integral = Decimal(abs(number)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{'-' if number < 0 else ''}{integral}", _XSD_INTEGER


def pyld_literal(value: int | float, *, coerced_double: bool = False) -> tuple[str, str]:
    """(lexical form, default datatype) pyld 3.3 gives a Python JSON number in to_rdf: a double
    when it is a non-integral float (or >= 1e21, or typed xsd:double), else `str(int(value))`."""
    integral = isinstance(value, int) or float(value).is_integer()
    if not integral or coerced_double or abs(value) >= 1e21:
        return _pyld_exponential(float(value)), _XSD_DOUBLE
    return str(int(value)), _XSD_INTEGER


def number_is_portable(value: int | float) -> bool:
    """Whether jsonld.js and pyld give `value` the same RDF literal, typed or not."""
    if isinstance(value, float) and not math.isfinite(value):
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return all(
        jsonld_js_literal(value, coerced_double=typed) == pyld_literal(value, coerced_double=typed)
        for typed in (False, True)
    )


def ensure_portable(document: Any, _path: str = "", _depth: int = 0) -> None:
    """Refuse (`non_portable_value`) any value jsonld.js and pyld would canonicalize differently:
    a number whose literal differs (`number_is_portable`), or a string (value or key) holding a
    control character other than TAB/LF/CR, DEL or a lone surrogate. Called on everything the
    node signs, before it signs it."""
    if _depth > MAX_PORTABLE_DEPTH:
        raise _non_portable(_path, "the document is nested too deeply")
    if isinstance(document, bool) or document is None:
        return
    if isinstance(document, str):
        found = NON_PORTABLE_CHAR.search(document)
        if found:
            raise _non_portable(
                _path,
                f"text contains U+{ord(found.group()):04X} (a control character or lone "
                "surrogate), which JSON-LD processors do not serialize alike",
            )
    elif isinstance(document, int | float):
        if not number_is_portable(document):
            raise _non_portable(
                _path,
                f"the number {document!r} canonicalizes differently in jsonld.js "
                f"({jsonld_js_literal(document)[0] if _finite(document) else 'n/a'}) and pyld; "
                "use a decimal such as 7.5 (not below 1e-6, at most 15 significant digits)",
            )
    elif isinstance(document, Mapping):
        for key, value in document.items():
            ensure_portable(str(key), f"{_path}/{key}", _depth + 1)
            ensure_portable(value, f"{_path}/{key}", _depth + 1)
    elif isinstance(document, list | tuple):
        for index, item in enumerate(document):
            ensure_portable(item, f"{_path}/{index}", _depth + 1)


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False
