"""The consortium's registry as every member node derives it: from indexed chain events only.

Why only the index (never this node's own institutions table): a verifier may ask any member
node, and all of them must give the same answer for the same block. The answer is a replay of
the IssuerRegistry's events (`history.py`); the issuer's profile is the metadata document the
consortium voted on (published in `ProposalCreated`, its keccak256 checked against the hash the
accreditation event carries); its DIDs are its `did:ethr` and the aliases bound by `AliasBound`.

An issuer is *listed* while its status is Active and it holds open grants: a suspended or
removed issuer is not in the OpenID Federation, DCC or EBSI lists (TRQP still answers about it,
historically). Every answer can carry `Evidence`: the chain, contract, the block the index
reflects, and the events behind the answer, so a verifier that does not trust this node checks
them on any RPC endpoint (docs/design.md, "Registry").
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from eth_hash.auto import keccak
from sqlmodel import col, func, select

from node.chain.contracts.types import IssuerStatus, credential_type_id, credential_type_name
from node.did.identifier import format_ethr_did, parse_ethr_did
from node.errors import LernodeError, NotFound
from node.governance.history import (
    Decision,
    EventRef,
    IssuerHistory,
    member_at,
    replay_issuer,
)
from node.governance.metadata import IssuerMetadata
from node.registry.evidence import (
    Evidence,
    IndexedBlock,
    alias_json,
    grant_json,
    ref_json,
    status_json,
)
from node.store.cursors import IndexPositions, read_cursor
from node.store.db import Database
from node.store.models import (
    AccreditationDocument,
    GovernanceEvent,
    GovernanceEventKind,
    IssuerAlias,
)

#: Name of the registry indexer's cursor (its own, so a node that predates the registry
#: backfills the governance history from the deployment block).
REGISTRY_CURSOR = "issuer-registry"
_ISSUER_KINDS = (
    GovernanceEventKind.ACCREDITED,
    GovernanceEventKind.SUSPENDED,
    GovernanceEventKind.REINSTATED,
    GovernanceEventKind.REMOVED,
)
_MEMBER_KINDS = (GovernanceEventKind.MEMBER_ADDED, GovernanceEventKind.MEMBER_REMOVED)


class UnknownSubject(NotFound):
    """The DID is neither a did:ethr of this chain nor an alias the consortium bound."""

    code = "subject_not_found"


class IndexNotReady(LernodeError):
    """The registry index has not read the chain yet."""

    code = "registry_not_indexed"
    title = "Registry not indexed yet"
    status = 503
    retryable = True


@dataclass(frozen=True)
class Subject:
    """A DID the registry can speak about: an issuer's did:ethr or an alias bound to it."""

    did: str
    address: str
    binding: IssuerAlias | None = None


#: DIDs whose registry entry is kept between two moves of the registry index.
ENTRY_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class RegistryEntry:
    """What the registry says about one issuer now."""

    subject: Subject
    history: IssuerHistory
    metadata: IssuerMetadata | None
    document: AccreditationDocument | None
    dids: tuple[str, ...]

    @property
    def listed(self) -> bool:
        return self.history.status is IssuerStatus.ACTIVE and bool(self.history.open_grants())

    @property
    def credential_types(self) -> list[str]:
        return [type_label(grant.credential_type) for grant in self.history.open_grants()]


class ConsortiumRegistry:
    """Reads the registry projection of one IssuerRegistry; see the module docstring."""

    def __init__(
        self,
        db: Database,
        *,
        chain_id: int,
        issuer_registry: str,
        did_registry: str,
        now: Callable[[], int],
    ) -> None:
        self.db = db
        self.chain_id = chain_id
        self.contract = issuer_registry.lower()
        self.did_registry = did_registry.lower()
        self._now = now
        #: The issuer list for one indexed block: lists are read far more often than the
        #: consortium decides, so they are rebuilt only when the index moved.
        self._entries: tuple[tuple[int, str], list[RegistryEntry]] | None = None
        self._entry_cache_key: tuple[int, str] | None = None
        self._entry_cache: dict[str, RegistryEntry] = {}
        self._lock = threading.Lock()

    # -- identity of the authority ----------------------------------------------------------------

    @property
    def authority_id(self) -> str:
        """The consortium's own identifier, the same on every member node: the CAIP-10 id of
        its IssuerRegistry (`eip155:<chain id>:<address>`)."""
        return f"eip155:{self.chain_id}:{self.contract}"

    def now(self) -> int:
        return self._now()

    # -- reading the index ------------------------------------------------------------------------

    def indexed_block(self) -> IndexedBlock:
        cursor = read_cursor(self.db, REGISTRY_CURSOR)
        if cursor is None:
            raise IndexNotReady("the registry index has not read the chain yet; retry shortly")
        return IndexedBlock(cursor.block_number, cursor.block_hash)

    def subject(self, did: str) -> Subject:
        """The issuer address a DID names (`UnknownSubject` when the registry cannot tell)."""
        if did.startswith("did:ethr:"):
            try:
                parsed = parse_ethr_did(did)
            except LernodeError:
                raise UnknownSubject(f"not a valid did:ethr: {did[:120]!r}") from None
            if parsed.chain_id != self.chain_id:
                raise UnknownSubject(f"{did[:120]} is not a DID of chain {self.chain_id}")
            return Subject(did=did, address=parsed.address)
        with self.db.reading() as session:
            binding = session.exec(
                select(IssuerAlias).where(
                    IssuerAlias.contract == self.contract, IssuerAlias.alias == did
                )
            ).first()
        if binding is None:
            raise UnknownSubject(f"the consortium bound no issuer to {did[:120]!r}")
        return Subject(did=did, address=binding.issuer, binding=binding)

    def history(self, address: str) -> IssuerHistory:
        with self.db.reading() as session:
            rows = session.exec(
                select(GovernanceEvent)
                .where(
                    GovernanceEvent.contract == self.contract,
                    GovernanceEvent.subject == address.lower(),
                    col(GovernanceEvent.kind).in_(_ISSUER_KINDS),
                )
                .order_by(col(GovernanceEvent.block_number), col(GovernanceEvent.log_index))
            ).all()
        return replay_issuer(address.lower(), rows)

    def entry(self, did: str, *, positions: IndexPositions | None = None) -> RegistryEntry:
        """What the registry says about the issuer `did` names (listed or not).

        Kept per DID until the registry index moves (its cursor's block and hash, as `entries`
        does): every verification asks this for its issuer, and between two blocks the answer
        cannot change. `positions`: the cursors as the caller has just read them (a
        verification reads them first), so the registry's is not read a second time."""
        key = self._cursor_key(positions)
        with self._lock:
            cached = self._entry_cache.get(did) if self._entry_cache_key == key else None
        if cached is not None:
            return cached
        subject = self.subject(did)
        found = self._entry(subject, self.history(subject.address))
        with self._lock:
            if self._entry_cache_key != key:
                self._entry_cache_key, self._entry_cache = key, {}
            if len(self._entry_cache) < ENTRY_CACHE_SIZE:
                self._entry_cache[did] = found
        return found

    def _cursor_key(self, positions: IndexPositions | None = None) -> tuple[int, str]:
        if positions and REGISTRY_CURSOR in positions:
            return positions[REGISTRY_CURSOR]
        cursor = read_cursor(self.db, REGISTRY_CURSOR)
        return (cursor.block_number, cursor.block_hash) if cursor else (-1, "")

    def _entry(self, subject: Subject, history: IssuerHistory) -> RegistryEntry:
        document = self._document(history)
        metadata = IssuerMetadata.from_chain(document.metadata_text) if document else None
        with self.db.reading() as session:
            aliases = session.exec(
                select(IssuerAlias)
                .where(IssuerAlias.contract == self.contract, IssuerAlias.issuer == history.address)
                .order_by(col(IssuerAlias.block_number), col(IssuerAlias.log_index))
            ).all()
        dids = (format_ethr_did(self.chain_id, history.address), *(a.alias for a in aliases))
        return RegistryEntry(subject, history, metadata, document, dids)

    def _document(self, history: IssuerHistory) -> AccreditationDocument | None:
        """The metadata document of the latest accreditation, if it is the one voted on."""
        if not history.accreditation_proposal:
            return None
        with self.db.reading() as session:
            document = session.exec(
                select(AccreditationDocument).where(
                    AccreditationDocument.contract == self.contract,
                    AccreditationDocument.proposal_id == history.accreditation_proposal,
                )
            ).first()
        if document is None:
            return None
        digest = "0x" + keccak(document.metadata_text.encode("utf-8")).hex()
        if digest != document.metadata_hash or digest != history.metadata_hash:
            return None  # cannot happen with the contract; never serve an unvoted profile
        return document

    def entries(self) -> list[RegistryEntry]:
        """Every issuer the consortium ever accredited, in order of first accreditation."""
        key = self._cursor_key()
        with self._lock:
            if self._entries is not None and self._entries[0] == key:
                return list(self._entries[1])
        result = self._read_entries()
        with self._lock:
            self._entries = (key, result)
        return list(result)

    def _read_entries(self) -> list[RegistryEntry]:
        with self.db.reading() as session:
            addresses = session.exec(
                select(GovernanceEvent.subject)
                .where(
                    GovernanceEvent.contract == self.contract,
                    GovernanceEvent.kind == GovernanceEventKind.ACCREDITED,
                )
                .order_by(col(GovernanceEvent.block_number), col(GovernanceEvent.log_index))
            ).all()
        result = []
        for address in dict.fromkeys(addresses):
            did = format_ethr_did(self.chain_id, address)
            result.append(self._entry(Subject(did, address), self.history(address)))
        return result

    def listed_entries(self) -> list[RegistryEntry]:
        return [entry for entry in self.entries() if entry.listed]

    def change_times(self) -> tuple[int, int] | None:
        """Block times of the first and the latest governance event, if any."""
        with self.db.reading() as session:
            found = session.exec(
                select(
                    func.min(GovernanceEvent.block_time), func.max(GovernanceEvent.block_time)
                ).where(GovernanceEvent.contract == self.contract)
            ).one()
        first, last = found
        return None if first is None else (int(first), int(last))

    # -- questions ---------------------------------------------------------------------------------

    def authorization(self, did: str, credential_type: str, moment: int) -> Answer:
        """Was the issuer `did` names accredited for `credential_type` at `moment`?

        An alias speaks for its issuer only from the block that bound it: before that, the
        consortium had not said that this DID is that issuer.
        """
        subject = self.subject(did)
        history = self.history(subject.address)
        type_id = resolve_type(credential_type)
        decision = history.authorized_at(type_id, moment)
        if subject.binding is not None and moment < subject.binding.block_time:
            decision = Decision(False, "alias_not_bound_yet", decision.status, decision.grant)
        return Answer(subject, history, decision, type_id, moment)

    def membership(self, did: str, moment: int) -> tuple[bool, EventRef | None]:
        """Was the did:ethr `did` a consortium member at `moment`?"""
        try:
            parsed = parse_ethr_did(did)
        except LernodeError:
            raise UnknownSubject(f"members are did:ethr DIDs; {did[:120]!r} is not one") from None
        if parsed.chain_id != self.chain_id:
            raise UnknownSubject(f"{did[:120]} is not a DID of chain {self.chain_id}")
        with self.db.reading() as session:
            rows = session.exec(
                select(GovernanceEvent)
                .where(
                    GovernanceEvent.contract == self.contract,
                    GovernanceEvent.subject == parsed.address,
                    col(GovernanceEvent.kind).in_(_MEMBER_KINDS),
                )
                .order_by(col(GovernanceEvent.block_number), col(GovernanceEvent.log_index))
            ).all()
        return member_at(rows, moment)

    # -- evidence ----------------------------------------------------------------------------------

    def evidence(self, entry: RegistryEntry | None = None) -> Evidence:
        """The block the answer reflects and, for an entry, the events that make it."""
        evidence = Evidence(self.chain_id, self.contract, self.did_registry, self.indexed_block())
        if entry is None:
            return evidence
        evidence.issuer = entry.history.address
        if entry.subject.binding is not None:
            evidence.parts["aliasBinding"] = alias_json(entry.subject.binding)
        if entry.document is not None:
            evidence.parts["accreditation"] = {
                "proposalId": entry.document.proposal_id,
                "metadataHash": entry.document.metadata_hash,
                "published": {
                    "blockNumber": entry.document.block_number,
                    "blockHash": entry.document.block_hash,
                    "transactionHash": entry.document.tx_hash,
                    "logIndex": entry.document.log_index,
                },
                "executed": next(
                    (
                        ref_json(ref)
                        for ref in reversed(entry.history.events)
                        if ref.kind == "accredited"
                    ),
                    None,
                ),
            }
        evidence.parts["statusHistory"] = [status_json(s) for s in entry.history.statuses]
        evidence.parts["accreditationHistory"] = [grant_json(g) for g in entry.history.grants]
        return evidence


@dataclass(frozen=True)
class Answer:
    """An authorization decision about a subject at an instant."""

    subject: Subject
    history: IssuerHistory
    decision: Decision
    credential_type: str
    moment: int


def resolve_type(value: str) -> str:
    """A credential type as its 0x id: a name (`OpenBadgeCredential`) or a 0x id already."""
    text = value.strip()
    if len(text) == 66 and text.startswith("0x"):
        try:
            return "0x" + bytes.fromhex(text[2:]).hex()
        except ValueError:
            pass
    return "0x" + credential_type_id(text).hex()


def type_label(type_id: str) -> str:
    """The type's name when the node knows it, else its 0x id."""
    return credential_type_name(bytes.fromhex(type_id[2:])) or type_id
