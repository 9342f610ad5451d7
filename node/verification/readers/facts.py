"""The verifier's one read model of the chain: `ChainFacts`, as of one block.

A verification asks its `ChainSource` once for the facts its plan needs (`ReadPlan`) and then
judges every credential of the submission against that one answer: anchors with their block and
time, the issuer's accreditation and status histories (stored on chain with their times, so a
past instant is judged from current state), status words, DID change histories and DID aliases.
Two sources answer: the node's event index (`indexed.py`: no JSON-RPC at all) and the chain itself
(`rpc.py`: one state read through the VerificationLens plus one `eth_getLogs`). Neither needs
archive state: nothing is ever read "as of" an old block.

`HistoryFacts` derives what the checks ask (`is_accredited`, `is_status_set`, `did_document`)
from those primitives the way the contracts and ERC-1056 resolvers do, so both sources give the
same answers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from node.chain.contracts.types import Grant, StatusChange, accredited_at
from node.did.document import DidEvent, build_document
from node.did.errors import DidNotFound
from node.did.identifier import parse_ethr_did
from node.store.cursors import IndexPositions

#: Entries per 256-bit status word (the contract's layout: entry i is bit i % 256 of word i/256).
WORD_BITS = 256
#: DID documents one `HistoryFacts` keeps (per DID, block and validity time).
DOCUMENTS_KEPT = 1024


@dataclass(frozen=True)
class ChainState:
    """The block a verification's chain facts reflect, its time, and where they came from
    (`index`: the node's event index; `chain`: read from the chain for this verification).

    `positions`: from the index, where each indexer stood (the registry answers as of its own
    cursor's position, read here once); empty from the chain."""

    block: int
    time: int
    source: str
    positions: IndexPositions = field(default_factory=dict, compare=False)

    def as_json(self) -> dict[str, Any]:
        return {"block": self.block, "source": self.source}


@dataclass(frozen=True)
class AnchorFact:
    """One issuer's anchor of one root: when, in which block and transaction, how many (the
    contract's `AnchorFact` plus the transaction of its `Anchored` event)."""

    issuer: str
    timestamp: int
    block: int | None
    count: int
    transaction: str | None


@dataclass(frozen=True)
class ReadPlan:
    """What one verification will ask, so a chain source can read it in one round trip.

    Addresses are lowercase 0x hex. `min_block`: the facts must cover at least this block (a
    receipt names it), or the source must read the chain.
    """

    issuers: frozenset[str] = frozenset()
    roots: frozenset[tuple[str, bytes]] = frozenset()
    status_words: frozenset[tuple[str, int, int, int]] = frozenset()
    aliases: frozenset[str] = frozenset()
    min_block: int = 0

    def merged(self, other: ReadPlan) -> ReadPlan:
        return ReadPlan(
            self.issuers | other.issuers,
            self.roots | other.roots,
            self.status_words | other.status_words,
            self.aliases | other.aliases,
            max(self.min_block, other.min_block),
        )


class ChainFacts(Protocol):
    """The chain as one verification sees it (see the module docstring)."""

    @property
    def chain_id(self) -> int: ...

    @property
    def registry_address(self) -> str: ...

    @property
    def state(self) -> ChainState: ...

    def anchor(self, issuer: str, root: bytes) -> AnchorFact | None:
        """`issuer`'s anchor of `root`, or None (anchors are keyed by issuer and root: another
        issuer's anchor of the same root neither counts nor gets in the way)."""
        ...

    def is_accredited(self, issuer: str, credential_type: bytes, timestamp: int) -> bool: ...

    def status_history(self, issuer: str) -> list[StatusChange]: ...

    def accreditation_history(self, issuer: str) -> list[Grant]: ...

    def is_status_set(self, issuer: str, list_number: int, purpose: int, index: int) -> bool: ...

    def latest_time(self) -> int:
        """The time of the block the facts reflect (the chain's "now")."""
        ...

    def did_document(self, did: str, block: int | None, time: int | None) -> Mapping[str, Any]:
        """The chain DID's document after `block` with validity judged at `time` (the anchoring
        block and its time); `block` None: the document as of the facts' block. Read only: it
        may be shared with other verifications."""
        ...

    def issuer_of_alias(self, did: str) -> str | None:
        """The issuer address the consortium bound DID `did` to, or None."""
        ...


class ChainSource(Protocol):
    """Where a verifier gets its `ChainFacts`: one call per verification."""

    def facts_for(self, plan: ReadPlan) -> ChainFacts: ...


@dataclass
class HistoryFacts(ABC):
    """`ChainFacts` derived from primitive reads (histories, words, DID events)."""

    chain_id: int
    registry_address: str
    state: ChainState
    _grants: dict[str, list[Grant]] = field(default_factory=dict, init=False, repr=False)
    _statuses: dict[str, list[StatusChange]] = field(default_factory=dict, init=False, repr=False)
    _documents: dict[tuple[str, int | None, int], Mapping[str, Any]] = field(
        default_factory=dict, init=False, repr=False
    )

    # -- primitives ----------------------------------------------------------------------------

    @abstractmethod
    def anchor(self, issuer: str, root: bytes) -> AnchorFact | None: ...

    @abstractmethod
    def _read_grants(self, issuer: str) -> list[Grant]: ...

    @abstractmethod
    def _read_statuses(self, issuer: str) -> list[StatusChange]: ...

    @abstractmethod
    def status_word(self, issuer: str, list_number: int, purpose: int, word: int) -> int: ...

    @abstractmethod
    def did_history(self, address: str) -> list[DidEvent]: ...

    @abstractmethod
    def issuer_of_alias(self, did: str) -> str | None: ...

    # -- derived ------------------------------------------------------------------------------

    def accreditation_history(self, issuer: str) -> list[Grant]:
        if issuer not in self._grants:
            self._grants[issuer] = self._read_grants(issuer)
        return self._grants[issuer]

    def status_history(self, issuer: str) -> list[StatusChange]:
        if issuer not in self._statuses:
            self._statuses[issuer] = self._read_statuses(issuer)
        return self._statuses[issuer]

    def is_accredited(self, issuer: str, credential_type: bytes, timestamp: int) -> bool:
        return accredited_at(
            self.accreditation_history(issuer),
            self.status_history(issuer),
            credential_type,
            timestamp,
        )

    def is_status_set(self, issuer: str, list_number: int, purpose: int, index: int) -> bool:
        word = self.status_word(issuer, list_number, purpose, index // WORD_BITS)
        return bool(word >> (index % WORD_BITS) & 1)

    def latest_time(self) -> int:
        return self.state.time

    def did_document(self, did: str, block: int | None, time: int | None) -> Mapping[str, Any]:
        # The facts' DID histories are fixed, so a document is a function of (DID, block, time):
        # every credential of one batch (one anchoring block and time) asks for the same one,
        # and replaying the history costs more than the rest of the issuer_key check. Kept
        # frozen, since verifications that share these facts share their documents.
        now = self.state.time if time is None else time
        key = (did, block, now)
        document = self._documents.get(key)
        if document is None:
            parsed = parse_ethr_did(did)
            if parsed.chain_id != self.chain_id:
                raise DidNotFound(
                    f"{did} is not a DID of chain {hex(self.chain_id)}", code="unknown_network"
                )
            history = self.did_history(parsed.address)
            built = build_document(parsed, self.chain_id, history, now=now, at_block=block)
            document = frozen(built.document)
            if len(self._documents) < DOCUMENTS_KEPT:
                self._documents[key] = document
        return document


def frozen(value: Any) -> Any:
    """A read-only deep view of a JSON value: mappings become `MappingProxyType`s over copies,
    lists tuples (a shared document must not change under another verification)."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: frozen(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(frozen(item) for item in value)
    return value
