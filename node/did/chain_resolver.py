"""DID documents straight from the chain, for a verifier that has an RPC URL and nothing else.

The node resolves DIDs from its indexer's tables; the standalone verifier (`lernode verify`) has
no database, so it walks the ERC-1056 change history over RPC (`did_history`) and replays it with
the same document builder. Both therefore see the same document, and the same one as
`ethr-did-resolver`.

`document_at(did, block)` is the document as of `block` (later changes hidden, delegate and
attribute validity judged at that block's time), which is what "the issuer's key as of
issuance" means; `block=None` is the latest document.
"""

from __future__ import annotations

from typing import Any

from node.chain.client import ChainClient, chain_read
from node.chain.contracts.did_registry import DidRegistry
from node.did.chain_history import fetch_did_history
from node.did.document import build_document
from node.did.errors import DidNotFound
from node.did.identifier import parse_ethr_did


class ChainDidResolver:
    """`DidDocumentSource` for one chain's EthereumDIDRegistry, over RPC only."""

    def __init__(self, client: ChainClient, did_registry: DidRegistry) -> None:
        self.client = client
        self.registry = did_registry

    def document_at(self, did: str, block: int | None) -> dict[str, Any]:
        parsed = parse_ethr_did(did)
        chain_id = self.client.chain_id
        if parsed.chain_id != chain_id:
            raise DidNotFound(
                f"{did} is not a DID of chain {hex(chain_id)}", code="unknown_network"
            )
        block_id: int | str = "latest" if block is None else block
        history = chain_read(
            lambda: fetch_did_history(
                self.client,
                self.registry,
                parsed.address,
                block=block_id,  # type: ignore[arg-type]
            )
        )
        if block is None:
            now = chain_read(self._latest_time)
        else:
            now = chain_read(lambda: self.client.block_timestamp(block))
        return build_document(parsed, chain_id, history, now=now, at_block=block).document

    def _latest_time(self) -> int:
        latest = self.client.block("latest")
        return int(latest["timestamp"]) if latest else 0
