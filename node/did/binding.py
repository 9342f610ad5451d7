"""Which chain address a `did:web` stands for, read from the chain alone (no web request).

A did:web issuer of the consortium is bound to its address twice, and both must agree:

1. the consortium: on executing the accreditation proposal the IssuerRegistry binds each alias
   (`issuerOfAlias(keccak256(alias)) -> address`, read through the registry's typed face
   `IssuerRegistry.issuer_of_alias`); M-of-N members voted for that exact DID string;
2. the institution itself: its did:ethr carries an ERC-1056 `did/svc/LinkedDomains` service whose
   endpoint is the did:web's origin (`https://host[:port]`), published with its own key.

`did_web_binding` returns the address only when both hold, so an RPC-only verifier can map a
did:web issuer to the did:ethr whose key, accreditation, anchors and status it then checks, and
`ethr_method_id` (did_web.py) maps the proof's method id. Neither side alone is enough: the
alias without the attribute would let the consortium speak for an institution; the attribute
without the alias would let any institution claim any domain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from node.chain.contracts.issuer_registry import IssuerRegistry
from node.did.did_web import parse_web_did
from node.did.identifier import format_ethr_did
from node.did.sources import DidDocumentSource
from node.net.guarded import origin_of

LINKED_DOMAINS = "LinkedDomains"


@dataclass(frozen=True)
class DidWebChain:
    """What `did_web_binding` reads: the consortium's alias map (alias -> address or None) and
    did:ethr documents."""

    chain_id: int
    alias_owner: Callable[[str], str | None]
    dids: DidDocumentSource

    @classmethod
    def from_registry(
        cls, chain_id: int, issuer_registry: IssuerRegistry, dids: DidDocumentSource
    ) -> DidWebChain:
        return cls(chain_id, issuer_registry.issuer_of_alias, dids)


def did_web_binding(chain: DidWebChain, did_web: str) -> str | None:
    """The address (lowercase) `did_web` is bound to on chain now, or None when it is not.

    Both sides are read at the latest block: the binding says which did:ethr the did:web stands
    for; the verifier then checks the key as of issuance on that did:ethr's history.
    """
    web = parse_web_did(did_web)
    address = chain.alias_owner(did_web)
    if address is None:
        return None
    address = address.lower()
    document = chain.dids.document_at(format_ethr_did(chain.chain_id, address), None)
    return address if web.origin in linked_origins(document) else None


def linked_origins(document: Mapping[str, Any]) -> set[str]:
    """The origins a DID document's `LinkedDomains` services name (DIF Well Known DID
    Configuration: an origin string, a list of them, or `{"origins": [...]}`)."""
    origins: set[str] = set()
    for service in document.get("service", []) or []:
        if not isinstance(service, Mapping):
            continue
        types = service.get("type")
        if LINKED_DOMAINS not in ([types] if isinstance(types, str) else types or []):
            continue
        origins.update(_origins(service.get("serviceEndpoint")))
    return origins


def _origins(endpoint: Any) -> Iterable[str]:
    if isinstance(endpoint, Mapping):
        endpoint = endpoint.get("origins")
    for value in endpoint if isinstance(endpoint, list) else [endpoint]:
        if not isinstance(value, str):
            continue
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            continue
        bare = parts.path in ("", "/") and not parts.query and not parts.fragment
        if parts.scheme == "https" and parts.hostname and bare:
            yield origin_of(parts.scheme, parts.hostname, port)
