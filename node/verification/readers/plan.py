"""What a verification will read from the chain, worked out before reading anything.

A chain source answers a whole verification in one round trip only if it knows the questions
first: for every credential of the submission (a CLR's embedded ones too) the issuer's address,
the roots its anchor may be under (its own leaf, and the root its receipt names), the status words
its entries point at, the DID aliases to map, and the newest block a receipt claims. Nothing here
is trusted: a receipt's root or block only decides what to read; the checks recompute and compare.
A fact the plan missed is still answered correctly (the source reads it separately).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from node.credentials.merkle import hash_from_hex, leaf
from node.verification.readers.facts import WORD_BITS, ReadPlan
from node.verification.submission import IssuerRef

#: `.../v1/status-lists/{issuerAddress}-{listNumber}[-{purpose}]`: the node's status list URLs.
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_LIST_URL = re.compile(r"/v1/status-lists/(0x[0-9a-f]{40})-(\d{1,18})(?:-[a-z]+)?$")
_MAX_INDEX = 2**32
#: The contract's purposes: revocation, suspension (read both for every entry).
_PURPOSES = (0, 1)


@dataclass(frozen=True)
class PlannedCredential:
    """One credential to verify, with the issuer it names and the receipts at hand."""

    credential: Mapping[str, Any]
    issuer: IssuerRef
    credential_hash: bytes
    receipt: Mapping[str, Any] | None


def plan_reads(items: Iterable[PlannedCredential]) -> ReadPlan:
    issuers: set[str] = set()
    roots: set[tuple[str, bytes]] = set()
    words: set[tuple[str, int, int, int]] = set()
    aliases: set[str] = set()
    min_block = 0
    for item in items:
        if item.issuer.on_chain_alias:
            aliases.add(item.issuer.did)
        address = item.issuer.address or _receipt_issuer(item.receipt)
        if address is None:
            continue
        issuers.add(address)
        if item.receipt is None:
            roots.add((address, leaf(item.credential_hash)))
        else:
            claimed = hash_from_hex(item.receipt.get("root"))
            if claimed is not None:
                roots.add((address, claimed))
            min_block = max(min_block, _block(item.receipt.get("blockNumber")))
        words.update(_status_words(item.credential))
    return ReadPlan(
        frozenset(issuers), frozenset(roots), frozenset(words), frozenset(aliases), min_block
    )


def _status_words(credential: Mapping[str, Any]) -> set[tuple[str, int, int, int]]:
    raw = credential.get("credentialStatus")
    entries = raw if isinstance(raw, list) else [raw]
    found: set[tuple[str, int, int, int]] = set()
    for entry in entries[:8]:
        if not isinstance(entry, Mapping):
            continue
        url, index = entry.get("statusListCredential"), entry.get("statusListIndex")
        match = _LIST_URL.search(url) if isinstance(url, str) else None
        if match is None or not isinstance(index, str | int) or not str(index).isdigit():
            continue
        if int(index) >= _MAX_INDEX:
            continue
        address, number = match[1], int(match[2])
        found.update((address, number, p, int(index) // WORD_BITS) for p in _PURPOSES)
    return found


def _receipt_issuer(receipt: Mapping[str, Any] | None) -> str | None:
    """The issuer address a receipt claims (a hypothesis for a did:web issuer, checked by the
    alias read in the same round trip)."""
    value = receipt.get("issuer") if receipt is not None else None
    if isinstance(value, str) and _ADDRESS.fullmatch(value):
        return value.lower()
    return None


def _block(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, str):
        try:
            number = int(value, 16) if value.lower().startswith("0x") else int(value, 10)
        except ValueError:
            return 0
        return max(number, 0)
    return 0
