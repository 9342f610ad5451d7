"""Database engine, sessions and migrations.

SQLite (one file in the data directory) is the default so a node starts with nothing installed;
PostgreSQL is for production and for several API workers sharing one database. Both run the same
Alembic migrations. Driver failures surface as `StorageError` (retryable), never as a trace.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError
from sqlmodel import Session, create_engine

from node.errors import ConfigurationError, StorageError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
T = TypeVar("T")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Python's sqlite3 driver starts a transaction only at the first write, so a SELECT then
    # UPDATE is not atomic (lost updates). Turn its transaction handling off and BEGIN
    # explicitly (see `_sqlite_begin`).
    dbapi_connection.isolation_level = None
    # WAL lets readers run beside the anchoring worker's writes; the busy timeout turns lock
    # contention between API threads into a short wait instead of an error.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


#: Execution option of `Database.reading()` sessions.
READ_ONLY = "lernode_read_only"


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front: transactions run one after the other (waiting
    # up to the busy timeout), so a read-then-write can neither lose an update nor fail on a
    # stale snapshot. SQLite is the one-machine default; PostgreSQL serves concurrent writers.
    # A read-only session (`Database.reading`) begins DEFERRED instead: in WAL mode it reads a
    # snapshot beside the writer and beside every other reader, in any process.
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """Create an engine for `url`, refusing malformed URLs with one readable line."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ConfigurationError(
            f"LERNODE_DATABASE_URL is not a database URL: {url!r}", code="invalid_database_url"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database:
            parent = Path(parsed.database).parent
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot create the database directory {parent}: {exc.strerror}",
                    code="data_dir_unwritable",
                ) from None
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if backend == "postgresql":
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=20,
            connect_args={"connect_timeout": 5},
        )
    raise ConfigurationError(
        f"unsupported database backend {backend!r} (use sqlite or postgresql)",
        code="invalid_database_url",
    )


class Database:
    """The node's database: one engine, sessions, and its schema kept at the latest migration."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        #: The same pool; its connections begin read-only transactions (see `_sqlite_begin`).
        self._read_engine = self.engine.execution_options(**{READ_ONLY: True})

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        # Alembic narrates every step at INFO; operators only need to hear about failures.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        with self.engine.begin() as connection:
            config = alembic_config(self.url)
            config.attributes["connection"] = connection
            try:
                command.upgrade(config, "head")
            except OperationalError as exc:
                raise StorageError(f"database unavailable: {_reason(exc)}") from None

    def check(self) -> str:
        """`ok`, or a short reason the database cannot be used (for /health)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except DBAPIError as exc:
            return f"unavailable: {_reason(exc)}"
        return "ok"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error.

        Driver errors become `StorageError` so callers (API, worker) can answer "retry later"
        without knowing SQLAlchemy.
        """
        with self._transaction(self.engine) as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only (verification, resolution, registry answers): on SQLite it
        does not take the write lock, so readers in API threads and worker processes run side
        by side with each other and with the writer. Never write through it."""
        with self._transaction(self._read_engine) as session:
            yield session

    @staticmethod
    @contextmanager
    def _transaction(engine: Engine) -> Iterator[Session]:
        session = Session(engine, expire_on_commit=False)
        try:
            yield session
            session.commit()
        except DBAPIError as exc:
            session.rollback()
            if exc.connection_invalidated or isinstance(exc, OperationalError):
                raise StorageError(f"database unavailable: {_reason(exc)}") from exc
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def retrying(self, unit_of_work: Callable[[Session], T], attempts: int = 8) -> T:
        """Run `unit_of_work` in its own transaction, again if it lost a race.

        Two writers that both saw "no row yet" collide on a unique constraint, a SQLite
        reader that upgrades to a writer after another commit gets "database is locked", and
        PostgreSQL aborts one of two writers that wait on each other ("deadlock detected", e.g.
        both opening the next status list while one holds the current list's row); in all cases
        the work is simply redone on fresh data. Other errors propagate at once.
        """
        for attempt in range(attempts):
            try:
                with self.session() as session:
                    return unit_of_work(session)
            except (IntegrityError, StorageError) as exc:
                lost_race = not isinstance(exc, StorageError) or any(
                    reason in exc.detail for reason in ("locked", "deadlock detected")
                )
                if attempt == attempts - 1 or not lost_race:
                    raise
                time.sleep(0.005 * 2**attempt * random.random())
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _reason(exc: DBAPIError) -> str:
    message = str(exc.orig).strip().splitlines()
    return message[0] if message else type(exc.orig).__name__
