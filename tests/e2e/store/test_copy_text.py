"""PostgreSQL's COPY, text format, with the lines written by the node (node/store/copy.py):
what the server reads back is exactly what was written, whatever a value holds."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone

import psycopg
import pytest
from sqlalchemy.engine import make_url

from node.store.copy import copy_rows

pytestmark = pytest.mark.postgres


class Shade(str, enum.Enum):  # noqa: UP042 (a mixin's str() is not its text)
    DARK = "dark\\tone"


@pytest.fixture
def connection(postgres_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    url = make_url(postgres_url)
    # Autocommit: no transaction left open while other tests run (a VACUUM FULL elsewhere
    # on the server keeps the row versions an open transaction might still see).
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=True
    ) as conn:
        conn.execute(
            "CREATE TABLE sample (t text, n bigint, b boolean, at timestamptz, d date,"
            " f double precision)"
        )
        yield conn


def test_values_come_back_as_they_were_written(
    connection: psycopg.Connection[tuple[object, ...]],
) -> None:
    at = datetime(2026, 12, 6, 21, 33, 18, 123456, tzinfo=UTC)
    rows = [
        ("plain", 1, True, at, date(2026, 1, 2), 1.5),
        ("back\\slash\ttab\nnewline\rreturn", -(2**40), False, at, None, 1e-7),
        ("\\N", 0, None, at.astimezone(timezone(timedelta(hours=5, minutes=30))), None, None),
        ("ünïcødé ✓ 𝄞", None, True, None, None, None),
        (Shade.DARK, 7, False, at, None, None),
        (None, None, None, None, None, None),
        ("", 2, True, at, None, 0.0),
    ]
    rows += [(f"row {i}" * 50, i, i % 2 == 0, at, None, None) for i in range(2_000)]
    copy_rows(connection, "sample", ["t", "n", "b", "at", "d", "f"], iter(rows))
    read = connection.execute("SELECT t, n, b, at, d, f FROM sample").fetchall()
    expected = [(row[0].value if isinstance(row[0], Shade) else row[0], *row[1:]) for row in rows]
    assert read == expected


def test_a_value_without_a_text_form_is_refused_before_anything_is_sent(
    connection: psycopg.Connection[tuple[object, ...]],
) -> None:
    with pytest.raises(TypeError, match="no COPY text for a bytes"):
        copy_rows(connection, "sample", ["t"], [(b"raw",)])
