"""The rows a batch of signed credentials becomes, written with three driver-level bulk INSERTs.

A request of 1,000 credentials is one `executemany` for the credential rows (each row is also
the credential's anchoring outbox entry), one for their data keys and one for their `issued`
events. No ORM object per row (profiling showed them costing more than signing with
`eddsa-jcs-2022`), nor SQLAlchemy's per-parameter processing: values are converted once per
distinct value with the columns' own bind processors, so the driver receives exactly what an
ORM insert would have sent. The stored (sealed) text and the credential hash are the JCS bytes
signing handed back (`proofs.sign_canonical`): no document is canonicalized again here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlmodel import Session

from node.chain.contracts.types import credential_type_id
from node.credentials.format_check import credential_kind
from node.credentials.merkle import hash_canonical
from node.issuance.documents import parse_time
from node.store.copy import copy_rows
from node.store.models import (
    Credential,
    CredentialEvent,
    CredentialKey,
    CredentialState,
    Institution,
)
from node.store.sealing import document_context, seal

#: The columns of a credential row, in the order `credential_rows` writes them.
CREDENTIAL_COLUMNS = (
    "id",
    "institution_id",
    "kind",
    "credential_type_id",
    "document",
    "credential_hash",
    "status_list",
    "status_index",
    "state",
    "batch_id",
    "leaf_index",
    "merkle_proof",
    "revoked",
    "suspended",
    "valid_from",
    "valid_until",
    "created_at",
    "updated_at",
    "erased_at",
    "bound_from",
)
_KEY_COLUMNS = ("credential_id", "key")
_EVENT_COLUMNS = ("credential_id", "event", "detail", "at")


class CredentialRows:
    """Every column of each new credential row (bulk INSERTs apply no model defaults), as
    Python values, produced as they are consumed; `insert_credentials` converts them for the
    driver. `ids`: the ids of the rows produced so far."""

    def __init__(
        self, count: int, ids: list[str], rows: Iterable[tuple[Any, ...]], created: datetime
    ) -> None:
        self.count = count
        self.ids = ids
        self.rows = rows
        self.created = created

    def __len__(self) -> int:
        return self.count

    def made(self) -> CredentialRows:
        """These rows, every one made now (signed, sealed, hashed): for SQLite, whose write
        lock a storing transaction would otherwise hold while they are made."""
        return CredentialRows(self.count, self.ids, list(self.rows), self.created)


def credential_rows(
    signed: Iterable[tuple[dict[str, Any], bytes]],
    slots: Sequence[tuple[int, int]],
    institution: Institution,
    data_keys: Sequence[str],
    *,
    bound_from: str | None = None,
) -> CredentialRows:
    """The rows of the credentials `signed` gives (each with its JCS bytes; one per status
    entry in `slots` and data key in `data_keys`, in order), each document sealed under its
    credential's data key (node/store/sealing.py)."""
    now = datetime.now(UTC)
    type_ids: dict[str, str] = {}
    times: dict[Any, datetime | None] = {}
    ids: list[str] = []

    def rows() -> Iterator[tuple[Any, ...]]:
        for (document, text), data_key, (list_number, index) in zip(
            signed, data_keys, slots, strict=True
        ):
            credential_id = document["id"]
            ids.append(credential_id)
            kind = credential_kind(document)
            if kind not in type_ids:
                type_ids[kind] = "0x" + credential_type_id(kind).hex()
            valid_from, valid_until = document.get("validFrom"), document.get("validUntil")
            for value in (valid_from, valid_until):
                if value not in times:
                    times[value] = parse_time(value)
            yield (
                credential_id,
                institution.id,
                kind,
                type_ids[kind],
                seal(data_key, text, document_context(credential_id)),
                "0x" + hash_canonical(text).hex(),
                list_number,
                index,
                CredentialState.PENDING,
                None,
                None,
                None,
                False,
                False,
                times[valid_from],
                times[valid_until],
                now,
                now,
                None,
                bound_from,
            )

    return CredentialRows(len(slots), ids, rows(), now)


def insert_credentials(
    session: Session, rows: CredentialRows, data_keys: Sequence[str], cryptosuite: str
) -> None:
    """The credential rows, their data keys and their `issued` events, three statements in the
    caller's transaction (the rows first: keys and events reference them, and their ids are
    known once the rows are made)."""
    if not rows:
        return
    at = rows.created
    _insert(session, Credential, CREDENTIAL_COLUMNS, rows.rows)
    _insert(session, CredentialKey, _KEY_COLUMNS, list(zip(rows.ids, data_keys, strict=True)))
    _insert(
        session,
        CredentialEvent,
        _EVENT_COLUMNS,
        [(credential_id, "issued", cryptosuite, at) for credential_id in rows.ids],
    )


def _insert(
    session: Session, model: Any, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """One statement writing `rows` (values in `columns` order) into the model's table: COPY on
    PostgreSQL, which takes each row as it is produced, an `executemany` on SQLite."""
    table: Table = model.__table__
    connection = session.connection()
    dialect = connection.dialect
    processors = [_processor(dialect, table, column) for column in columns]
    if any(processors):
        rows = _converted(rows, processors)
    if dialect.name == "postgresql":
        # COPY: one statement for all rows, where an executemany costs PostgreSQL a statement
        # per row (about 25 µs each even for a two-column key row); fed as rows are made.
        driver = connection.connection.driver_connection
        assert driver is not None
        copy_rows(driver, table.name, columns, rows)
        return
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join(mark for _ in columns)})"
    )
    connection.exec_driver_sql(sql, list(rows))


Processor = Callable[[Any], Any]


def _converted(
    rows: Iterable[tuple[Any, ...]], processors: list[Processor | None]
) -> Iterator[tuple[Any, ...]]:
    """`rows` as the driver takes them. A request repeats few values in the processed columns
    (its timestamps, `pending`): each object is processed once (and kept, so that its id stays
    its own while rows are made and freed one by one)."""
    active = [(column, processor) for column, processor in enumerate(processors) if processor]
    done: dict[tuple[int, int], tuple[Any, Any]] = {}
    for row in rows:
        values = list(row)
        for column, processor in active:
            value = values[column]
            if value is not None:
                key = (column, id(value))
                known = done.get(key)
                if known is None or known[0] is not value:
                    known = done[key] = (value, processor(value))
                values[column] = known[1]
        yield tuple(values)


_PROCESSORS: dict[tuple[int, str, str], Processor | None] = {}


def _processor(dialect: Dialect, table: Table, column: str) -> Processor | None:
    """The column's bind processor (e.g. SQLite's text timestamps, enum names); None where the
    driver takes the Python value as it is."""
    key = (id(dialect), table.name, column)
    if key not in _PROCESSORS:
        _PROCESSORS[key] = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    return _PROCESSORS[key]
