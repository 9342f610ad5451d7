"""Where the indexers stand: read by every verification and registry answer.

Each verification first asks which block the index reflects (to name it in the report and to
fall back to the chain when the index lags), and the registry keys its caches by the same
cursor. Through an ORM session that question cost a third of a verification; here it is one
driver-level SELECT (about 20 µs), with values converted by the columns' own result
processors, so they are what the ORM would have returned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from node.store.db import Database
from node.store.models import IndexerCursor

#: Where indexers stood when a caller read their cursors: name -> (block number, block hash).
#: A caller that read them hands them on, so what it calls next need not read them again.
IndexPositions = Mapping[str, tuple[int, str]]

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
    # Column and table names are constants; the names travel as parameters.
    marks = ", ".join(db.placeholder for _ in names)
    sql = f"SELECT {', '.join(_COLUMNS)} FROM {_TABLE.name} WHERE name IN ({marks})"
    with db.driver_cursor() as cursor:
        cursor.execute(sql, tuple(names))
        rows = cursor.fetchall()
    convert = _converters(db)
    return {
        row[0]: CursorPosition(*(fn(value) for fn, value in zip(convert, row, strict=True)))
        for row in rows
    }


def read_cursor(db: Database, name: str) -> CursorPosition | None:
    """One cursor, or None before its indexer first ran."""
    return read_cursors(db, (name,)).get(name)


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
