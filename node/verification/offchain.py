"""DID documents of DIDs that are not on the chain: presentation holders and off-chain issuers.

`OffChainDids` is the `DidDocumentSource` the engine and `presentations.py` use for `did:key`
and `did:web`: it hands each DID to the resolver wired for its method (the DID layer's did:web
resolver does HTTPS with its SSRF guard; the node wires it in `node.wiring.runtime`). A DID of a
method with no resolver is `method_not_supported`.

`did:key` needs no resolver: the DID *is* its Ed25519 public key (multicodec 0xed01), and its
document has exactly one verification method, `did:key:z6Mk...#z6Mk...`, referenced from every
relationship (the did:key method specification). `DidKeyDocuments` builds it, with no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from node.credentials.multikey import decode_public_key
from node.did.errors import InvalidDid, MethodNotSupported
from node.did.sources import DidDocumentSource
from node.errors import InvalidInput

_RELATIONSHIPS = (
    "authentication",
    "assertionMethod",
    "capabilityInvocation",
    "capabilityDelegation",
)


class DidKeyDocuments:
    """`DidDocumentSource` for Ed25519 `did:key` DIDs (pure)."""

    def document_at(self, did: str, block: int | None) -> dict[str, Any]:
        identifier = did.removeprefix("did:key:")
        if not did.startswith("did:key:") or ":" in identifier or "#" in identifier:
            raise InvalidDid(f"not a did:key: {did[:120]!r}")
        try:
            decode_public_key(identifier)
        except InvalidInput as error:
            raise InvalidDid(f"{did[:120]!r} is not an Ed25519 did:key ({error.detail})") from None
        method_id = f"{did}#{identifier}"
        document: dict[str, Any] = {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": did,
            "verificationMethod": [
                {
                    "id": method_id,
                    "type": "Multikey",
                    "controller": did,
                    "publicKeyMultibase": identifier,
                }
            ],
        }
        for relationship in _RELATIONSHIPS:
            document[relationship] = [method_id]
        return document


class OffChainDids:
    """`DidDocumentSource` dispatching on the DID method (see the module docstring)."""

    def __init__(self, by_method: Mapping[str, DidDocumentSource] | None = None) -> None:
        self.by_method: dict[str, DidDocumentSource] = {"key": DidKeyDocuments()}
        self.by_method.update(by_method or {})

    def document_at(self, did: str, block: int | None) -> dict[str, Any]:
        parts = did.split(":", 2) if isinstance(did, str) else []
        if len(parts) < 3 or parts[0] != "did":
            raise InvalidDid(f"not a DID: {str(did)[:120]!r}")
        source = self.by_method.get(parts[1])
        if source is None:
            raise MethodNotSupported(
                f"this verifier resolves no did:{parts[1]} DIDs", method=parts[1]
            )
        return source.document_at(did, block)
