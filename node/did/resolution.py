"""Resolving `did:ethr` DIDs of our chain from the indexer's tables.

Why from the database: the reference resolver walks the chain backwards one `eth_getLogs` per
changed block, on every resolution. The indexer already holds every ERC-1056 event in order, so a
resolution here is one indexed query for the identity's rows plus the pure replay in
`node.did.document`, which gives the same document as `ethr-did-resolver`.

Versions: `version_id` is a block number (as in ethr-did-resolver: the document after that
block, validity judged at that block's time); `version_time` is an instant (the document after the
last change at or before it, validity judged at that instant). `resolve_key` is what credential
verification needs: the verification method a DID URL names, as of the issuance instant.

Other methods: `others` maps a method name to a `DidDocumentSource` (by default the pure
`did:key` resolver; the node adds the did:web documents it hosts). They have no versions, so
`versionId` / `versionTime` do not apply to them. `dereference_fragment` picks the resource a DID
URL's fragment names out of a resolved document (a verification method or a service).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hexbytes import HexBytes
from sqlmodel import col, func, select

from node.did.did_key import DidKeyResolver
from node.did.document import (
    AttributeChanged,
    DelegateChanged,
    DidEvent,
    DocumentVersion,
    OwnerChanged,
    build_document,
    iso_time,
)
from node.did.errors import DidNotFound, InvalidResolutionOptions
from node.did.identifier import EthrDid, did_method, parse_did_url, parse_ethr_did, split_did_url
from node.store.db import Database
from node.store.models import DidChange, DidChangeKind

if TYPE_CHECKING:
    from node.did.sources import DidDocumentSource

#: Verification relationships a method can be referenced from.
RELATIONSHIPS = ("authentication", "assertionMethod", "keyAgreement")
DID_LD_JSON = "application/did+ld+json"


@dataclass(frozen=True)
class ResolutionResult:
    """The DID Resolution result: document, resolution metadata and document metadata."""

    did_document: dict[str, Any]
    did_resolution_metadata: dict[str, Any]
    did_document_metadata: dict[str, Any]

    @property
    def deactivated(self) -> bool:
        return bool(self.did_document_metadata.get("deactivated"))

    def as_json(self) -> dict[str, Any]:
        return {
            "didDocument": self.did_document,
            "didResolutionMetadata": self.did_resolution_metadata,
            "didDocumentMetadata": self.did_document_metadata,
        }


@dataclass(frozen=True)
class ResolvedKey:
    """A verification method as of an instant, with the relationships that reference it."""

    method: dict[str, Any]
    relationships: frozenset[str] = field(default_factory=frozenset)

    def allows(self, relationship: str) -> bool:
        """Whether the DID controller authorised this key for `relationship` (e.g. assertion)."""
        return relationship in self.relationships


_FOREVER = 2**256


@dataclass(frozen=True)
class _Snapshot:
    head: tuple[int, int]
    valid_until: int
    version: DocumentVersion


class Resolver:
    """Resolves DIDs of one chain's EthereumDIDRegistry from the database.

    `clock` gives the current unix time (tests pin it); `block_time` looks up the timestamp of a
    block that no indexed event of the DID sits in, for `version_id`s that are not change blocks
    (the runtime passes `ChainClient.block_timestamp`; without it such versions are `notFound`).
    """

    def __init__(
        self,
        db: Database,
        chain_id: int,
        registry_address: str,
        *,
        clock: Callable[[], float] = time.time,
        block_time: Callable[[int], int | None] | None = None,
        others: Mapping[str, DidDocumentSource] | None = None,
    ) -> None:
        self.db = db
        self.others: dict[str, DidDocumentSource] = (
            {"key": DidKeyResolver()} if others is None else dict(others)
        )
        self.chain_id = chain_id
        self.registry = registry_address.lower()
        self.clock = clock
        self.block_time = block_time
        self._snapshots: dict[str, _Snapshot] = {}

    def resolve(
        self,
        did: str,
        version_id: int | None = None,
        version_time: datetime | None = None,
        *,
        content_type: str = DID_LD_JSON,
    ) -> ResolutionResult:
        """Resolve `did`; `invalid_did`, `method_not_supported`, `did_not_found` otherwise."""
        if version_id is not None and version_time is not None:
            raise InvalidResolutionOptions("give versionId or versionTime, not both")
        method = did_method(did)
        if method != "ethr" and method in self.others:
            return ResolutionResult(
                did_document=self.others[method].document_at(did, None),
                did_resolution_metadata={"contentType": content_type},
                did_document_metadata={},
            )
        parsed = self._ours(parse_ethr_did(did))
        if version_id is None and version_time is None:
            return self._result(self._latest(parsed), content_type)
        history = self._history(parsed)
        if version_id is not None:
            if version_id < 0:
                raise InvalidResolutionOptions(f"versionId must be a block number: {version_id}")
            now, at_block = self._time_of_block(version_id, history), version_id
        elif version_time is not None:
            now = _unix(version_time)
            at_block = max((e.block_number for e in history if e.block_time <= now), default=0)
        else:
            now, at_block = int(self.clock()), None
        version = build_document(parsed, self.chain_id, history, now=now, at_block=at_block)
        return self._result(version, content_type)

    @staticmethod
    def _result(version: DocumentVersion, content_type: str) -> ResolutionResult:
        return ResolutionResult(
            did_document=version.with_context(),
            did_resolution_metadata={"contentType": content_type},
            did_document_metadata=_metadata(version),
        )

    def _latest(self, did: EthrDid) -> DocumentVersion:
        """The current document, rebuilt only when the identity changed or an entry expired.

        A change (or a reorg rewriting one) alters the identity's row count or newest row id;
        otherwise the document only changes when a delegate or attribute reaches its `validTo`.
        So most resolutions cost one indexed aggregate query, whatever the history's length.
        """
        now = int(self.clock())
        head = self._head(did)
        cached = self._snapshots.get(did.did)
        if cached is not None and cached.head == head and now < cached.valid_until:
            return cached.version
        history = self._history(did)
        version = build_document(did, self.chain_id, history, now=now)
        expiries = [
            e.valid_to for e in history if isinstance(e, DelegateChanged | AttributeChanged)
        ]
        valid_until = min((t for t in expiries if t > now), default=_FOREVER)
        self._snapshots[did.did] = _Snapshot(head, valid_until, version)
        return version

    def _head(self, did: EthrDid) -> tuple[int, int]:
        with self.db.reading() as session:
            count, newest = session.exec(
                select(func.count(), func.max(DidChange.id))
                .where(col(DidChange.contract) == self.registry)
                .where(col(DidChange.identity) == did.address)
            ).one()
        return int(count), int(newest or 0)

    def resolve_key(self, did_url: str, at_time: datetime | int) -> ResolvedKey:
        """The verification method `did_url` names as it was at `at_time`, or `did_not_found`.

        A key published after `at_time`, expired or revoked by then, or of a DID deactivated by
        then, is not found: a credential signed with it was not signed by the DID's controller.
        """
        url = parse_did_url(did_url)
        if url.fragment is None:
            raise InvalidResolutionOptions(
                f"{did_url!r} names a DID, not one of its verification methods",
                code="invalid_did_url",
            )
        parsed = self._ours(url.did)
        now = at_time if isinstance(at_time, int) else _unix(at_time)
        history = self._history(parsed)
        at_block = max((e.block_number for e in history if e.block_time <= now), default=0)
        version = build_document(parsed, self.chain_id, history, now=now, at_block=at_block)
        document = version.document
        for method in document["verificationMethod"]:
            if method["id"] == url.base:
                referenced = frozenset(r for r in RELATIONSHIPS if url.base in document.get(r, []))
                return ResolvedKey(method=method, relationships=referenced)
        raise DidNotFound(
            f"{url.base} is not a verification method of {parsed.did} at {iso_time(now)}"
            + (" (the DID was deactivated)" if version.deactivated else ""),
            code="verification_method_not_found",
        )

    # -- helpers --------------------------------------------------------------------------------

    def _ours(self, did: EthrDid) -> EthrDid:
        if did.chain_id != self.chain_id:
            network = did.network or "mainnet"
            raise DidNotFound(
                f"{did.did} is on network {network!r}; this node resolves did:ethr on chain "
                f"{hex(self.chain_id)} only",
                code="unknown_network",
            )
        return did

    def _history(self, did: EthrDid) -> list[DidEvent]:
        return self.history_of(did.address)

    def history_of(self, address: str, *, through_block: int | None = None) -> list[DidEvent]:
        """The identity's events in chain order (up to `through_block`): one query on
        (contract, identity, order)."""
        query = (
            select(DidChange)
            .where(col(DidChange.contract) == self.registry)
            .where(col(DidChange.identity) == address.lower())
        )
        if through_block is not None:
            query = query.where(col(DidChange.block_number) <= through_block)
        with self.db.reading() as session:
            rows = session.exec(
                query.order_by(col(DidChange.block_number), col(DidChange.log_index))
            ).all()
        return [_event(row) for row in rows]

    def _time_of_block(self, number: int, history: Sequence[DidEvent]) -> int:
        for event in history:
            if event.block_number == number:
                return event.block_time
        with self.db.reading() as session:
            indexed = session.exec(
                select(DidChange.block_time).where(col(DidChange.block_number) == number).limit(1)
            ).first()
        if indexed is not None:
            return int(indexed)
        timestamp = self.block_time(number) if self.block_time is not None else None
        if timestamp is None:
            raise DidNotFound(f"block {number} is unknown to this node", code="version_not_found")
        return timestamp


def dereference_fragment(document: Mapping[str, Any], did_url: str) -> dict[str, Any]:
    """The verification method or service of `document` that `did_url` (`did#fragment`) names,
    matched by absolute or relative (`#fragment`) id; `verification_method_not_found` if none."""
    did, fragment = split_did_url(did_url)
    if fragment is None:
        raise InvalidResolutionOptions(
            f"{did_url[:120]!r} has no fragment to dereference", code="invalid_did_url"
        )
    wanted = {f"{did}#{fragment}", f"#{fragment}"}
    embedded = [
        entry
        for relationship in (*RELATIONSHIPS, "capabilityInvocation", "capabilityDelegation")
        for entry in document.get(relationship, []) or []
        if isinstance(entry, Mapping)
    ]
    listed = [*document.get("verificationMethod", []), *document.get("service", [])]
    for resource in [*listed, *embedded]:
        if isinstance(resource, Mapping) and resource.get("id") in wanted:
            return copy.deepcopy(dict(resource))
    raise DidNotFound(
        f"{did_url[:200]} names nothing in the DID document of {did}",
        code="verification_method_not_found",
    )


def _metadata(version: DocumentVersion) -> dict[str, Any]:
    """ethr-did-resolver's metadata plus `created`: the time of the identity's first change, when
    the resolved version includes it (an ERC-1056 identity exists before any change, so a DID
    that never changed has no `created`)."""
    metadata = version.metadata()
    if version.created is not None and version.version_id is not None:
        metadata = {"created": iso_time(version.created), **metadata}
    return metadata


def _event(row: DidChange) -> DidEvent:
    if row.kind == DidChangeKind.OWNER:
        return OwnerChanged(row.block_number, row.block_time, owner=str(row.owner))
    if row.kind == DidChangeKind.DELEGATE:
        return DelegateChanged(
            row.block_number,
            row.block_time,
            delegate_type=bytes(HexBytes(str(row.delegate_type))),
            delegate=str(row.delegate),
            valid_to=int(row.valid_to or 0),
        )
    return AttributeChanged(
        row.block_number,
        row.block_time,
        name=bytes(HexBytes(str(row.name))),
        value=bytes(HexBytes(str(row.value))),
        valid_to=int(row.valid_to or 0),
    )


def _unix(instant: datetime) -> int:
    if instant.tzinfo is None:
        raise InvalidResolutionOptions("versionTime needs a time zone (e.g. 2025-01-01T00:00:00Z)")
    return int(instant.timestamp())
