"""Where the indexers stand: read by every verification and registry answer.

Each verification first asks which block the index reflects (to name it in the report and to
fall back to the chain when the index lags), and the registry keys its caches by the same
cursor. Through an ORM session that question cost a third of a verification; here it is one
driver-level SELECT (about 20 µs), with values converted by the columns' own result
processors, so they are what the ORM would have returned.

A caller that asks again and again (the verifier, per request) takes the driver's rows
(`cursor_rows`) and converts them (`positions_of`) only when they differ from the rows it saw
last: the indexers write a cursor at most every couple of seconds while idle, so nearly every
read finds the same rows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from node.store.db import Database
from node.store.models import IndexerCursor

#: Where indexers stood when a caller read their cursors: name -> (block number, block hash).
#: A caller that read them hands them on, so what it calls next need not read them again.
IndexPositions = Mapping[str, tuple[int, str]]
#: The driver's rows of the cursors read, as they came (comparable: equal rows, equal cursors).
CursorRows = tuple[tuple[Any, ...], ...]

_TABLE = IndexerCursor.__table__  # type: ignore[attr-defined]
_COLUMNS = ("name", "block_number", "block_hash", "block_time", "checked_at")


@dataclass(frozen=True, slots=True)
class CursorPosition:
    """One indexer's cursor (see `IndexerCursor`), detached from any session."""

    name: str
    block_number: int
    block_hash: str
    block_time: int | None
    checked_at: datetime | None


def read_cursors(db: Database, names: Sequence[str]) -> dict[str, CursorPosition]:
    """The named cursors that exist, in one statement."""
    return positions_of(db, cursor_rows(db, names))


def read_cursor(db: Database, name: str) -> CursorPosition | None:
    """One cursor, or None before its indexer first ran."""
    return read_cursors(db, (name,)).get(name)


def cursor_rows(db: Database, names: Sequence[str]) -> CursorRows:
    """The driver's rows of the named cursors that exist, unconverted, in one statement."""
    with db.driver_cursor() as cursor:
        cursor.execute(_select(db.placeholder, len(names)), tuple(names))
        return tuple(tuple(row) for row in cursor.fetchall())


def positions_of(db: Database, rows: CursorRows) -> dict[str, CursorPosition]:
    """`cursor_rows`' rows as `CursorPosition`s by name, converted as the ORM would."""
    convert = _converters(db)
    return {
        row[0]: CursorPosition(*(fn(value) for fn, value in zip(convert, row, strict=True)))
        for row in rows
    }


@functools.lru_cache(maxsize=16)
def _select(placeholder: str, count: int) -> str:
    """The statement for `count` names (column and table names are constants; the names
    travel as parameters)."""
    marks = ", ".join(placeholder for _ in range(count))
    return f"SELECT {', '.join(_COLUMNS)} FROM {_TABLE.name} WHERE name IN ({marks})"


#: Per (dialect, driver): an engine's dialect object may be collected and its id reused.
_CONVERTERS: dict[tuple[str, str], list[Callable[[Any], Any]]] = {}


def _converters(db: Database) -> list[Callable[[Any], Any]]:
    """Per column, what SQLAlchemy applies to the driver's value (e.g. SQLite's text timestamps
    to `datetime`); the identity where the driver's value is already right."""
    dialect = db.engine.dialect
    found = _CONVERTERS.get((dialect.name, dialect.driver))
    if found is None:
        found = []
        for name in _COLUMNS:
            processor = _TABLE.c[name].type.dialect_impl(dialect).result_processor(dialect, None)
            found.append(_keep_none(processor) if processor else _identity)
        _CONVERTERS[(dialect.name, dialect.driver)] = found
    return found


def _identity(value: Any) -> Any:
    return value


def _keep_none(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else processor(value)
