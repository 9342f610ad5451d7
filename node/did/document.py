"""The DID document of a `did:ethr`, rebuilt from its ERC-1056 change history.

ERC-1056 keeps almost nothing in storage: owners, delegates and attributes are events, and a
document is a *replay* of the identity's events. This module is that replay, written to give the
same document and metadata as `ethr-did-resolver` 11.1.3 (`wrapDidDocument` in its resolver),
so that anyone resolving our issuers' DIDs with the reference resolver sees what we see:

- one `#controller` method (EcdsaSecp256k1RecoveryMethod2020, `blockchainAccountId` =
  `eip155:<chain>:<owner, checksummed>`), plus `#controllerKey` for public-key DIDs whose owner
  is still the identity itself;
- every delegate and `did/pub/...` attribute event bumps one counter, valid or not, which numbers
  the `#delegate-N` ids, and every `did/svc/...` event bumps another for `#service-N`. So ids
  stay stable as the history grows, and an event that is later revoked or expires leaves a gap;
- an entry is keyed by (event name, type or name, delegate or value): re-adding a key renumbers
  it in place, a revocation or expiry removes it, a later re-add appends it;
- an event counts when `validTo >= now`; an owner change to the zero address deactivates the DID
  and stops the replay;
- with a version (block number), later events only yield `nextVersionId`.

Two quirks are reproduced on purpose because the reference resolver has them: revoked `enc`
keys stay referenced from `keyAgreement`, and a `did/pub/...` name with characters outside
`[A-Za-z0-9_/]` bumps the counter only when it is *not* valid.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import base58
from eth_utils import to_checksum_address

from node.did.attributes import decode_bytes32
from node.did.identifier import EthrDid

NULL_ADDRESS = "0x" + "00" * 20
#: `@context` of documents returned as JSON-LD (what ethr-did-resolver adds).
DID_CONTEXT: tuple[str, ...] = (
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/suites/secp256k1recovery-2020/v2",
    "https://w3id.org/security/v3-unstable",
)
RECOVERY_METHOD = "EcdsaSecp256k1RecoveryMethod2020"
SECP256K1_KEY = "EcdsaSecp256k1VerificationKey2019"

OWNER_CHANGED = "DIDOwnerChanged"
DELEGATE_CHANGED = "DIDDelegateChanged"
ATTRIBUTE_CHANGED = "DIDAttributeChanged"

_ATTRIBUTE_NAME = re.compile(r"did/(pub|svc)/(\w+)(/(\w+))?(/(\w+))?", re.ASCII)
#: `did/pub/<algorithm>/<purpose>`: purpose words and the type suffix each stands for.
_PURPOSE_TYPES = {
    "sigAuth": "SignatureAuthentication2018",
    "veriKey": "VerificationKey2018",
    "enc": "KeyAgreementKey2019",
}
#: `<algorithm><type suffix>` -> verification method type; anything else is just the algorithm.
_METHOD_TYPES = {
    "Secp256k1VerificationKey2018": SECP256K1_KEY,
    "Ed25519SignatureAuthentication2018": "Ed25519VerificationKey2018",
    "Secp256k1SignatureAuthentication2018": SECP256K1_KEY,
    "RSAVerificationKey2018": "RSAVerificationKey2018",
    "Ed25519VerificationKey2018": "Ed25519VerificationKey2018",
    "X25519KeyAgreementKey2019": "X25519KeyAgreementKey2019",
}


@dataclass(frozen=True)
class OwnerChanged:
    block_number: int
    block_time: int
    owner: str


@dataclass(frozen=True)
class DelegateChanged:
    block_number: int
    block_time: int
    delegate_type: bytes
    delegate: str
    valid_to: int


@dataclass(frozen=True)
class AttributeChanged:
    block_number: int
    block_time: int
    name: bytes
    value: bytes
    valid_to: int


DidEvent = OwnerChanged | DelegateChanged | AttributeChanged


@dataclass(frozen=True)
class DocumentVersion:
    """One version of a DID document with what its metadata needs.

    `document` has no `@context`; `with_context` adds it. Block times are unix seconds.
    """

    document: dict[str, Any]
    deactivated: bool
    version_id: int | None
    version_time: int | None
    next_version_id: int | None
    next_version_time: int | None
    created: int | None

    def with_context(self) -> dict[str, Any]:
        return {**self.document, "@context": list(DID_CONTEXT)}

    def metadata(self) -> dict[str, Any]:
        """`didDocumentMetadata` as ethr-did-resolver gives it (block numbers as strings)."""
        meta: dict[str, Any] = {}
        if self.deactivated:
            meta["deactivated"] = True
        if self.version_id is not None and self.version_time is not None:
            meta["versionId"] = str(self.version_id)
            meta["updated"] = iso_time(self.version_time)
        if self.next_version_id is not None and self.next_version_time is not None:
            meta["nextVersionId"] = str(self.next_version_id)
            meta["nextUpdate"] = iso_time(self.next_version_time)
        return meta


@functools.lru_cache(maxsize=4096)
def iso_time(timestamp: int) -> str:
    """XML datetime in UTC without fractions, as the resolver prints block times (kept: every
    verification prints its anchoring block's time twice, and few blocks hold anchors)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_document(
    did: EthrDid,
    chain_id: int,
    history: Sequence[DidEvent],
    *,
    now: int,
    at_block: int | None = None,
) -> DocumentVersion:
    """Replay `history` (chronological, log order within a block) into one document version.

    `now` (unix seconds) decides which delegates and attributes are still valid; `at_block`
    (None = latest) hides later events, which then only name the next version.
    """
    history = [event for event in history if readable(event)]
    replay = _Replay(did.did, chain_id, to_checksum_address(did.address))
    version_id = 0
    next_version_id: int | None = None
    block_times: dict[int, int] = {}
    for event in history:
        block_times.setdefault(event.block_number, event.block_time)
        if at_block is not None and event.block_number > at_block:
            if next_version_id is None or event.block_number < next_version_id:
                next_version_id = event.block_number
            continue
        version_id = max(version_id, event.block_number)
        if not replay.apply(event, now):
            break
    document = replay.document(did.public_key)
    return DocumentVersion(
        document=document,
        deactivated=replay.deactivated,
        version_id=version_id or None,
        version_time=block_times.get(version_id),
        next_version_id=next_version_id,
        next_version_time=None if next_version_id is None else block_times[next_version_id],
        created=history[0].block_time if history else None,
    )


def readable(event: DidEvent) -> bool:
    """False for events whose bytes32 fields are not UTF-8: the reference resolver skips them."""
    if isinstance(event, DelegateChanged):
        return decode_bytes32(event.delegate_type) is not None
    if isinstance(event, AttributeChanged):
        return decode_bytes32(event.name) is not None
    return True


class _Replay:
    """The mutable state of one replay; `apply` mirrors one iteration of the reference loop."""

    def __init__(self, did: str, chain_id: int, address: str) -> None:
        self.did = did
        self.chain_id = chain_id
        self.address = address
        self.controller = address
        self.deactivated = False
        self.delegate_count = 0
        self.service_count = 0
        # Insertion-ordered maps keyed by the event's identity, like the reference's objects.
        self.auth: dict[str, str] = {}
        self.key_agreement: dict[str, str] = {}
        self.signing: dict[str, str] = {}
        self.methods: dict[str, dict[str, Any]] = {}
        self.services: dict[str, dict[str, Any]] = {}

    def apply(self, event: DidEvent, now: int) -> bool:
        """Apply one (readable) event; False when the replay must stop (DID deactivated)."""
        if isinstance(event, OwnerChanged):
            self.controller = to_checksum_address(event.owner)
            if self.controller == NULL_ADDRESS:
                self.deactivated = True
                return False
            return True
        key = _entry_key(event)
        if event.valid_to and event.valid_to >= now:
            if isinstance(event, DelegateChanged):
                self._add_delegate(event, key)
            else:
                self._add_attribute(event, key)
            return True
        self._count_lapsed(event)
        for entries in (self.auth, self.signing, self.methods, self.services):
            entries.pop(key, None)
        return True

    def _count_lapsed(self, event: DelegateChanged | AttributeChanged) -> None:
        """A revoked or expired entry still takes its number, so later ids do not shift."""
        if isinstance(event, DelegateChanged):
            self.delegate_count += 1
            return
        name = decode_bytes32(event.name) or ""
        if name.startswith("did/pub/"):
            self.delegate_count += 1
        elif name.startswith("did/svc/"):
            self.service_count += 1

    def _add_delegate(self, event: DelegateChanged, key: str) -> None:
        self.delegate_count += 1
        method_id = f"{self.did}#delegate-{self.delegate_count}"
        delegate_type = decode_bytes32(event.delegate_type)
        if delegate_type not in ("sigAuth", "veriKey"):
            return
        if delegate_type == "sigAuth":
            self.auth[key] = method_id
        self.methods[key] = {
            "id": method_id,
            "type": RECOVERY_METHOD,
            "controller": self.did,
            "blockchainAccountId": f"eip155:{self.chain_id}:{to_checksum_address(event.delegate)}",
        }
        self.signing[key] = method_id

    def _add_attribute(self, event: AttributeChanged, key: str) -> None:
        match = _ATTRIBUTE_NAME.fullmatch(decode_bytes32(event.name) or "")
        if match is None:
            return
        section, algorithm, purpose, encoding = match[1], match[2], match[4], match[6]
        if section == "svc":
            self._add_service(event, key, algorithm)
            return
        self.delegate_count += 1
        method_id = f"{self.did}#delegate-{self.delegate_count}"
        suffix = _PURPOSE_TYPES.get(purpose, purpose) if purpose is not None else "undefined"
        method: dict[str, Any] = {
            "id": method_id,
            "type": _METHOD_TYPES.get(f"{algorithm}{suffix}", algorithm),
            "controller": self.did,
        }
        key_material = _render_key(event.value, encoding)
        if key_material is None:
            return
        method.update(key_material)
        self.methods[key] = method
        if purpose == "sigAuth":
            self.auth[key] = method_id
            self.signing[key] = method_id
        elif purpose == "enc":
            self.key_agreement[key] = method_id
        else:
            self.signing[key] = method_id

    def _add_service(self, event: AttributeChanged, key: str, service_type: str) -> None:
        self.service_count += 1
        try:
            text = event.value.decode("utf-8")
        except UnicodeDecodeError:
            return
        self.services[key] = {
            "id": f"{self.did}#service-{self.service_count}",
            "type": service_type,
            "serviceEndpoint": _json_or_text(text),
        }

    def document(self, public_key: str | None) -> dict[str, Any]:
        if self.deactivated:
            return {
                "id": self.did,
                "verificationMethod": [],
                "authentication": [],
                "assertionMethod": [],
            }
        controller_id = f"{self.did}#controller"
        methods: list[dict[str, Any]] = [
            {
                "id": controller_id,
                "type": RECOVERY_METHOD,
                "controller": self.did,
                "blockchainAccountId": f"eip155:{self.chain_id}:{self.controller}",
            }
        ]
        references = [controller_id]
        if public_key is not None and self.controller == self.address:
            key_id = f"{self.did}#controllerKey"
            methods.append(
                {
                    "id": key_id,
                    "type": SECP256K1_KEY,
                    "controller": self.did,
                    "publicKeyHex": public_key.removeprefix("0x"),
                }
            )
            references.append(key_id)
        document: dict[str, Any] = {
            "id": self.did,
            "verificationMethod": methods + list(self.methods.values()),
            "authentication": references + list(self.auth.values()),
            "assertionMethod": references + list(self.signing.values()),
        }
        if self.services:
            document["service"] = list(self.services.values())
        if self.key_agreement:
            document["keyAgreement"] = list(self.key_agreement.values())
        return document


def _entry_key(event: DelegateChanged | AttributeChanged) -> str:
    """The reference's `eventIndex`: `<event>-<type or name>-<delegate or value>`."""
    if isinstance(event, DelegateChanged):
        # An empty delegate type is falsy in JavaScript, so the (absent) name is printed instead.
        delegate_type = decode_bytes32(event.delegate_type) or "undefined"
        return f"{DELEGATE_CHANGED}-{delegate_type}-{to_checksum_address(event.delegate)}"
    return f"{ATTRIBUTE_CHANGED}-{decode_bytes32(event.name)}-0x{event.value.hex()}"


def _render_key(value: bytes, encoding: str | None) -> dict[str, str] | None:
    """The key property for an attribute's encoding; None when the value does not fit it."""
    if encoding in (None, "hex"):
        return {"publicKeyHex": value.hex()}
    if encoding == "base64":
        return {"publicKeyBase64": base64.b64encode(value).decode("ascii")}
    if encoding == "base58":
        return {"publicKeyBase58": base58.b58encode(value).decode("ascii")}
    if encoding == "pem":
        try:
            return {"publicKeyPem": value.decode("utf-8")}
        except UnicodeDecodeError:
            return None
    return {"value": value.hex()}


def _json_or_text(text: str) -> Any:
    """`JSON.parse(text)`, or the text itself when it is not JSON (JavaScript's JSON grammar)."""

    def reject(constant: str) -> Any:
        raise ValueError(constant)

    try:
        return json.loads(text, parse_constant=reject)
    except ValueError:
        return text
