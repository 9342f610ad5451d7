"""Expanded JSON-LD to canonical N-Quads (RDFC-1.0), for the documents the node signs and checks.

Why not pyld's own path: after expansion, pyld builds a node map of dictionaries, turns it into
triples of term dictionaries, deep-copies blank-node terms while labelling them and serializes
every quad several times — 43% of a credential's canonicalization. Here the expanded document is
walked once into quads whose terms are already canonical N-Quads text (RDFC-1.0 section 4.3,
`canonical.escape_literal` / `escape_iri`), and RDFC-1.0 labels blank nodes over those strings.

What must hold is byte-identical output to pyld's `to_rdf` + URDNA2015 and to jsonld.js /
rdf-canonize (tests/unit/credentials and tests/interop compare them on the whole corpus):

* **The dataset is the node map's.** The node map merges every occurrence of a node and adds
  a value to a property only once (JSON-LD 1.1 API, "add value" without duplicates: node
  references compared by `@id`, value objects by value, type and language); lists are always
  added. `_Dataset.add` keeps that rule, so the quads are the same set pyld emits.
* **Labelling is RDFC-1.0's, as pyld runs it.** A quad naming one blank node twice is hashed
  once per occurrence, related blank nodes keep duplicates in their lists, permutations are
  explored and pruned in the specified order.
* **Anything rare is pyld's.** `@index`, `@reverse`, `@included`, `@json` and `@direction`
  literals, numbers, blank-node properties or types, free-floating lists: the document takes
  pyld's path (`Unsupported`), so the fast path only ever covers what it reproduces exactly.

Bounded: labelling explores permutations of blank nodes that hash alike, which an attacker can
make exponential ("poison" datasets, RDFC-1.0 section 7). `MAX_DEEP_WORK` caps the Hash
N-Degree Quads steps per document and refuses (`canonicalization_too_complex`) beyond it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from itertools import permutations
from typing import Any

from node.errors import InvalidInput

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
XSD_DOUBLE = "http://www.w3.org/2001/XMLSchema#double"
RDF_LANGSTRING = RDF + "langString"
#: Hash N-Degree Quads steps (calls plus permutations tried) one document may take. An OB 3.0
#: credential or a CLR with hundreds of embedded results needs well under a thousand.
MAX_DEEP_WORK = 20_000

#: A quad: subject, predicate, object and graph name ("" for the default graph), each already
#: serialized as canonical N-Quads terms.
Quad = tuple[str, str, str, str]


class Unsupported(Exception):
    """The document uses a construct the fast path leaves to pyld."""


# -- expanded JSON-LD to quads ---------------------------------------------------------------


class _Dataset:
    """The quads of one expanded document, with the node map's no-duplicates rule."""

    def __init__(self, iri: Any, literal: Any) -> None:
        self.quads: list[Quad] = []
        self._seen: set[tuple[Any, ...]] = set()
        self._labels: dict[str, str] = {}
        self._count = 0
        self._iri = iri
        self._literal = literal

    def blank(self, label: str | None = None) -> str:
        """A fresh blank node, or the one a document label already named (labels are the
        node map's: one per `@id`, across graphs)."""
        if label is not None and label in self._labels:
            return self._labels[label]
        self._count += 1
        fresh = f"_:b{self._count}"
        if label is not None:
            self._labels[label] = fresh
        return fresh

    def add(self, subject: str, predicate: str, obj: str, graph: str, key: Any) -> None:
        if key is None:
            self.quads.append((subject, predicate, obj, graph))
            return
        seen = (graph, subject, predicate, key)
        if seen not in self._seen:
            self._seen.add(seen)
            self.quads.append((subject, predicate, obj, graph))

    # -- the walk --

    def graph(self, items: Iterable[Any], name: str) -> None:
        for item in items:
            if not isinstance(item, dict) or "@value" in item or "@list" in item:
                raise Unsupported("a free-floating value or list")
            self.node(item, name)

    def node(self, node: Mapping[str, Any], graph: str) -> str:
        node_id = node.get("@id")
        if node_id is None or node_id.startswith("_:"):
            subject = self.blank(node_id)
        else:
            subject = self._iri(node_id)
        for prop in sorted(node):
            values = node[prop]
            if prop == "@id":
                continue
            if prop == "@type":
                for type_iri in values:
                    if type_iri.startswith("_:"):
                        raise Unsupported("a blank-node type")
                    self.add(subject, _RDF_TYPE, self._iri(type_iri), graph, ("@id", type_iri))
            elif prop == "@graph":
                self.graph(values, subject)
            elif prop.startswith(("@", "_:")):
                raise Unsupported(prop)
            else:
                predicate = self._iri(prop)
                for value in values:
                    obj, key = self.object(value, graph)
                    self.add(subject, predicate, obj, graph, key)
        return subject

    def object(self, value: Any, graph: str) -> tuple[str, Any]:
        """The object term of `value` and its no-duplicates key (None: always added)."""
        if not isinstance(value, dict):
            raise Unsupported("a non-object value")
        if "@value" in value:
            return self._literal(value), _value_key(value)
        if "@list" in value:
            return self.collection(value["@list"], graph), None
        subject = self.node(value, graph)
        return subject, ("@id", subject)

    def collection(self, items: list[Any], graph: str) -> str:
        if not items:
            return _RDF_NIL
        head = node = self.blank()
        for number, item in enumerate(items):
            obj, _key = self.object(item, graph)
            rest = _RDF_NIL if number == len(items) - 1 else self.blank()
            self.quads.append((node, _RDF_FIRST, obj, graph))
            self.quads.append((node, _RDF_REST, rest, graph))
            node = rest
        return head


_RDF_TYPE = f"<{RDF}type>"
_RDF_FIRST = f"<{RDF}first>"
_RDF_REST = f"<{RDF}rest>"
_RDF_NIL = f"<{RDF}nil>"
PLAIN_VALUE_KEYS = frozenset({"@value", "@type", "@language"})


def _value_key(value: Mapping[str, Any]) -> tuple[Any, ...]:
    """What the node map compares value objects by (Python equality, as pyld does)."""
    if not isinstance(value["@value"], str | bool | int | float):
        raise Unsupported("a JSON literal")
    return ("@value", value["@value"], value.get("@type"), value.get("@language"))


def to_quads(expanded: list[Any], iri: Any, literal: Any) -> list[Quad]:
    """The RDF dataset of an expanded document (`Unsupported` if pyld must make it).

    `iri(text)` and `literal(value_object)` serialize terms (see canonical.py); `literal` raises
    `Unsupported` for values it leaves to pyld."""
    dataset = _Dataset(iri, literal)
    dataset.graph(expanded, "")
    return dataset.quads


def plain_literal(value: Mapping[str, Any], escape: Any, iri: Any) -> str:
    """A string value object as an N-Quads literal, or `Unsupported` for anything else."""
    text = value["@value"]
    if not isinstance(text, str) or not PLAIN_VALUE_KEYS.issuperset(value):
        raise Unsupported("a typed, indexed, directed or non-string value")
    datatype = value.get("@type")
    language = value.get("@language")
    if datatype is None:
        if language is None:
            return f'"{escape(text)}"'
        if not language:
            raise Unsupported("an empty language tag")
        return f'"{escape(text)}"@{language}'
    if language is not None or datatype in ("@json", XSD_DOUBLE) or datatype.startswith("_:"):
        raise Unsupported("a JSON, double or blank-node datatype")
    if datatype in (XSD_STRING, RDF_LANGSTRING):  # pyld writes neither (no language here)
        return f'"{escape(text)}"'
    return f'"{escape(text)}"^^{iri(datatype)}'


# -- RDFC-1.0 --------------------------------------------------------------------------------


class _Issuer:
    """RDFC-1.0's identifier issuer: labels in the order they were issued."""

    __slots__ = ("issued", "prefix")

    def __init__(self, prefix: str, issued: dict[str, str] | None = None) -> None:
        self.prefix = prefix
        self.issued: dict[str, str] = dict(issued) if issued else {}

    def issue(self, label: str) -> str:
        found = self.issued.get(label)
        if found is None:
            found = self.issued[label] = f"{self.prefix}{len(self.issued)}"
        return found

    def copy(self) -> _Issuer:
        return _Issuer(self.prefix, self.issued)


def _is_blank(term: str) -> bool:
    return term.startswith("_:")


def _line(subject: str, predicate: str, obj: str, graph: str) -> str:
    if graph:
        return f"{subject} {predicate} {obj} {graph} .\n"
    return f"{subject} {predicate} {obj} .\n"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Canonicalizer:
    def __init__(self, quads: list[Quad]) -> None:
        self.quads = quads
        #: Quads per blank node, a quad once per position the node holds in it (as pyld).
        self.mentions: dict[str, list[Quad]] = {}
        for quad in quads:
            subject, _predicate, obj, graph = quad
            for term in (subject, obj, graph):
                if _is_blank(term):
                    self.mentions.setdefault(term, []).append(quad)
        self.canonical = _Issuer("_:c14n")
        self._first_degree: dict[str, str] = {}
        self.work = 0
        #: Whether two blank nodes got the same N-degree hash. RDFC-1.0 then issues labels in
        #: the order the nodes were met (here: first mention in the dataset, as rdf-canonize);
        #: pyld meets them in `set` order, which varies from process to process.
        self.tied = False

    def run(self) -> str:
        by_hash: dict[str, list[str]] = {}
        for label in self.mentions:
            by_hash.setdefault(self.first_degree(label), []).append(label)
        shared: list[list[str]] = []
        for _hash, labels in sorted(by_hash.items()):
            if len(labels) == 1:
                self.canonical.issue(labels[0])
            else:
                shared.append(labels)
        for labels in shared:
            paths: list[tuple[str, _Issuer]] = []
            for label in labels:
                if label in self.canonical.issued:
                    continue
                issuer = _Issuer("_:b")
                issuer.issue(label)
                paths.append(self.n_degree(label, issuer))
            hashes = [path_hash for path_hash, _issuer in paths]
            self.tied = self.tied or len(set(hashes)) < len(hashes)
            for _hash, issuer in sorted(paths, key=lambda path: path[0]):
                for existing in issuer.issued:
                    self.canonical.issue(existing)
        issued = self.canonical.issued
        lines = [
            _line(
                issued.get(subject, subject),
                predicate,
                issued.get(obj, obj),
                issued.get(graph, graph),
            )
            for subject, predicate, obj, graph in self.quads
        ]
        lines.sort()
        return "".join(lines)

    def first_degree(self, label: str) -> str:
        found = self._first_degree.get(label)
        if found is None:
            lines = sorted(
                _line(_reference(s, label), p, _reference(o, label), _reference(g, label))
                for s, p, o, g in self.mentions[label]
            )
            found = self._first_degree[label] = _sha256("".join(lines))
        return found

    def related(self, related: str, quad: Quad, issuer: _Issuer, position: str) -> str:
        if related in self.canonical.issued:
            identifier = self.canonical.issued[related]
        elif related in issuer.issued:
            identifier = issuer.issued[related]
        else:
            identifier = self.first_degree(related)
        predicate = "" if position == "g" else quad[1]
        return _sha256(position + predicate + identifier)

    def n_degree(self, label: str, issuer: _Issuer) -> tuple[str, _Issuer]:
        self._spend()
        related_by_hash: dict[str, list[str]] = {}
        for quad in self.mentions[label]:
            for position, term in zip("sog", (quad[0], quad[2], quad[3]), strict=True):
                if term != label and _is_blank(term):
                    related_hash = self.related(term, quad, issuer, position)
                    related_by_hash.setdefault(related_hash, []).append(term)
        data = hashlib.sha256()
        for related_hash, nodes in sorted(related_by_hash.items()):
            data.update(related_hash.encode("utf-8"))
            chosen_path = ""
            chosen_issuer: _Issuer | None = None
            for permutation in permutations(nodes):
                self._spend()
                found = self._path(permutation, issuer, chosen_path)
                if found is not None and (not chosen_path or found[0] < chosen_path):
                    chosen_path, chosen_issuer = found
            data.update(chosen_path.encode("utf-8"))
            assert chosen_issuer is not None  # the first permutation is never skipped
            issuer = chosen_issuer
        return data.hexdigest(), issuer

    def _path(
        self, permutation: tuple[str, ...], issuer: _Issuer, chosen: str
    ) -> tuple[str, _Issuer] | None:
        """One permutation's path and issuer, or None once it cannot beat `chosen`."""
        copy = issuer.copy()
        path = ""
        recursion: list[str] = []
        for related in permutation:
            if related in self.canonical.issued:
                path += self.canonical.issued[related]
            else:
                if related not in copy.issued:
                    recursion.append(related)
                path += copy.issue(related)
            if chosen and len(path) >= len(chosen) and path > chosen:
                return None
        for related in recursion:
            result_hash, copy = self.n_degree(related, copy)
            path += copy.issue(related) + f"<{result_hash}>"
            if chosen and len(path) >= len(chosen) and path > chosen:
                return None
        return path, copy

    def _spend(self) -> None:
        self.work += 1
        if self.work > MAX_DEEP_WORK:
            raise InvalidInput(
                "the document's blank nodes are too alike to canonicalize within bounds",
                code="canonicalization_too_complex",
                limit=MAX_DEEP_WORK,
            )


def _reference(term: str, label: str) -> str:
    if not _is_blank(term):
        return term
    return "_:a" if term == label else "_:z"


def canonical_nquads(quads: list[Quad]) -> str:
    """RDFC-1.0 canonical N-Quads of `quads` (terms already canonical N-Quads text)."""
    return _Canonicalizer(quads).run()
