"""Storage specifications, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel, select

from node.errors import ConfigurationError, InvalidInput, NotFound, StorageError
from node.issuance.allocation import StatusAllocator
from node.issuance.service import ChainInfo, IssuanceService
from node.issuance.status import StatusService
from node.store.copy import copy_rows
from node.store.db import Database
from node.store.models import Credential, Institution, StatusList


def test_migrations_create_exactly_the_schema_of_the_models(database: Database) -> None:
    database.migrate()  # a second run changes nothing
    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []


def test_issuing_writes_no_index_entry_for_columns_set_only_later(database: Database) -> None:
    """Migration 0010: `batch_id` and `bound_from` are indexed where set (NULL when a
    credential is issued), and no index repeats the unique constraint's institution column;
    the lookups by a set value still use those indexes."""
    dialect = database.engine.dialect.name
    indexes = {ix["name"]: ix for ix in inspect(database.engine).get_indexes("credential")}
    assert "ix_credential_institution_id" not in indexes
    for name, column in [
        ("ix_credential_batch_id", "batch_id"),
        ("ix_credential_bound_from", "bound_from"),
    ]:
        where = indexes[name]["dialect_options"][f"{dialect}_where"]
        assert (
            str(getattr(where, "text", where)).replace("(", "").replace(")", "")
            == f"{column} IS NOT NULL"
        )
    with database.session() as session:
        connection = session.connection()
        if dialect == "postgresql":
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(
                row[0]
                for row in connection.exec_driver_sql(
                    "EXPLAIN SELECT id FROM credential WHERE bound_from IN ('a', 'b')"
                )
            )
        else:
            plan = " ".join(
                str(row[-1])
                for row in connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN SELECT id FROM credential WHERE bound_from IN ('a', 'b')"
                )
            )
    assert "ix_credential_bound_from" in plan


def test_a_failed_unit_of_work_leaves_nothing_behind(database: Database) -> None:
    with pytest.raises(RuntimeError), database.session() as session:
        session.add(Institution(name="Half", address="0x" + "1" * 40, did="did:ethr:0x1:x"))
        session.flush()
        raise RuntimeError("crash mid-transaction")
    with database.session() as session:
        assert session.exec(select(Institution)).all() == []


def test_concurrent_issuers_never_get_the_same_status_index(database: Database) -> None:
    with database.session() as session:
        institution = Institution(name="U", address="0x" + "2" * 40, did="did:ethr:0x1:u")
        session.add(institution)
    service = IssuanceService(
        database,
        "http://node",
        signing_key=lambda _: None,  # type: ignore[arg-type,return-value]
        chain_info=ChainInfo(1, "0x0"),
        on_queued=lambda _: None,
        list_capacity=500,
    )
    slots: list[tuple[int, int]] = []
    lock = threading.Lock()

    def allocate() -> None:
        got = service._allocator.allocate(institution, 60)
        with lock:
            slots.extend(got)

    threads = [threading.Thread(target=allocate) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(slots) == len(set(slots)) == 480
    # 2-bit lists hand out only the upper half of their entries: [250, 500) of each list.
    assert all(250 <= index < 500 for _, index in slots)
    with database.session() as session:
        lists = session.exec(select(StatusList).order_by(StatusList.list_number)).all()
    assert [status_list.list_number for status_list in lists] == [0, 1, 2]  # pre-opened at 90%
    assert sum(status_list.next_index - 250 for status_list in lists) == 480


def test_a_request_that_stores_nothing_gives_its_status_entries_back(
    database: Database,
) -> None:
    """A request reserves its entries before it builds its documents; if it fails before its
    commit they go back, unless another reservation followed them in the list (then they stay
    unused: an entry is never handed out twice), and never once its commit has begun (a commit
    whose answer was lost may have stored the credentials)."""
    with database.session() as session:
        institution = Institution(name="U", address="0x" + "4" * 40, did="did:ethr:0x1:w")
        session.add(institution)
    allocator = StatusAllocator(database, 500)

    with pytest.raises(InvalidInput), allocator.reserved(institution, 5) as first:
        raise InvalidInput("credential 3 is refused", code="non_portable_value")
    assert allocator.allocate(institution, 5) == first.slots  # given back: handed out again

    with pytest.raises(RuntimeError), allocator.reserved(institution, 5) as failed:
        later = allocator.allocate(institution, 2)
        raise RuntimeError("fails after another reservation")
    assert allocator.allocate(institution, 1) == [(0, later[-1][1] + 1)]
    assert not set(failed.slots) & set(later)

    with pytest.raises(RuntimeError), allocator.reserved(institution, 3) as committing:
        committing.committing = True
        raise RuntimeError("the commit's answer was lost")
    assert allocator.allocate(institution, 1) == [(0, committing.slots[-1][1] + 1)]


def test_an_unreachable_database_is_a_retryable_error_not_a_crash() -> None:
    db = Database("postgresql+psycopg://postgres@127.0.0.1:1/test")
    assert db.check().startswith("unavailable")
    with pytest.raises(StorageError) as raised, db.session() as session:
        session.exec(select(Credential)).all()
    assert raised.value.retryable
    # The driver-level reads on every verification's path (indexers' cursors) too: a new
    # connection fails there with the driver's own error, which SQLAlchemy does not wrap.
    with pytest.raises(StorageError) as raised, db.driver_cursor() as cursor:
        cursor.execute("SELECT 1")
    assert raised.value.retryable


POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.mark.postgres
@pytest.mark.parametrize("write", ["statement", "bulk copy"])
def test_a_connection_lost_mid_transaction_is_a_retryable_error_then_work_goes_on(
    postgres_url: str, write: str
) -> None:
    """A server restart ends every connection, wherever its transaction stands: a request
    then gets a retryable 503, never a 500, whether it was running a statement or streaming a
    bulk issuance's COPY (which goes to the driver directly), and the next one succeeds."""
    db = Database(postgres_url)
    db.migrate()
    row = ("Lost", "0x" + "2" * 40, "did:ethr:0x1:lost")
    try:
        with pytest.raises(StorageError) as raised, db.session() as session:
            backend = session.execute(text("SELECT pg_backend_pid()")).scalar()
            with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
            if write == "statement":
                session.add(Institution(name=row[0], address=row[1], did=row[2]))
                session.flush()
            else:
                driver = session.connection().connection.driver_connection
                assert driver is not None
                copy_rows(driver, "institution", ["name", "address", "did"], [row])
        assert raised.value.retryable
        assert "terminating connection" in raised.value.detail
        with db.session() as session:
            session.add(Institution(name=row[0], address=row[1], did=row[2]))
        with db.session() as session:
            assert [i.name for i in session.exec(select(Institution))] == ["Lost"]
    finally:
        db.dispose()


@pytest.mark.parametrize("url", ["not a url", "mysql://root@localhost/x", "postgresql://:bad:"])
def test_a_malformed_database_url_is_one_clear_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Database(url)
    assert raised.value.code in {"invalid_database_url"}


def test_lists_from_before_the_message_design_are_served_but_never_allocated_from(
    database: Database,
) -> None:
    """A 1-bit list (status_size 1, as the migration marks existing ones) with room left is
    skipped: new entries go to a new 2-bit list numbered after it, from its upper half; the old
    list is served only as `-revocation` / `-suspension`, a 2-bit list only as `-status`."""
    with database.session() as session:
        institution = Institution(name="U", address="0x" + "3" * 40, did="did:ethr:0x1:v")
        session.add(institution)
        session.flush()
        session.add(
            StatusList(
                institution_id=institution.id,  # type: ignore[arg-type]
                list_number=0,
                capacity=1000,
                next_index=10,
                status_size=1,
            )
        )
        session.refresh(institution)
        session.expunge(institution)
    service = IssuanceService(
        database,
        "http://node",
        signing_key=lambda _: None,  # type: ignore[arg-type,return-value]
        chain_info=ChainInfo(1, "0x0"),
        on_queued=lambda _: None,
        list_capacity=1000,
    )
    assert service._allocator.allocate(institution, 3) == [(1, 500), (1, 501), (1, 502)]
    [entry] = service._entries(institution, (1, 500))
    address = "0x" + "3" * 40
    assert entry["statusListCredential"] == f"http://node/v1/status-lists/{address}-1-status"

    status = StatusService(
        database,
        None,  # type: ignore[arg-type]  # no chain: list ids are resolved from the database
        lambda _: None,  # type: ignore[arg-type,return-value]
        lambda: None,
        service.status_list_url,
        "http://node/v1/status-lists/",
    )
    for list_id in (f"{address}-0-status", f"{address}-1-revocation", f"{address}-1-message"):
        with pytest.raises(NotFound):
            status._parse_list_id(list_id)
    assert status._parse_list_id(f"{address}-0-suspension")[1].status_size == 1
    assert status._parse_list_id(f"{address}-1-status")[1].status_size == 2
