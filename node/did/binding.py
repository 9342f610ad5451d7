"""Which chain address a `did:web` stands for, read from the chain alone (no web request).

A did:web issuer of the consortium is bound to its address twice, and both must agree:

1. the consortium: on executing the accreditation proposal the IssuerRegistry binds each alias
   (`issuerOfAlias(keccak256(alias)) -> address`, docs/did-web.md); M-of-N members voted for
   that exact DID string;
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

from eth_utils import keccak
from web3.contract import Contract

from node.chain.client import chain_read
from node.did.did_web import origin_of, parse_web_did
from node.did.identifier import format_ethr_did
from node.did.sources import DidDocumentSource

LINKED_DOMAINS = "LinkedDomains"
_ZERO_ADDRESS = "0x" + "00" * 20


def alias_hash(alias: str) -> bytes:
    """The key of the consortium's alias map: keccak256 of the alias's UTF-8 bytes."""
    return keccak(text=alias)


def issuer_of_alias(issuer_registry: Contract, alias: str, block: int | None = None) -> str | None:
    """The address the consortium bound `alias` to (lowercase), or None.

    The one chain read of the alias map (TEAM decision 1). A registry deployed before aliases
    existed has no `issuerOfAlias` and binds nothing.
    """
    function = getattr(issuer_registry.functions, "issuerOfAlias", None)
    if function is None:
        return None
    block_id: int | str = "latest" if block is None else block
    address = chain_read(lambda: function(alias_hash(alias)).call(block_identifier=block_id))
    text = str(address).lower()
    return None if text == _ZERO_ADDRESS else text


@dataclass(frozen=True)
class DidWebChain:
    """What `did_web_binding` reads: the consortium's alias map and did:ethr documents."""

    chain_id: int
    alias_owner: Callable[[str, int | None], str | None]
    dids: DidDocumentSource

    @classmethod
    def from_registry(
        cls, chain_id: int, issuer_registry: Contract, dids: DidDocumentSource
    ) -> DidWebChain:
        return cls(
            chain_id,
            lambda alias, block: issuer_of_alias(issuer_registry, alias, block),
            dids,
        )


def did_web_binding(chain: DidWebChain, did_web: str, block: int | None = None) -> str | None:
    """The address (lowercase) `did_web` is bound to on chain, or None when it is not.

    `block` (None: latest) is when both sides are read; a verifier usually asks for the latest
    binding and then checks the key as of issuance on the did:ethr.
    """
    web = parse_web_did(did_web)
    address = chain.alias_owner(did_web, block)
    if address is None:
        return None
    document = chain.dids.document_at(format_ethr_did(chain.chain_id, address), block)
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
