"""The registries' ABI as the verifier's readers use it: calldata, decoded answers, log topics.

This is the one place that knows the shape of the contract calls verification makes (as
calldata for the VerificationLens, which runs them all in one `eth_call`), so that a contract ABI
change is a change here only. Anchors are keyed by (issuer, root): `anchorOf(issuer, root)`
answers the block time, block number and batch size (all zero: not anchored), and `Anchored` has
the issuer as its first topic and the root as its second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from node.chain.contracts.types import AnchorRecord, Grant, IssuerStatus, StatusChange
from node.did.projection import DID_EVENTS

ZERO_ADDRESS = "0x" + "00" * 20


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

    # -- CredentialRegistry ------------------------------------------------------------------------

    def anchor_call(self, issuer: str, root: bytes) -> bytes:
        return _encode(self.credential_registry, "anchorOf", to_checksum_address(issuer), root)

    def decode_anchor(self, data: bytes) -> AnchorRecord | None:
        """What `anchor_call` answered: None when the issuer never anchored the root."""
        timestamp, block, count = _decode(self.credential_registry, "anchorOf", data)
        if int(timestamp) == 0:
            return None
        return AnchorRecord(int(timestamp), int(block), int(count))

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
        """(issuer, root) of an `Anchored` log's topics."""
        if len(topics) < 3 or topics[0].lower() != self.anchored_topic:
            return None
        return "0x" + topics[1][-40:].lower(), bytes.fromhex(topics[2][2:])

    # -- IssuerRegistry ----------------------------------------------------------------------

    def grants_call(self, issuer: str) -> bytes:
        return _encode(self.issuer_registry, "accreditationHistory", to_checksum_address(issuer))

    def decode_grants(self, data: bytes) -> list[Grant]:
        (rows,) = _decode(self.issuer_registry, "accreditationHistory", data)
        return [Grant(bytes(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]

    def statuses_call(self, issuer: str) -> bytes:
        return _encode(self.issuer_registry, "statusHistory", to_checksum_address(issuer))

    def decode_statuses(self, data: bytes) -> list[StatusChange]:
        (rows,) = _decode(self.issuer_registry, "statusHistory", data)
        return [StatusChange(IssuerStatus(int(r[0])), int(r[1])) for r in rows]

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
