"""Chain facts are shared by the verifications at one index state, and so are the DID documents
replayed from them: one replay per (DID, block, time), handed out read only, so no verification
can change the document another one judges keys by."""

from __future__ import annotations

from typing import Any

import base58
import pytest

from node.did.document import AttributeChanged, DidEvent
from node.verification.readers.facts import ChainState
from tests.support.verification_fakes import EmptyChain

ISSUER = "0x" + "1a" * 20
DID = f"did:ethr:0x7a69:{ISSUER}"
KEY = bytes(range(32))
PUBLISHED_AT, EXPIRES_AT = 1_750_000_000, 1_760_000_000


def ed25519_key_published(block: int, valid_to: int) -> AttributeChanged:
    name = b"did/pub/Ed25519/veriKey/base58".ljust(32, b"\0")
    return AttributeChanged(block, PUBLISHED_AT, name, KEY, valid_to)


class OneDid(EmptyChain):
    """Facts holding one DID history; counts how often it is read."""

    def __init__(self, history: list[DidEvent]) -> None:
        super().__init__(ChainState(100, PUBLISHED_AT + 10, "index"))
        self.history = history
        self.reads = 0

    def did_history(self, address: str) -> list[DidEvent]:
        self.reads += 1
        return self.history


def method_ids(document: Any) -> list[str]:
    return [method["id"].rpartition("#")[2] for method in document["verificationMethod"]]


def test_a_document_is_replayed_once_per_block_and_time_and_shared_read_only() -> None:
    facts = OneDid([ed25519_key_published(10, EXPIRES_AT)])
    first = facts.did_document(DID, 50, PUBLISHED_AT + 5)
    again = facts.did_document(DID, 50, PUBLISHED_AT + 5)
    assert again is first and facts.reads == 1
    assert method_ids(first) == ["controller", "delegate-1"]
    assert first["verificationMethod"][1]["publicKeyBase58"] == base58.b58encode(KEY).decode()
    with pytest.raises(TypeError):
        first["assertionMethod"] = []
    with pytest.raises(TypeError):
        first["verificationMethod"][1]["publicKeyBase58"] = "another key"
    with pytest.raises(AttributeError):
        first["assertionMethod"].append(f"{DID}#delegate-9")
    assert facts.did_document(DID, 50, PUBLISHED_AT + 5) == first


def test_another_block_or_time_is_another_document() -> None:
    facts = OneDid([ed25519_key_published(60, EXPIRES_AT)])
    before_the_key = facts.did_document(DID, 50, PUBLISHED_AT)
    with_the_key = facts.did_document(DID, 60, PUBLISHED_AT)
    after_it_expired = facts.did_document(DID, 60, EXPIRES_AT + 1)
    assert method_ids(before_the_key) == ["controller"]
    assert method_ids(with_the_key) == ["controller", "delegate-1"]
    assert method_ids(after_it_expired) == ["controller"]
    latest = facts.did_document(DID, None, None)  # as of the facts' block and time
    assert method_ids(latest) == ["controller", "delegate-1"]
