"""Offline JSON-LD document loading.

Credentials are canonicalized to sign and verify them, and canonicalization dereferences every
`@context` URL. Fetching those over the network would let whoever serves a context change the
meaning (and so the signature) of every credential, and would make verification depend on a third
party being online. So the node only ever uses the context files bundled in `contexts/`
(byte-identical copies of `/work/shared/jsonld-contexts`, provenance in `contexts/index.json`) and
refuses any other URL with `unknown_context`. DID documents are served only when the caller passes
them in, because resolving DIDs is I/O and belongs to the `did/` layer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from node.errors import InvalidInput

#: pyld calls the loader as `loader(url, options)` and expects a remote-document dict.
DocumentLoader = Callable[[str, dict[str, Any]], dict[str, Any]]

_CONTEXT_DIR = "contexts"


@cache
def context_index() -> Mapping[str, Mapping[str, str]]:
    """The bundled `index.json`: context URL -> {file, package (provenance)}."""
    raw = resources.files(__package__).joinpath(_CONTEXT_DIR, "index.json").read_bytes()
    return MappingProxyType(json.loads(raw))


@cache
def _context_bytes(url: str) -> bytes:
    entry = context_index()[url]
    return resources.files(__package__).joinpath(_CONTEXT_DIR, entry["file"]).read_bytes()


def bundled_context(url: str) -> dict[str, Any]:
    """The parsed context document for `url`; `unknown_context` if it is not bundled."""
    if url not in context_index():
        raise InvalidInput(
            f"JSON-LD context {url!r} is not one of the bundled contexts; "
            "the node never fetches contexts from the network",
            code="unknown_context",
            url=url,
        )
    # A fresh parse each time: pyld may mutate what it is given, and it caches processed
    # contexts itself, so this runs once per URL and process.
    parsed: dict[str, Any] = json.loads(_context_bytes(url))
    return parsed


def _remote_document(url: str, document: Any, *, immutable: bool = False) -> dict[str, Any]:
    remote = {"contextUrl": None, "documentUrl": url, "document": document}
    if immutable:
        # pyld keeps a processed context in its process-wide cache only when the loader tags it
        # "static"; without the tag every canonicalization re-processes every context (measured:
        # ~60% of signing time). Bundled files never change, so they are static by definition.
        remote["tag"] = "static"
    return remote


def make_document_loader(extra_documents: Mapping[str, Any] | None = None) -> DocumentLoader:
    """A pyld document loader serving the bundled contexts plus `extra_documents`.

    `extra_documents` maps URLs (e.g. a DID or a verification method id) to JSON documents the
    caller already obtained; anything else raises `unknown_context`, so the loader never reaches
    the network.
    """
    extras = dict(extra_documents or {})

    def load(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        if url in extras:
            return _remote_document(url, extras[url])
        return _remote_document(url, bundled_context(url), immutable=True)

    return load


#: The loader for documents that need nothing but the bundled contexts.
offline_document_loader: DocumentLoader = make_document_loader()
