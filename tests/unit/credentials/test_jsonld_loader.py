"""The offline loader serves exactly the bundled contexts, byte-identical to shared/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from node.credentials.jsonld import context_index, make_document_loader, offline_document_loader
from node.errors import InvalidInput

SHARED = Path(__file__).parents[3].parent / "shared" / "jsonld-contexts"
PACKAGED = Path(__file__).parents[3] / "node" / "credentials" / "contexts"


def test_bundled_files_are_byte_identical_to_the_shared_contexts() -> None:
    if not SHARED.is_dir():
        pytest.skip("../shared is not available")
    shared = {p.name: p.read_bytes() for p in SHARED.iterdir()}
    packaged = {p.name: p.read_bytes() for p in PACKAGED.iterdir() if p.is_file()}
    assert packaged == shared


def test_every_indexed_context_is_served_with_its_parsed_document() -> None:
    for url, entry in context_index().items():
        served = offline_document_loader(url, {})
        assert served["documentUrl"] == url
        assert served["document"] == json.loads((PACKAGED / entry["file"]).read_bytes())


def test_unknown_urls_are_refused_without_any_network_access() -> None:
    with pytest.raises(InvalidInput) as raised:
        offline_document_loader("https://example.com/context.json", {})
    assert raised.value.code == "unknown_context"


def test_caller_supplied_documents_are_served_only_by_their_own_loader() -> None:
    did_document = {"id": "did:ex:1", "assertionMethod": []}
    loader = make_document_loader({"did:ex:1": did_document})
    assert loader("did:ex:1", {})["document"] == did_document
    with pytest.raises(InvalidInput):
        offline_document_loader("did:ex:1", {})


def test_callers_cannot_corrupt_the_served_context_by_mutating_it() -> None:
    url = "https://www.w3.org/ns/credentials/v2"
    offline_document_loader(url, {})["document"]["@context"]["id"] = "tampered"
    assert offline_document_loader(url, {})["document"]["@context"]["id"] == "@id"
