"""The node's RDFC-1.0 (node/credentials/rdfc.py) labels blank nodes exactly as pyld's URDNA2015
does, on any dataset — blank nodes that hash alike, cycles, self-references, duplicate quads,
named graphs — and expanded documents reach the same canonical N-Quads through either path."""

from __future__ import annotations

from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pyld import canon as pyld_canon
from pyld import jsonld as pyld

from node.credentials import canonical, rdfc
from node.credentials.jsonld import offline_document_loader

BLANKS = [f"_:n{i}" for i in range(5)]
IRIS = ["<http://example.org/a>", "<http://example.org/b>"]
PREDICATES = ["<http://example.org/p>", "<http://example.org/q>"]
LITERALS = ['"x"', '"y"']

subjects = st.sampled_from(BLANKS + IRIS)
objects = st.sampled_from(BLANKS + IRIS + LITERALS)
graphs = st.sampled_from(["", "_:n0", "_:g", "<http://example.org/g>"])
quads = st.tuples(subjects, st.sampled_from(PREDICATES), objects, graphs)
datasets = st.lists(quads, max_size=14)


def _pyld_term(term: str) -> dict[str, Any]:
    if term.startswith("_:"):
        return {"type": "blank node", "value": term}
    if term.startswith("<"):
        return {"type": "IRI", "value": term[1:-1]}
    return {"type": "literal", "value": term[1:-1], "datatype": canonical._XSD_STRING}


def _pyld(quads: list[rdfc.Quad]) -> str:
    dataset: dict[str, list[dict[str, Any]]] = {}
    for subject, predicate, obj, graph in quads:
        name = "@default" if not graph else graph if graph.startswith("_:") else graph[1:-1]
        dataset.setdefault(name, []).append(
            {
                "subject": _pyld_term(subject),
                "predicate": _pyld_term(predicate),
                "object": _pyld_term(obj),
            }
        )
    return str(pyld_canon.URDNA2015().main(dataset, {"format": "application/n-quads"}))


@settings(max_examples=600, deadline=None)
@given(datasets)
def test_labelling_equals_pyld_on_any_small_dataset(quads: list[rdfc.Quad]) -> None:
    """Except where two blank nodes tie on their N-degree hash: RDFC-1.0 then labels them in the
    order they are met, which is the dataset's order here and a `set`'s order in pyld (it
    changes with the process's hash seed, so pyld disagrees with itself)."""
    canonicalizer = rdfc._Canonicalizer(quads)
    ours = canonicalizer.run()
    assume(not canonicalizer.tied)
    assert ours == _pyld(quads)


def _ring(prefix: str, size: int, graph: str = "") -> list[rdfc.Quad]:
    """Blank nodes in a cycle, all alike: only Hash N-Degree Quads tells them apart."""
    p = PREDICATES[0]
    return [(f"_:{prefix}{i}", p, f"_:{prefix}{(i + 1) % size}", graph) for i in range(size)]


def test_alike_blank_nodes_in_rings_and_twins_are_labelled_as_pyld_does() -> None:
    cases = [
        _ring("r", 6),
        _ring("r", 3) + _ring("s", 3),  # two identical rings
        [*_ring("r", 4), ("_:r0", PREDICATES[1], '"marked"', "")],
        [*_ring("r", 3, "_:g"), ("_:g", PREDICATES[0], "_:r0", "")],
        [("_:a", PREDICATES[0], "_:a", "_:a"), ("_:b", PREDICATES[0], "_:b", "_:b")],
    ]
    for quads in cases:
        assert rdfc.canonical_nquads(quads) == _pyld(quads)


def test_a_poison_dataset_is_refused_within_bounds() -> None:
    """Many blank nodes all linked to all (RDFC-1.0 section 7): the permutations to explore
    grow factorially, so the work is capped and the document refused with a stable code."""
    nodes = [f"_:k{i}" for i in range(10)]
    quads = [(a, PREDICATES[0], b, "") for a in nodes for b in nodes if a != b]
    try:
        rdfc.canonical_nquads(quads)
    except canonical.InvalidInput as error:
        assert error.code == "canonicalization_too_complex"
    else:
        raise AssertionError("a poison dataset was canonicalized without a bound")


names = st.sampled_from(["name", "description", "narrative"])
texts = st.text(max_size=8)
leaf = st.fixed_dictionaries({}, optional={"name": texts, "description": texts})


def _node(children: Any) -> Any:
    return st.fixed_dictionaries(
        {"type": st.just("Achievement")},
        optional={
            "id": st.sampled_from(["urn:uuid:1", "urn:uuid:2", "_:shared"]),
            "name": texts | st.lists(texts, max_size=3),
            "alignment": st.lists(children, max_size=3),
        },
    )


achievements = st.recursive(
    st.fixed_dictionaries({"type": st.just("Achievement")}, optional={"name": texts}),
    _node,
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(achievements, min_size=1, max_size=3))
def test_documents_with_repeated_and_anonymous_nodes_canonicalize_as_through_pyld(
    nodes: list[dict[str, Any]],
) -> None:
    """Nodes named twice (merged by the node map), anonymous twins and lists of them."""
    document = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": "urn:uuid:doc",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": "did:example:issuer", "type": "Profile"},
        "credentialSubject": {"type": "AchievementSubject", "achievement": nodes},
    }
    expanded = canonical.expand(document, offline_document_loader)
    options = canonical.to_rdf_options()
    fast = rdfc.canonical_nquads(
        rdfc.to_quads(expanded, canonical._iri_term, canonical._literal_term)
    )
    through_pyld = pyld_canon.URDNA2015().main(
        canonical._to_dataset(pyld.JsonLdProcessor.arrayify(expanded), options),
        {"format": "application/n-quads"},
    )
    assert fast == through_pyld
