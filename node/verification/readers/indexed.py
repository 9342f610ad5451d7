"""Chain facts from the node's event index: verification without a single JSON-RPC call.

The indexers keep the CredentialRegistry's events (`projection.py`) and the DID registry's
under one cursor, and the IssuerRegistry's (the registry projection: `GovernanceEvent`,
`IssuerAlias`) under another; each cursor also says its block's time and when its indexer last
confirmed it was at the chain head. A verification answers from those tables as of the lower of
the two blocks (the report names it, `source: index`), unless the index cannot answer it:

- an indexer is not running or stale (not confirmed at the head for `max_age` seconds): the
  chain may have moved on, a revocation may be missing;
- the plan needs a later block than the index holds (a receipt names a block above the cursor:
  the credential was anchored a moment ago).

Then the whole verification reads the chain (`fallback`, `source: chain`), so one report never
mixes two states.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from sqlmodel import col, select

from node.chain.contracts.types import Grant, StatusChange
from node.did.document import DidEvent
from node.did.resolution import Resolver
from node.store.cursors import CursorPosition, CursorRows, cursor_rows, positions_of
from node.store.db import Database
from node.store.models import (
    AnchorEvent,
    GovernanceEvent,
    IssuerAlias,
    StatusWordEvent,
)
from node.verification.readers.facts import (
    AnchorFact,
    ChainFacts,
    ChainSource,
    ChainState,
    HistoryFacts,
    ReadPlan,
)
from node.verification.readers.projection import replay_issuer

#: Seconds since the indexer last confirmed the head after which the index is not trusted.
DEFAULT_MAX_AGE = 30.0
#: Reads one shared `IndexedFacts` keeps (per block: anchors, words, DID histories, aliases).
MEMO_SIZE = 50_000
T = TypeVar("T")


class IndexedChainSource:
    """`ChainSource` over the event index, with the chain behind it; see the module docstring."""

    def __init__(
        self,
        db: Database,
        *,
        chain_id: int,
        credential_registry: str,
        issuer_registry: str,
        dids: Resolver,
        fallback: ChainSource,
        cursors: tuple[str, ...] = ("chain",),
        max_age: float = DEFAULT_MAX_AGE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.chain_id = chain_id
        self.registry_address = credential_registry.lower()
        self.issuer_registry = issuer_registry.lower()
        self.dids = dids
        self.fallback = fallback
        self.cursors = cursors
        self.max_age = timedelta(seconds=max_age)
        self.clock = clock
        self._lock = threading.Lock()
        self._shared: tuple[tuple[tuple[int, str], ...], IndexedFacts] | None = None
        self._seen: _SeenCursors | None = None

    def facts_for(self, plan: ReadPlan) -> ChainFacts:
        state, key = self._cursor_state()
        if state is None or state.block < plan.min_block:
            return self.fallback.facts_for(plan)
        # Verifications at the same cursors read the same rows: they share one `IndexedFacts`
        # and so its memoized reads, until an indexer moves (a new block or a reorg changes
        # the key: every cursor's block and hash).
        with self._lock:
            if self._shared is None or self._shared[0] != key:
                self._shared = (key, IndexedFacts(self, state))
            return self._shared[1]

    def current(self) -> ChainState | None:
        """The block the index reflects (the lowest cursor), if every indexer is current (see
        the module docstring)."""
        return self._cursor_state()[0]

    def _cursor_state(self) -> tuple[ChainState | None, tuple[tuple[int, str], ...]]:
        # One SELECT per verification, always: another process's indexer may have moved. What
        # the rows mean is worked out again only when they changed; how old they are is judged
        # on every call, against the clock.
        rows = cursor_rows(self.db, self.cursors)
        seen = self._seen
        if seen is None or seen.rows != rows:
            seen = self._seen = _SeenCursors.of(rows, positions_of(self.db, rows), self.cursors)
        return seen.state_at(self.clock(), self.max_age), seen.key


@dataclass(frozen=True)
class _SeenCursors:
    """What one set of cursor rows says, the clock aside: the state they name (None: some
    indexer has not reached the head yet) and since when the least recently confirmed of them
    has not been confirmed at the head, and the key of the facts they share."""

    rows: CursorRows
    key: tuple[tuple[int, str], ...]
    state: ChainState | None
    oldest_check: datetime | None

    @classmethod
    def of(
        cls, rows: CursorRows, positions: Mapping[str, CursorPosition], names: tuple[str, ...]
    ) -> _SeenCursors:
        found = [positions.get(name) for name in names]
        key = tuple((c.block_number, c.block_hash) if c else (-1, "") for c in found)
        times: dict[str, int] = {}
        checks: list[datetime] = []
        for cursor in found:
            if cursor is None or cursor.block_time is None or cursor.checked_at is None:
                return cls(rows, key, None, None)
            times[cursor.name] = int(cursor.block_time)
            checked = cursor.checked_at
            checks.append(checked if checked.tzinfo else checked.replace(tzinfo=UTC))
        cursors = [cursor for cursor in found if cursor is not None]
        if not cursors:
            return cls(rows, key, None, None)
        lowest = min(cursors, key=lambda cursor: cursor.block_number)
        positions_at = {c.name: (c.block_number, c.block_hash) for c in cursors}
        state = ChainState(lowest.block_number, times[lowest.name], "index", positions_at)
        return cls(rows, key, state, min(checks))

    def state_at(self, now: datetime, max_age: timedelta) -> ChainState | None:
        """The state, unless an indexer has not confirmed the head for `max_age` at `now`."""
        if self.oldest_check is None or now - self.oldest_check > max_age:
            return None
        return self.state


class IndexedFacts(HistoryFacts):
    """`ChainFacts` read from the index tables, as of `state.block`."""

    def __init__(self, source: IndexedChainSource, state: ChainState) -> None:
        super().__init__(
            chain_id=source.chain_id, registry_address=source.registry_address, state=state
        )
        self.source = source
        self._issuers: dict[str, tuple[list[Grant], list[StatusChange]]] = {}
        #: Reads already made at this state (shared by the verifications at these cursors).
        self._memo: dict[tuple[Any, ...], Any] = {}

    def _remember(self, key: tuple[Any, ...], read: Callable[[], T]) -> T:
        if key in self._memo:
            return cast(T, self._memo[key])
        value = read()
        if len(self._memo) < MEMO_SIZE:
            self._memo[key] = value
        return value

    def anchor(self, issuer: str, root: bytes) -> AnchorFact | None:
        return self._remember(("anchor", issuer, root), lambda: self._anchor(issuer, root))

    def _anchor(self, issuer: str, root: bytes) -> AnchorFact | None:
        with self.source.db.reading() as session:
            row = session.exec(
                select(AnchorEvent)
                .where(
                    col(AnchorEvent.contract) == self.registry_address,
                    col(AnchorEvent.root) == "0x" + root.hex(),
                    col(AnchorEvent.issuer) == issuer,
                    col(AnchorEvent.block_number) <= self.state.block,
                )
                .order_by(col(AnchorEvent.block_number))
                .limit(1)
            ).first()
        if row is None:
            return None
        return AnchorFact(issuer, row.block_time, row.block_number, row.count, row.tx_hash)

    def _standing(self, issuer: str) -> tuple[list[Grant], list[StatusChange]]:
        if issuer not in self._issuers:
            with self.source.db.reading() as session:
                rows = session.exec(
                    select(GovernanceEvent)
                    .where(
                        col(GovernanceEvent.contract) == self.source.issuer_registry,
                        col(GovernanceEvent.subject) == issuer,
                        col(GovernanceEvent.block_number) <= self.state.block,
                    )
                    .order_by(col(GovernanceEvent.block_number), col(GovernanceEvent.log_index))
                ).all()
            self._issuers[issuer] = replay_issuer(rows)
        return self._issuers[issuer]

    def _read_grants(self, issuer: str) -> list[Grant]:
        return self._standing(issuer)[0]

    def _read_statuses(self, issuer: str) -> list[StatusChange]:
        return self._standing(issuer)[1]

    def status_word(self, issuer: str, list_number: int, purpose: int, word: int) -> int:
        return self._remember(
            ("word", issuer, list_number, purpose, word),
            lambda: self._status_word(issuer, list_number, purpose, word),
        )

    def _status_word(self, issuer: str, list_number: int, purpose: int, word: int) -> int:
        with self.source.db.reading() as session:
            value = session.exec(
                select(StatusWordEvent.word)
                .where(
                    col(StatusWordEvent.contract) == self.registry_address,
                    col(StatusWordEvent.issuer) == issuer,
                    col(StatusWordEvent.list_id) == str(list_number),
                    col(StatusWordEvent.purpose) == purpose,
                    col(StatusWordEvent.word_index) == word,
                    col(StatusWordEvent.block_number) <= self.state.block,
                )
                .order_by(
                    col(StatusWordEvent.block_number).desc(), col(StatusWordEvent.log_index).desc()
                )
                .limit(1)
            ).first()
        return 0 if value is None else int(str(value), 16)

    def did_history(self, address: str) -> list[DidEvent]:
        return self._remember(
            ("did", address),
            lambda: self.source.dids.history_of(address, through_block=self.state.block),
        )

    def issuer_of_alias(self, did: str) -> str | None:
        return self._remember(("alias", did), lambda: self._issuer_of_alias(did))

    def _issuer_of_alias(self, did: str) -> str | None:
        with self.source.db.reading() as session:
            found = session.exec(
                select(IssuerAlias.issuer).where(
                    col(IssuerAlias.contract) == self.source.issuer_registry,
                    col(IssuerAlias.alias) == did,
                    col(IssuerAlias.block_number) <= self.state.block,
                )
            ).first()
        return None if found is None else str(found).lower()
