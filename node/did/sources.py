"""Where verification gets DID documents: the node's index, with a chain walk behind it.

`DidDocumentSource` is what the verification engine asks ("the document of this DID as of block
N"); the node answers from its indexed `Resolver` and falls back to walking the chain while the
indexer has not reached the block asked for; the RPC-only verifier walks the chain directly
(`ChainDidResolver`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from node.did.resolution import Resolver


class DidDocumentSource(Protocol):
    """DID documents of the chain's `did:ethr` DIDs, at a block (None: the latest)."""

    def document_at(self, did: str, block: int | None) -> dict[str, Any]: ...


class IndexedDidSource:
    """`DidDocumentSource` over the node's indexed `Resolver`, falling back to a chain walk
    while the indexer has not reached the block asked for (it polls, so it trails the chain by
    up to a poll interval, and not at all when background work is off)."""

    def __init__(
        self,
        resolver: Resolver,
        indexed_through: Callable[[], int | None],
        head: Callable[[], int],
        fallback: DidDocumentSource,
    ) -> None:
        self.resolver = resolver
        self.indexed_through = indexed_through
        self.head = head
        self.fallback = fallback

    def document_at(self, did: str, block: int | None) -> dict[str, Any]:
        position = self.indexed_through()
        wanted = self.head() if block is None else block
        if position is None or position < wanted:
            return self.fallback.document_at(did, block)
        return self.resolver.resolve(did, version_id=block).did_document
