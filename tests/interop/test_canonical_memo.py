"""The memoized canonicalizer (node/credentials/pyld_speed.py, one expansion per document) writes
the same canonical N-Quads, byte for byte, as stock pyld and as jsonld.js + rdf-canonize, on
the whole conformance corpus: every OB 3.0 shape the node issues, a CLR, the proof
configurations, the tricky documents and concurrent use from threads."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pyld import canon as pyld_canon
from pyld import jsonld as pyld

from node.credentials import canonical, pyld_speed
from node.credentials.canonical import canonize
from node.credentials.inputs import IssuerProfile
from node.credentials.model import build_clr, build_open_badge
from node.credentials.proofs import sign
from tests.support.interop import ISSUER_DID, KEY_ID, RunJs
from tests.support.ob3_corpus import TRICKY_DOCUMENTS, clr_parts, single_inputs

pytestmark = pytest.mark.interop

ISSUER = IssuerProfile(id=ISSUER_DID, name="Universidad Ejemplo", url="https://uni.example")
SIGNED_AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _corpus() -> list[dict[str, Any]]:
    key = Ed25519PrivateKey.generate()
    badges = [build_open_badge(item, ISSUER) for item in single_inputs()]
    learner, courses = clr_parts()
    parts = [
        sign(build_open_badge(course, ISSUER), key, KEY_ID, created=SIGNED_AT) for course in courses
    ]
    clr = build_clr(parts, ISSUER, learner, name="Transcript", valid_from=SIGNED_AT)
    signed = sign(badges[0], key, KEY_ID, created=SIGNED_AT)
    proof = dict(signed["proof"][0] if isinstance(signed["proof"], list) else signed["proof"])
    proof.pop("proofValue", None)
    proof["@context"] = signed["@context"]
    return [*badges, *parts, clr, signed, proof, *TRICKY_DOCUMENTS]


CORPUS = _corpus()


def _stock_pyld(document: dict[str, Any]) -> str:
    """Stock pyld's path as the node ran it before: expand inside to_rdf, no memo."""
    options = canonical.to_rdf_options()
    dataset = pyld.JsonLdProcessor().to_rdf(dict(document), options)
    return str(pyld_canon.URDNA2015().main(dataset, {"format": "application/n-quads"}))


@pytest.fixture
def stock_pyld() -> Iterator[None]:
    pyld_speed.uninstall()
    try:
        yield
    finally:
        pyld_speed.install()


def test_the_fast_path_equals_stock_pyld_on_the_whole_corpus(stock_pyld: None) -> None:
    expected = [_stock_pyld(document) for document in CORPUS]
    pyld_speed.install()
    assert [canonize(document) for document in CORPUS] == expected


def test_the_fast_path_equals_rdf_canonize_on_the_whole_corpus(run_js: RunJs) -> None:
    results = run_js("canonize", {"documents": CORPUS})["results"]
    for document, js in zip(CORPUS, results, strict=True):
        assert "error" not in js, js
        assert canonize(document) == js["nquads"], document.get("id")


def test_a_repeated_canonicalization_is_answered_from_the_memo() -> None:
    canonize(CORPUS[0])
    hits = pyld_speed.memo.hits
    canonize(CORPUS[0])
    assert pyld_speed.memo.hits > hits


def test_threads_canonicalizing_at_once_agree_with_one_thread() -> None:
    expected = [canonize(document) for document in CORPUS]
    pyld_speed.memo._entries.clear()
    with ThreadPoolExecutor(8) as pool:
        rounds = list(pool.map(lambda _: [canonize(d) for d in CORPUS], range(8)))
    assert all(result == expected for result in rounds)
