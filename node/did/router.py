"""One `DidDocumentSource` for every DID method the verifier understands, picked by method.

`did:ethr` goes to the chain-backed source (indexed or RPC walk), which honours `block`;
`did:key` (pure) and `did:web` (HTTPS under the SSRF guard, or this node's own documents) have no
chain history, so `block` is ignored for them. A method without a source is refused with
`method_not_supported`, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from node.did.did_key import DidKeyResolver
from node.did.errors import MethodNotSupported
from node.did.identifier import did_method
from node.did.sources import DidDocumentSource


class DidMethodRouter:
    """`DidDocumentSource` dispatching on the DID method.

    `ethr` is the chain's source (None: a router for off-chain DIDs only, e.g. presentation
    holders); `others` maps further method names to their sources (`key` defaults to the pure
    `DidKeyResolver`; give `web` a `WebDidResolver`, or on a node a `HostedFirst` so it answers
    its own did:web documents without a network round trip).
    """

    def __init__(
        self,
        ethr: DidDocumentSource | None = None,
        others: Mapping[str, DidDocumentSource] | None = None,
    ) -> None:
        self.sources: dict[str, DidDocumentSource] = {"key": DidKeyResolver()}
        self.sources.update(others or {})
        if ethr is not None:
            self.sources["ethr"] = ethr

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(sorted(self.sources))

    def document_at(self, did: str, block: int | None) -> dict[str, Any]:
        method = did_method(did)
        source = self.sources.get(method)
        if source is None:
            raise MethodNotSupported(
                f"DID method {method!r} is not supported; this verifier resolves "
                + ", ".join(f"did:{m}" for m in self.methods),
                method=method,
            )
        return source.document_at(did, block if method == "ethr" else None)


#: did -> its document if this node hosts it, else None (`DidWebHosting.hosted_document`).
HostedLookup = Callable[[str], dict[str, Any] | None]


class HostedFirst:
    """did:web source answering the DIDs this node hosts from its own data (no network round
    trip to itself), every other did:web from the web (`WebDidResolver`)."""

    def __init__(self, hosted: HostedLookup, web: DidDocumentSource) -> None:
        self.hosted = hosted
        self.web = web

    def document_at(self, did: str, block: int | None) -> dict[str, Any]:
        document = self.hosted(did)
        return document if document is not None else self.web.document_at(did, block)


class HostedOnly:
    """did:web source for the node's public resolver: only the DIDs it hosts. Answering any
    did:web would make the public endpoint fetch attacker-chosen URLs for anyone."""

    def __init__(self, hosted: HostedLookup) -> None:
        self.hosted = hosted

    def document_at(self, did: str, block: int | None) -> dict[str, Any]:
        document = self.hosted(did)
        if document is None:
            raise MethodNotSupported(
                f"{did[:120]} is not hosted by this node; this resolver serves did:ethr, did:key "
                "and its own did:web DIDs",
                method="web",
            )
        return document
