"""Following contract events into database tables.

Why an indexer: resolving a DID, listing an issuer's accreditations or checking an anchor must
not walk the chain on every request (ERC-1056 resolution alone is one `eth_getLogs` per changed
block). The indexer reads each event once, in chain order, and hands it to the handler of the
`Subscription` that asked for it; handlers write projection rows in the same database
transaction that advances the cursor, so a crash never applies a block twice or skips one.

- **Generic.** A subscription is (contract address, ABI, event names, handler, rollback). The DID
  registry's is `node.did.projection.did_registry_subscription`; other packages register theirs
  the same way. All subscriptions of one `Indexer` share one cursor and one `eth_getLogs` per chunk.
- **Chunks.** Logs are read `chunk_size` blocks at a time; if the node refuses a range (too many
  results), the chunk is halved and retried.
- **Head.** The cursor keeps the time of its block and when the indexer last confirmed it was at
  the chain head (`checked_at`, refreshed at most every `mark_interval` seconds while idle), so
  readers know how current the index is without asking the chain.
- **Reorgs.** The cursor stores the hash of the last block it covers. When the chain's hash at
  that height differs (or the block is gone), the last `reorg_depth` blocks are re-read: every
  subscription's rollback deletes its rows from the first re-read block up, and the logs are
  applied again. A chunk is also discarded when the chain changed while it was being read (a
  log's block hash differs from the block header, or the chunk's last block changed).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from eth_abi import decode as abi_decode
from eth_typing import ABIEvent
from eth_utils import event_abi_to_log_topic
from hexbytes import HexBytes
from sqlmodel import Session, SQLModel, col, delete

from node.chain.client import ChainClient, RpcError
from node.errors import ChainError, ConfigurationError, LernodeError
from node.store.db import Database
from node.store.models import IndexerCursor, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecodedLog:
    """One event, decoded: `args` by ABI input name, hex values lowercase with 0x."""

    contract: str
    event: str
    args: Mapping[str, Any]
    block_number: int
    block_hash: str
    block_time: int
    tx_hash: str
    log_index: int


Handler = Callable[[Session, DecodedLog], None]
#: Deletes the subscription's rows with block_number >= the given block (reorg recovery).
Rollback = Callable[[Session, int], None]


def delete_rows_from(contract: str, *tables: type[SQLModel]) -> Rollback:
    """The usual rollback: the rows of `contract` (lower case) from the first re-read block up
    in each table (every projection table has `contract` and `block_number` columns)."""

    def rollback(session: Session, first_block: int) -> None:
        for table in tables:
            session.exec(
                delete(table).where(
                    col(table.contract) == contract,  # type: ignore[attr-defined]
                    col(table.block_number) >= first_block,  # type: ignore[attr-defined]
                )
            )

    return rollback


@dataclass(frozen=True)
class Subscription:
    """Events of one contract that one handler projects into the database."""

    name: str
    address: str
    abi: Sequence[Mapping[str, Any]]
    events: Sequence[str]
    handler: Handler
    rollback: Rollback
    _by_topic: dict[bytes, Mapping[str, Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {item["name"]: item for item in self.abi if item.get("type") == "event"}
        missing = [name for name in self.events if name not in by_name]
        if missing:
            raise ConfigurationError(
                f"subscription {self.name!r}: the ABI has no event {', '.join(missing)}",
                code="unknown_event",
            )
        topics = {
            event_abi_to_log_topic(cast(ABIEvent, dict(by_name[n]))): by_name[n]
            for n in self.events
        }
        object.__setattr__(self, "_by_topic", topics)

    @property
    def topics(self) -> list[str]:
        return ["0x" + topic.hex() for topic in self._by_topic]

    def decode(self, raw: Mapping[str, Any], block_time: int) -> DecodedLog | None:
        """The log decoded with this subscription's ABI; None when it is not one of its events."""
        topics = [bytes(HexBytes(t)) for t in raw["topics"]]
        if not topics or topics[0] not in self._by_topic:
            return None
        event = self._by_topic[topics[0]]
        indexed = [i for i in event["inputs"] if i.get("indexed")]
        plain = [i for i in event["inputs"] if not i.get("indexed")]
        args: dict[str, Any] = {}
        for item, topic in zip(indexed, topics[1:], strict=True):
            # Dynamic indexed values are only their hash on the wire; keep it as bytes.
            dynamic = item["type"] in ("string", "bytes") or item["type"].endswith("]")
            args[item["name"]] = topic if dynamic else abi_decode([item["type"]], topic)[0]
        values = abi_decode([i["type"] for i in plain], bytes(HexBytes(raw["data"])))
        args.update({i["name"]: v for i, v in zip(plain, values, strict=True)})
        return DecodedLog(
            contract=str(raw["address"]).lower(),
            event=str(event["name"]),
            args=args,
            block_number=int(raw["blockNumber"], 16),
            block_hash=str(raw["blockHash"]).lower(),
            block_time=block_time,
            tx_hash=str(raw["transactionHash"]).lower(),
            log_index=int(raw["logIndex"], 16),
        )


class ChainMoved(ChainError):
    """The chain reorganised while a chunk was read; the chunk is read again on the next poll."""

    code = "chain_reorganised"


class Indexer:
    """Applies the subscriptions' events block range by block range; see the module docstring."""

    def __init__(
        self,
        db: Database,
        client: ChainClient,
        subscriptions: Sequence[Subscription],
        *,
        cursor: str = "chain",
        start_block: int = 0,
        chunk_size: int = 2000,
        reorg_depth: int = 12,
        confirmations: int = 0,
        poll_interval: float = 1.0,
        mark_interval: float = 2.0,
    ) -> None:
        if not subscriptions:
            raise ConfigurationError("an indexer needs at least one subscription")
        self.db = db
        self.client = client
        self.subscriptions = tuple(subscriptions)
        self.cursor = cursor
        self.start_block = start_block
        self.chunk_size = max(1, chunk_size)
        self.reorg_depth = max(1, reorg_depth)
        self.confirmations = confirmations
        self.poll_interval = poll_interval
        self.mark_interval = mark_interval
        self._marked_at = float("-inf")
        self._by_address: dict[str, list[Subscription]] = {}
        for subscription in self.subscriptions:
            self._by_address.setdefault(subscription.address.lower(), []).append(subscription)

    # -- public ---------------------------------------------------------------------------------

    def position(self) -> int | None:
        """The last block applied, or None before the first poll."""
        with self.db.session() as session:
            found = session.get(IndexerCursor, self.cursor)
            return None if found is None else found.block_number

    def poll_once(self) -> int:
        """Catch up with the chain head; return how many logs were applied."""
        head = self.client.latest_block() - self.confirmations
        next_block = self._resume_point()
        applied = 0
        chunk = self.chunk_size
        while next_block <= head:
            last = min(head, next_block + chunk - 1)
            try:
                applied += self._apply_range(next_block, last)
            except RpcError as exc:
                if last == next_block:
                    raise
                chunk = max(1, (last - next_block + 1) // 2)
                log.info("eth_getLogs refused %d blocks (%s); halving", last - next_block + 1, exc)
                continue
            next_block = last + 1
        self._mark_at_head()
        return applied

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set. Chain or database outages are logged and waited out;
        so is anything else a poll raises (logged with its traceback): a thread that ended on
        it would leave the index behind the chain for the node's whole life, every
        verification falling back to the chain, with nothing but one trace in the log."""
        failures = 0
        while not stop.is_set():
            try:
                self.poll_once()
                failures = 0
            except LernodeError as exc:
                failures += 1
                if exc.retryable:
                    log.warning("indexer %s: %s (attempt %d)", self.cursor, exc, failures)
                else:
                    log.error("indexer %s: %s (attempt %d)", self.cursor, exc, failures)
            except Exception:
                failures += 1
                log.exception("indexer %s: poll failed (attempt %d)", self.cursor, failures)
            stop.wait(self.poll_interval * min(2**failures, 30))

    # -- steps ----------------------------------------------------------------------------------

    def _resume_point(self) -> int:
        """First block to read: after the cursor, or `reorg_depth` back when the cursor's block
        is no longer canonical (its rows are rolled back in the same transaction)."""
        with self.db.session() as session:
            cursor = session.get(IndexerCursor, self.cursor)
            if cursor is None:
                return self.start_block
            canonical = self.client.block_hash(cursor.block_number)
            if canonical is not None and _hex(canonical) == cursor.block_hash:
                return cursor.block_number + 1
            first = max(self.start_block, cursor.block_number - self.reorg_depth + 1)
            log.warning(
                "indexer %s: block %d was reorganised; re-reading from %d",
                self.cursor, cursor.block_number, first,
            )  # fmt: skip
            for subscription in self.subscriptions:
                subscription.rollback(session, first)
            if first <= self.start_block:
                session.delete(cursor)
            else:
                cursor.block_number = first - 1
                cursor.block_hash, cursor.block_time = self._header(first - 1)
                session.add(cursor)
            return first

    def _mark_at_head(self) -> None:
        """Record that the index reached the head just now (at most every `mark_interval`)."""
        now = time.monotonic()
        if now - self._marked_at < self.mark_interval:
            return
        with self.db.session() as session:
            cursor = session.get(IndexerCursor, self.cursor)
            if cursor is not None:
                if cursor.block_time is None:
                    found = self.client.block(cursor.block_number)
                    cursor.block_time = int(found["timestamp"]) if found else None
                cursor.checked_at = utcnow()
                session.add(cursor)
        self._marked_at = now

    def _apply_range(self, first: int, last: int) -> int:
        last_hash, last_time = self._header(last)
        raw_logs = self.client.read_request(
            "eth_getLogs",
            [
                {
                    "address": [s.address for s in self.subscriptions],
                    "topics": [sorted({t for s in self.subscriptions for t in s.topics})],
                    "fromBlock": hex(first),
                    "toBlock": hex(last),
                }
            ],
        )
        raw_logs = sorted(
            raw_logs or [], key=lambda r: (int(r["blockNumber"], 16), int(r["logIndex"], 16))
        )
        times = self._block_times(raw_logs)
        if self._hash_of(last) != last_hash:
            raise ChainMoved(f"block {last} changed while blocks {first}-{last} were read")
        applied = 0
        with self.db.session() as session:
            for raw in raw_logs:
                if raw.get("removed"):
                    continue
                for subscription in self._by_address.get(str(raw["address"]).lower(), []):
                    decoded = subscription.decode(raw, times[int(raw["blockNumber"], 16)])
                    if decoded is not None:
                        subscription.handler(session, decoded)
                        applied += 1
            cursor = session.get(IndexerCursor, self.cursor) or IndexerCursor(
                name=self.cursor, block_number=last, block_hash=last_hash
            )
            cursor.block_number, cursor.block_hash = last, last_hash
            cursor.block_time = last_time
            session.add(cursor)
        return applied

    def _block_times(self, raw_logs: Sequence[Mapping[str, Any]]) -> dict[int, int]:
        """Timestamps of the blocks that have logs, checking each log's block is still canonical."""
        times: dict[int, int] = {}
        for raw in raw_logs:
            number = int(raw["blockNumber"], 16)
            if number in times:
                continue
            block = self.client.block(number)
            if block is None or _hex(block["hash"]) != str(raw["blockHash"]).lower():
                raise ChainMoved(f"block {number} changed while its logs were read")
            times[number] = int(block["timestamp"])
        return times

    def _hash_of(self, number: int) -> str:
        return self._header(number)[0]

    def _header(self, number: int) -> tuple[str, int]:
        """(hash, timestamp) of the canonical block at `number`."""
        found = self.client.block(number)
        if found is None:
            raise ChainMoved(f"block {number} is not on the chain (any more)")
        return _hex(found["hash"]), int(found["timestamp"])


def _hex(value: bytes | str) -> str:
    return "0x" + bytes(HexBytes(value)).hex()
