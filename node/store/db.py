"""Database engine, sessions and migrations.

SQLite (one file in the data directory) is the default so a node starts with nothing installed;
PostgreSQL is for production and for several API workers sharing one database. Both run the same
Alembic migrations. Driver failures surface as `StorageError` (retryable), never as a trace.
"""

from __future__ import annotations

import logging
import os
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError
from sqlmodel import Session, create_engine

from node.errors import ConfigurationError, StorageError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: The migration that sealed personal data at rest (node/store/sealing.py).
SEALING_REVISION = "0007_privacy"
#: How long the post-erasure VACUUM FULL of the key table may wait for its lock.
PURGE_LOCK_TIMEOUT = "10s"
#: How long a purge may repeat VACUUM FULL while older transactions keep erased rows alive.
PURGE_WAIT = 10.0
#: VACUUM VERBOSE's detail: rows it had to keep because a running transaction may see them.
_KEPT_ROWS = re.compile(r"(\d+) dead row versions cannot be removed yet")
log = logging.getLogger(__name__)
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
    # Deleted and overwritten content is zeroed in the page instead of left in free space, so an
    # erased document does not survive in the file (docs/security.md, personal data).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _private_sqlite_file(path: Path) -> None:
    """Create the database file 0600 before SQLite does (it would use the umask), and tighten
    an existing one: SQLite gives its -wal and -shm files the database file's mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists() and file.stat().st_mode & 0o077:
            file.chmod(0o600)


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
        if parsed.database and parsed.database != ":memory:":
            try:
                _private_sqlite_file(Path(parsed.database))
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot create the database {parsed.database}: {exc.strerror}",
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


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


class Database:
    """The node's database: one engine, sessions, and its schema kept at the latest migration."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        #: The same pool; its connections begin read-only transactions (see `_sqlite_begin`).
        self._read_engine = self.engine.execution_options(**{READ_ONLY: True})
        path = make_url(url).database if self.is_sqlite else None
        if path == ":memory:":
            path = None  # a SQLite file only
        self._thread_readers = _ThreadReaders(path) if path else None
        #: SQLite file: connections for `bulk_session` (no checkpoint in their commits) and
        #: the thread that checkpoints after them.
        self._bulk_engine: Engine | None = None
        self._checkpointer: _Checkpointer | None = None
        if path:
            self._bulk_engine = make_engine(url)
            event.listen(self._bulk_engine, "connect", _no_autocheckpoint)
            self._checkpointer = _Checkpointer(path)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        # Alembic narrates every step at INFO; operators only need to hear about failures.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        config = alembic_config(self.url)
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            try:
                before = MigrationContext.configure(connection).get_current_revision()
                command.upgrade(config, "head")
            except OperationalError as exc:
                raise StorageError(f"database unavailable: {_reason(exc)}") from None
        if before is not None and SEALING_REVISION not in _ancestry(config, before):
            try:
                self._rewrite_after_sealing()
            except (DBAPIError, sqlite3.Error) as exc:
                log.warning("the one-time rewrite after sealing failed (run VACUUM): %s", exc)

    def _rewrite_after_sealing(self) -> None:
        """Once, when migration 0007 has just sealed what an older node stored in the clear:
        the plaintext it replaced still sits in old row versions (PostgreSQL) or free pages
        (SQLite before `secure_delete`); rewriting the tables drops them from the files."""
        log.warning(
            "rewriting the credential tables once to drop plaintext left from before sealing"
        )
        if self.is_sqlite:
            raw = self.engine.raw_connection()
            try:
                raw.cursor().execute("VACUUM")
            finally:
                raw.close()
            self._checkpoint_truncate()
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            tables = ("credential", "credentialevent", "offer")
            for table in tables:
                _rewrite_clean(connection, table)
            # Column statistics hold sample values (short reasons, holder DIDs): gather them
            # again from the sealed tables and drop the old rows from the catalog's file.
            connection.exec_driver_sql(f"ANALYZE {', '.join(tables)}")
            _rewrite_clean(connection, "pg_statistic")

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
    def bulk_session(self) -> Iterator[Session]:
        """`session()` for a transaction that writes megabytes (an issuance request of
        thousands of credentials). On SQLite the commit that takes the WAL past
        `wal_autocheckpoint` pages also checkpoints it (copies every page it wrote into the
        database file, fsync): for such a transaction a third of its storing time, paid by the
        caller. Here the commit leaves that to a background thread started right after it (the
        driver releases the GIL while SQLite copies), as PostgreSQL's checkpointer does for its
        commits. Durability is the same: a committed transaction is in the WAL, which SQLite
        replays on the next open; other writers' commits still checkpoint as they always did."""
        if self._bulk_engine is None or self._checkpointer is None:
            with self.session() as session:
                yield session
            return
        with self._transaction(self._bulk_engine) as session:
            yield session
        self._checkpointer.request()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only (verification, resolution, registry answers): on SQLite it
        does not take the write lock, so readers in API threads and worker processes run side
        by side with each other and with the writer. Never write through it."""
        with self._transaction(self._read_engine) as session:
            yield session

    @contextmanager
    def driver_cursor(self) -> Iterator[Any]:
        """A DB-API cursor for the few single-statement reads on every request's path (the
        indexers' cursors), where SQLAlchemy's session and execution machinery cost several
        times the query. Read only. On SQLite each thread keeps its own connection (a pool
        checkout and the reset on return cost more than the query); on PostgreSQL it is a
        pooled connection, whose return rolls back what the driver began. Placeholders follow
        `placeholder`."""
        if self._thread_readers is not None:
            with self._thread_readers.cursor() as own:
                yield own
            return
        driver_error = self.engine.dialect.loaded_dbapi.Error
        try:
            # A pooled connection that has to be made anew fails with the driver's own error:
            # SQLAlchemy wraps connection failures in `connect()`, not in `raw_connection()`.
            connection = self._read_engine.raw_connection()
        except Exception as exc:
            unavailable = _unavailable(exc, self._read_engine)
            if unavailable is None:
                raise
            raise unavailable from exc
        try:
            cursor = connection.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
        except driver_error as exc:
            # Most likely lost: discarded, not reset by the pool on its return (a rollback on
            # a lost connection fails, and the pool logs that with a trace at ERROR).
            connection.invalidate()
            raise StorageError(f"database unavailable: {exc}") from exc
        finally:
            connection.close()

    @property
    def placeholder(self) -> str:
        """The driver's positional placeholder (`?` for sqlite3, `%s` for psycopg)."""
        return "?" if self.engine.dialect.paramstyle == "qmark" else "%s"

    @staticmethod
    @contextmanager
    def _transaction(engine: Engine) -> Iterator[Session]:
        session = Session(engine, expire_on_commit=False)
        try:
            yield session
            session.commit()
        except BaseException as exc:
            _roll_back(session)
            unavailable = _unavailable(exc, engine)
            if unavailable is not None:
                raise unavailable from exc
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

    def purge_erased(self) -> None:
        """After an erasure commits, drop the old copies of what it overwrote from the files.

        SQLite (with `secure_delete`): the pre-erasure pages still sit in the WAL until a
        checkpoint; a TRUNCATE checkpoint copies the zeroed pages into the database and empties
        the WAL (retried while readers hold it). PostgreSQL keeps old row versions in the pages
        until VACUUM: the key table (whose old rows would open sealed copies) is rewritten by
        VACUUM FULL, the other touched tables are vacuumed. VACUUM FULL copies a deleted row
        while a transaction that may still see it runs, so it is repeated (bounded) until it
        reports none kept. Failure is logged, not raised: the erasure itself is committed
        (docs/security.md says what remains in each case).
        """
        try:
            if self.is_sqlite:
                self._checkpoint_truncate()
            else:
                with self.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT"
                ) as connection:
                    connection.exec_driver_sql(f"SET lock_timeout = '{PURGE_LOCK_TIMEOUT}'")
                    try:
                        if not _vacuum_full_until_clean(connection, "credentialkey"):
                            log.warning(
                                "erased data keys still in the key table's file: a transaction "
                                "older than the erasure is still open; the next erasure or "
                                "VACUUM FULL credentialkey drops them"
                            )
                        connection.exec_driver_sql("VACUUM credential, credentialevent, offer")
                    finally:  # the pooled connection goes back as it came
                        connection.exec_driver_sql("RESET lock_timeout")
        except (DBAPIError, sqlite3.Error) as exc:
            reason = _reason(exc) if isinstance(exc, DBAPIError) else str(exc)
            log.warning("erased data not yet purged from the database files: %s", reason)

    def _checkpoint_truncate(self, attempts: int = 5) -> None:
        # Not while our own background checkpoint runs (it would find the WAL busy). The
        # driver connection itself: no BEGIN around it (a checkpoint in a transaction cannot
        # reset the WAL).
        idle = self._checkpointer.idle() if self._checkpointer is not None else nullcontext()
        with idle:
            connection = self.engine.raw_connection()
            try:
                cursor = connection.cursor()
                for _ in range(attempts):
                    busy = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                    if busy is not None and busy[0] == 0:
                        cursor.close()
                        return
                    time.sleep(0.05)
                cursor.close()
            finally:
                connection.close()
        log.warning("the WAL could not be checkpointed after an erasure (readers kept it busy)")

    def dispose(self) -> None:
        if self._thread_readers is not None:
            self._thread_readers.close_all()
        if self._checkpointer is not None:
            self._checkpointer.close()
        if self._bulk_engine is not None:
            self._bulk_engine.dispose()
        self.engine.dispose()


class _Checkpointer:
    """A daemon thread that checkpoints the WAL (PASSIVE: it never waits for, nor blocks,
    readers and writers) when `Database.bulk_session` asks, on its own connection. Started at
    the first request; requests that come while it works fold into one more checkpoint."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fresh()

    def _fresh(self) -> None:
        self._pid = os.getpid()
        self._wake = threading.Event()
        self._busy = threading.Lock()
        self._start = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def _forked(self) -> None:
        """In a child forked after the thread started: no thread, locks as the fork left them
        (possibly held): start afresh."""
        if self._pid != os.getpid():
            self._fresh()

    def request(self) -> None:
        self._forked()
        with self._start:
            if self._closed:
                return
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="lernode-wal-checkpoint", daemon=True
                )
                self._thread.start()
        self._wake.set()

    @contextmanager
    def idle(self) -> Iterator[None]:
        """Held while no background checkpoint runs (another checkpoint would find it busy)."""
        self._forked()
        with self._busy:
            yield

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._closed:
                break
            with self._busy:
                try:
                    if connection is None:
                        connection = sqlite3.connect(
                            self.path, isolation_level=None, check_same_thread=False
                        )
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except Exception as exc:
                    # The next commit past `wal_autocheckpoint` on any other connection, or
                    # the next request here, checkpoints instead (the thread stays for it).
                    if isinstance(exc, sqlite3.Error):
                        log.warning("background WAL checkpoint failed: %s", exc)
                    else:
                        log.exception("background WAL checkpoint failed")
                    if connection is not None:
                        connection.close()
                    connection = None
        if connection is not None:
            connection.close()

    def close(self) -> None:
        self._forked()
        with self._start:
            self._closed = True
            thread, self._thread = self._thread, None
        self._wake.set()
        if thread is not None:
            thread.join(timeout=30)


class _ThreadReaders:
    """One plain sqlite3 connection per thread for `Database.driver_cursor`.

    In autocommit mode each SELECT is its own read transaction, so it sees what was committed
    before it (in any process, through the WAL) and holds nothing between calls. A connection
    that failed is dropped and the next read opens a new one."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[sqlite3.Connection] = []

    @contextmanager
    def cursor(self) -> Iterator[sqlite3.Cursor]:
        connection = self._connection()
        cursor = connection.cursor()
        try:
            yield cursor
        except sqlite3.Error as exc:
            self._drop(connection)
            raise StorageError(f"database unavailable: {exc}") from exc
        finally:
            cursor.close()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            try:
                connection = sqlite3.connect(
                    self.path, timeout=10, isolation_level=None, check_same_thread=False
                )
            except sqlite3.Error as exc:
                raise StorageError(f"database unavailable: {exc}") from exc
            self._local.connection = connection
            with self._lock:
                self._open.append(connection)
        return connection

    def _drop(self, connection: sqlite3.Connection) -> None:
        self._local.connection = None
        with self._lock:
            if connection in self._open:
                self._open.remove(connection)
        connection.close()

    def close_all(self) -> None:
        """Close every thread's connection (their threads open new ones if they read again)."""
        with self._lock:
            connections, self._open = self._open, []
        for connection in connections:
            connection.close()
        self._local = threading.local()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _rewrite_clean(connection: Any, table: str) -> None:
    """Rewrite `table` without the old row versions it holds (again while a transaction
    elsewhere on the server, such as a connection starting up in any database, made VACUUM
    FULL keep some: after sealing, those are plaintext)."""
    if not _vacuum_full_until_clean(connection, table):
        log.warning("old row versions may remain in %s until its next VACUUM FULL", table)


def _vacuum_full_until_clean(connection: Any, table: str) -> bool:
    """`VACUUM FULL table` again until it reports no dead row kept for an older transaction
    (at most `PURGE_WAIT` seconds); False if some still were. A report it cannot read (another
    server language) counts as clean."""
    driver = connection.connection.driver_connection
    details: list[str] = []

    def collect(diagnostic: Any) -> None:
        details.append(diagnostic.message_detail or "")

    driver.add_notice_handler(collect)
    deadline = time.monotonic() + PURGE_WAIT
    try:
        while True:
            details.clear()
            connection.exec_driver_sql(f"VACUUM (FULL, VERBOSE) {table}")
            kept = [int(m.group(1)) for d in details if (m := _KEPT_ROWS.match(d))]
            if not any(kept):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
    finally:
        driver.remove_notice_handler(collect)


def _ancestry(config: Config, revision: str) -> set[str]:
    """`revision` and every migration before it."""
    script = ScriptDirectory.from_config(config)
    return {rev.revision for rev in script.iterate_revisions(revision, "base")}


def _roll_back(session: Session) -> None:
    """Roll back after a failure. On a connection that was lost the rollback fails too: the
    pool then discards that connection, and the failure that came first is the one to report."""
    try:
        session.rollback()
    except DBAPIError as exc:
        log.debug("rollback failed: %s", _reason(exc))


def _unavailable(exc: BaseException, engine: Engine) -> StorageError | None:
    """The retryable error for a failure of the database itself (server gone, connection lost,
    "database is locked"), None for any other. The driver's own errors count too: a bulk write
    (COPY, node/store/copy.py) talks to the driver directly, past SQLAlchemy's wrapping."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, OperationalError):
            return StorageError(f"database unavailable: {_reason(exc)}")
        return None
    driver = engine.dialect.loaded_dbapi
    if isinstance(exc, driver.OperationalError | driver.InterfaceError):
        return StorageError(f"database unavailable: {_first_line(exc)}")
    return None


def _reason(exc: DBAPIError) -> str:
    return _first_line(exc.orig)


def _first_line(error: BaseException | None) -> str:
    message = str(error).strip().splitlines()
    return message[0] if message else type(error).__name__
