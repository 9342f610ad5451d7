"""The registries' ABI as the verifier's readers use it: calldata, decoded answers, log topics.

This is the one place that knows the shape of the contract calls verification makes, so that a
contract ABI change is a change here only. In particular the anchor: TEAM decision 1 keys anchors
by (issuer, root) (`anchorOf(address issuer, bytes32 root) returns (uint64 timestamp, uint64
blockNumber, uint32 count)`, `Anchored(address indexed issuer, bytes32 indexed root, ...)`); the
earlier ABI keyed them by root alone (`anchorOf(bytes32) returns (address issuer, uint64
timestamp, uint32 count)`, root as the first topic) and stored no block number. Which one a
deployment speaks is read from the committed artifact, so both decode correctly; with the earlier
ABI the anchoring block comes from the `Anchored` log instead of from state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any, cast

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_hash.auto import keccak
from eth_typing import ABIEvent, ABIFunction
from eth_utils import event_abi_to_log_topic, function_abi_to_4byte_selector, to_checksum_address
from eth_utils.abi import get_abi_input_types, get_abi_output_types

from node.chain.artifacts import load_artifact
from node.chain.bindings import CREDENTIAL_REGISTRY, DID_REGISTRY, ISSUER_REGISTRY
from node.did.projection import DID_EVENTS
from node.verification.report import Grant, IssuerStatusChange

ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class AnchorAnswer:
    """`anchorOf` decoded: who anchored (the earlier ABI says; the keyed one is asked for a given
    issuer), when, in which block (None: the earlier ABI does not store it) and how many."""

    issuer: str
    timestamp: int
    block: int | None
    count: int


def address_topic(address: str) -> str:
    """An address as a 32-byte log topic (0x, lowercase)."""
    return "0x" + "00" * 12 + address.lower().removeprefix("0x")


def alias_hash(did: str) -> bytes:
    """The key of `issuerOfAlias`: keccak256 of the alias's UTF-8 bytes."""
    return keccak(did.encode("utf-8"))


class RegistryAbi:
    """Encoders and decoders over the committed artifacts' ABIs (or ABIs given, for tests)."""

    def __init__(
        self,
        credential_registry: Sequence[Mapping[str, Any]],
        issuer_registry: Sequence[Mapping[str, Any]],
        did_registry: Sequence[Mapping[str, Any]],
    ) -> None:
        self.credential_registry = tuple(credential_registry)
        self.issuer_registry = tuple(issuer_registry)
        self.did_registry = tuple(did_registry)

    @cached_property
    def keyed_anchors(self) -> bool:
        """True for the (issuer, root)-keyed anchors of TEAM decision 1."""
        return len(_function(self.credential_registry, "anchorOf")["inputs"]) == 2

    @cached_property
    def has_aliases(self) -> bool:
        """Whether the IssuerRegistry binds DID aliases (`issuerOfAlias`, `AliasBound`)."""
        return any(item.get("name") == "issuerOfAlias" for item in self.issuer_registry)

    # -- CredentialRegistry ------------------------------------------------------------------------

    def anchor_call(self, issuer: str, root: bytes) -> bytes:
        if self.keyed_anchors:
            return _encode(self.credential_registry, "anchorOf", to_checksum_address(issuer), root)
        return _encode(self.credential_registry, "anchorOf", root)

    def decode_anchor(self, issuer: str, data: bytes) -> AnchorAnswer | None:
        """The anchor `anchor_call(issuer, root)` found, or None when nobody anchored the root
        (keyed: when `issuer` did not)."""
        if self.keyed_anchors:
            timestamp, block, count = _decode(self.credential_registry, "anchorOf", data)
            if int(timestamp) == 0:
                return None
            return AnchorAnswer(issuer.lower(), int(timestamp), int(block), int(count))
        anchoring, timestamp, count = _decode(self.credential_registry, "anchorOf", data)
        if str(anchoring).lower() == ZERO_ADDRESS:
            return None
        return AnchorAnswer(str(anchoring).lower(), int(timestamp), None, int(count))

    def status_word_call(self, issuer: str, list_number: int, purpose: int, word: int) -> bytes:
        return _encode(
            self.credential_registry,
            "statusWords",
            to_checksum_address(issuer),
            list_number,
            purpose,
            word,
            1,
        )

    def decode_status_word(self, data: bytes) -> int:
        (words,) = _decode(self.credential_registry, "statusWords", data)
        return int(words[0]) if words else 0

    @cached_property
    def anchored_topic(self) -> str:
        return _topic(self.credential_registry, "Anchored")

    def anchored_args(self, topics: Sequence[str]) -> tuple[str, bytes] | None:
        """(issuer, root) of an `Anchored` log's topics, in either ABI's topic order."""
        if len(topics) < 3 or topics[0].lower() != self.anchored_topic:
            return None
        first, second = bytes.fromhex(topics[1][2:]), bytes.fromhex(topics[2][2:])
        issuer_word, root = (first, second) if self.keyed_anchors else (second, first)
        return "0x" + issuer_word[12:].hex(), root

    # -- IssuerRegistry ----------------------------------------------------------------------

    def grants_call(self, issuer: str) -> bytes:
        return _encode(self.issuer_registry, "accreditationHistory", to_checksum_address(issuer))

    def decode_grants(self, data: bytes) -> list[Grant]:
        (rows,) = _decode(self.issuer_registry, "accreditationHistory", data)
        return [Grant(bytes(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]

    def statuses_call(self, issuer: str) -> bytes:
        return _encode(self.issuer_registry, "statusHistory", to_checksum_address(issuer))

    def decode_statuses(self, data: bytes) -> list[IssuerStatusChange]:
        (rows,) = _decode(self.issuer_registry, "statusHistory", data)
        return [IssuerStatusChange(status=int(r[0]), at=int(r[1])) for r in rows]

    def alias_call(self, did: str) -> bytes:
        return _encode(self.issuer_registry, "issuerOfAlias", alias_hash(did))

    def decode_address(self, data: bytes) -> str | None:
        """An address answer; None for the zero address."""
        (value,) = abi_decode(["address"], data)
        found = str(value).lower()
        return None if found == ZERO_ADDRESS else found

    # -- DID registry ------------------------------------------------------------------------

    @cached_property
    def did_topics(self) -> list[str]:
        return [_topic(self.did_registry, name) for name in DID_EVENTS]


@cache
def registry_abi() -> RegistryAbi:
    """The ABIs of the committed artifacts."""
    return RegistryAbi(
        load_artifact(CREDENTIAL_REGISTRY).abi,
        load_artifact(ISSUER_REGISTRY).abi,
        load_artifact(DID_REGISTRY).abi,
    )


def _function(abi: Sequence[Mapping[str, Any]], name: str) -> ABIFunction:
    for item in abi:
        if item.get("type") == "function" and item.get("name") == name:
            return cast(ABIFunction, dict(item))
    raise KeyError(f"the ABI has no function {name}")


def _encode(abi: Sequence[Mapping[str, Any]], name: str, *args: Any) -> bytes:
    function = _function(abi, name)
    types = list(get_abi_input_types(function))
    return bytes(function_abi_to_4byte_selector(function)) + abi_encode(types, list(args))


def _decode(abi: Sequence[Mapping[str, Any]], name: str, data: bytes) -> tuple[Any, ...]:
    return tuple(abi_decode(list(get_abi_output_types(_function(abi, name))), data))


def _topic(abi: Sequence[Mapping[str, Any]], name: str) -> str:
    for item in abi:
        if item.get("type") == "event" and item.get("name") == name:
            return "0x" + bytes(event_abi_to_log_topic(cast(ABIEvent, dict(item)))).hex()
    raise KeyError(f"the ABI has no event {name}")
