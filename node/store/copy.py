"""PostgreSQL `COPY ... FROM STDIN` in text format, its rows written here.

A bulk issuance request streams its credential rows into one COPY while it signs. Text, not
binary: the server stores text rows as they arrive (each 64 KB), while binary rows it holds until
1,000 have come or the COPY ends (its batch insert counts a buffer's bytes from the text line
only), so a request of 1,000 waited ~45 ms after its last row (measured with the server's CPU
clock). The lines are formatted here rather than by psycopg's row formatter, which dumps every
value through its adapters (~18 µs per credential row, nearly all of it for a value formatted
the same for the whole request, or for a sealed document that holds nothing to escape).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from psycopg import Connection

#: A line is written to the server once this many bytes are pending.
_FLUSH_BYTES = 1 << 16
#: What text-format COPY escapes in a value (`\N` is NULL; tab and newline separate).
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_rows(
    connection: Connection[Any],
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    """`rows` (values in `columns` order, as the driver would bind them) into `table`, each
    sent as soon as 64 KB of them are pending."""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for data in _text(rows):
            copy.write(data)


def _text(rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """The rows as text-format COPY data, in pieces of about `_FLUSH_BYTES`."""
    field = _field_text()
    pending: list[str] = []
    size = 0
    for row in rows:
        line = "\t".join([field(value) for value in row]) + "\n"
        pending.append(line)
        size += len(line)
        if size >= _FLUSH_BYTES:
            yield "".join(pending).encode()
            pending.clear()
            size = 0
    if pending:
        yield "".join(pending).encode()


def _field_text() -> Callable[[Any], str]:
    """One value's text in a COPY line. A value that is not a string is formatted once per
    object while that object lives (a request's timestamps repeat in every row)."""
    done: dict[int, tuple[Any, str]] = {}

    def field(value: Any) -> str:
        if type(value) is str:
            if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
                return value.translate(_ESCAPES)
            return value
        if value is None:
            return "\\N"
        if type(value) is int:  # a row's own numbers: nothing to reuse, nothing to keep
            return str(value)
        known = done.get(id(value))
        if known is None or known[0] is not value:
            # The value kept with its text, so that its id stays its own.
            known = done[id(value)] = (value, _scalar_text(value))
        return known[1]

    return field


def _scalar_text(value: Any) -> str:
    """What PostgreSQL's input function reads back as `value`."""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):  # a str subclass (an enum's member): its text, not its str()
        return str.__str__(value).translate(_ESCAPES)
    raise TypeError(f"no COPY text for a {type(value).__name__}")
