"""The `anchor` check: is this exact credential under a Merkle root its issuer put on chain?

The credential's leaf (docs/design.md, "Hashes and anchoring") plus the receipt's sibling path
give a root; the chain facts say whether the issuer anchored it, when and in which block (the
contract stores both) and in which transaction (its `Anchored` event). Nothing in the receipt is
trusted: the root is recomputed from the credential, every fact comes from the chain, and every
fact the receipt states must equal the chain's, so a receipt cannot be altered or forged without
failing. That block is what the other checks call "issuance": the DID document and the
accreditation are judged as of it.

Without a receipt the credential may still be a batch of one (root = leaf), or the node may know
its receipt (`AnchorLookup`); otherwise the answer is `unknown` (`no_receipt`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from node.credentials.merkle import hash_from_hex, leaf, process_proof
from node.did.document import iso_time
from node.verification.readers.facts import AnchorFact, ChainFacts
from node.verification.report import AnchorLookup, Check, failed, passed, unknown

NAME = "anchor"
RECEIPT_TYPE = "LernodeAnchorReceipt"


@dataclass(frozen=True)
class AnchorOutcome:
    """The check, and when it passed, the anchoring block and its time (unix seconds)."""

    check: Check
    block: int | None = None
    time: int | None = None


class _BadReceipt(Exception):
    def __init__(self, check: Check) -> None:
        super().__init__(check.detail)
        self.check = check


def check_anchor(
    credential_hash: bytes,
    issuer: str,
    chain: ChainFacts,
    receipt: Mapping[str, Any] | None,
    lookup: AnchorLookup | None = None,
) -> AnchorOutcome:
    """`anchor` for a credential of the chain issuer `issuer` (its address)."""
    own_leaf = leaf(credential_hash)
    if receipt is None:
        anchor = chain.anchor(issuer, own_leaf)
        if anchor is not None:
            return _anchored(own_leaf, anchor, receipt=None)
        receipt = lookup(credential_hash) if lookup is not None else None
        if receipt is None:
            return AnchorOutcome(
                unknown(
                    NAME,
                    "no_receipt",
                    "No anchor receipt was given and this credential is not anchored on its "
                    "own: keep the bundle {credential, receipt} the issuer provides.",
                )
            )
    try:
        root = _root_from_receipt(receipt, credential_hash, own_leaf, chain)
    except _BadReceipt as bad:
        return AnchorOutcome(bad.check)
    anchor = chain.anchor(issuer, root)
    if anchor is None:
        return AnchorOutcome(
            failed(
                NAME,
                "not_anchored",
                f"The issuer {issuer} has not anchored the Merkle root 0x{root.hex()} on chain "
                f"{hex(chain.chain_id)}.",
            )
        )
    return _anchored(root, anchor, receipt=receipt)


def wrong_chain(issuer_chain: int | None, network: str | None, chain_id: int) -> AnchorOutcome:
    """`anchor` for a did:ethr of another chain."""
    named = hex(issuer_chain) if issuer_chain else repr(network)
    return AnchorOutcome(
        failed(
            NAME,
            "wrong_chain",
            f"The issuer's DID names chain {named}; this verifier reads chain {hex(chain_id)}.",
        )
    )


def _anchored(
    root: bytes, anchor: AnchorFact, *, receipt: Mapping[str, Any] | None
) -> AnchorOutcome:
    """Anchors are keyed by (issuer, root), so `anchor` is the credential's own issuer's:
    nobody else can anchor in its name or in its way."""
    if receipt is not None:
        try:
            _check_receipt_facts(receipt, anchor)
        except _BadReceipt as bad:
            return AnchorOutcome(bad.check)
    block = anchor.block
    where = f" in block {block}" if block is not None else ""
    size = "on its own" if anchor.count == 1 else f"in a batch of {anchor.count}"
    return AnchorOutcome(
        passed(
            NAME,
            "anchored",
            f"Anchored by the issuer {size} at {iso_time(anchor.timestamp)}{where}.",
        ),
        block=block,
        time=anchor.timestamp,
    )


def _check_receipt_facts(receipt: Mapping[str, Any], anchor: AnchorFact) -> None:
    """Every fact a receipt states must be the chain's: an altered receipt fails."""
    if anchor.block is None or anchor.transaction is None:
        raise _BadReceipt(
            failed(NAME, "not_anchored", "The chain has no Anchored event for this root.")
        )
    issuer = receipt.get("issuer")
    facts: list[tuple[str, bool]] = [
        ("type", receipt.get("type") == RECEIPT_TYPE),
        ("issuer", isinstance(issuer, str) and issuer.lower() == anchor.issuer),
        ("count", _int(receipt.get("count")) == anchor.count),
        ("blockNumber", _int(receipt.get("blockNumber")) == anchor.block),
        ("blockTime", receipt.get("blockTime") == iso_time(anchor.timestamp)),
        (
            "transactionHash",
            str(receipt.get("transactionHash", "")).lower() == anchor.transaction,
        ),
    ]
    wrong = [name for name, ok in facts if not ok]
    if wrong:
        raise _BadReceipt(
            failed(
                NAME,
                "receipt_mismatch",
                f"The receipt's {', '.join(wrong)} do not match the chain's record of the anchor.",
            )
        )


def _root_from_receipt(
    receipt: Mapping[str, Any], credential_hash: bytes, own_leaf: bytes, chain: ChainFacts
) -> bytes:
    """The root the receipt's path leads to from this credential's leaf."""
    chain_id = _int(receipt.get("chainId"))
    if chain_id is None:
        raise _BadReceipt(failed(NAME, "invalid_receipt", "The receipt has no chainId."))
    if chain_id != chain.chain_id:
        raise _BadReceipt(
            failed(
                NAME,
                "wrong_chain",
                f"The receipt is for chain {hex(chain_id)}; this verifier reads chain "
                f"{hex(chain.chain_id)}.",
            )
        )
    contract = receipt.get("contract")
    if not isinstance(contract, str) or contract.lower() != chain.registry_address:
        raise _BadReceipt(
            failed(
                NAME,
                "wrong_chain",
                f"The receipt names registry {contract!r}; this verifier reads "
                f"{chain.registry_address}.",
            )
        )
    for field, own in (("credentialHash", credential_hash), ("leaf", own_leaf)):
        claimed = receipt.get(field)
        if claimed is None:
            raise _BadReceipt(failed(NAME, "invalid_receipt", f"The receipt has no {field}."))
        if _hash(claimed, field) != own:
            raise _BadReceipt(
                failed(
                    NAME,
                    "receipt_mismatch",
                    f"The receipt is for another credential (its {field} differs).",
                )
            )
    path = receipt.get("proof", [])
    if not isinstance(path, list):
        raise _BadReceipt(failed(NAME, "invalid_receipt", "The receipt's proof is not a list."))
    root = process_proof([_hash(item, "proof") for item in path], own_leaf)
    claimed_root = receipt.get("root")
    if claimed_root is None or _hash(claimed_root, "root") != root:
        raise _BadReceipt(
            failed(
                NAME,
                "receipt_mismatch",
                "The receipt's Merkle path does not lead from this credential to its root: "
                "the receipt is for another credential, or the credential was changed.",
            )
        )
    return root


def _hash(value: Any, field: str) -> bytes:
    raw = hash_from_hex(value)
    if raw is None:
        raise _BadReceipt(
            failed(NAME, "invalid_receipt", f"The receipt's {field} is not a 0x-hex 32-byte hash.")
        )
    return raw


def _int(value: Any) -> int | None:
    """An integer given as a JSON number, a decimal string or a 0x-hex string; None unless it
    can be a block number or log index (0 <= n < 2**63: what a node's JSON-RPC accepts)."""
    if isinstance(value, bool):
        return None
    number = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        try:
            number = int(value, 16) if value.lower().startswith("0x") else int(value, 10)
        except ValueError:
            return None
    return number if number is not None and 0 <= number < 2**63 else None
