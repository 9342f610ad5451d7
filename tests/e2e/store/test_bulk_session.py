"""`Database.bulk_session`: on SQLite its commit leaves the WAL checkpoint to a background
thread (a request of thousands of credentials otherwise pays for copying every page it wrote);
what it commits is committed all the same. On PostgreSQL it is an ordinary session, and the
sealed document column is stored without compression attempts (migration 0009)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from node.store.db import Database

#: Rows of 2 KB: about 1,000 SQLite pages, as much as `wal_autocheckpoint` lets a WAL hold.
ROWS = 2_000


def _write(database: Database, bulk: bool) -> None:
    storing = database.bulk_session if bulk else database.session
    with storing() as session:
        connection = session.connection()
        connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS scratch (data BLOB)")
        connection.execute(
            text("INSERT INTO scratch (data) VALUES (:data)"),
            [{"data": os.urandom(2048)} for _ in range(ROWS)],
        )


def test_a_bulk_commit_is_checkpointed_in_the_background_not_in_the_commit(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lernode.sqlite"
    database = Database(f"sqlite:///{path}")
    try:
        with database.bulk_session() as session:
            assert session.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        with database.session() as session:
            assert session.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() > 0
        _write(database, bulk=True)
        with database.reading() as session:
            count = session.connection().exec_driver_sql("SELECT count(*) FROM scratch").scalar()
        assert count == ROWS
        # The pages reach the database file only through a checkpoint: the background one.
        deadline = time.monotonic() + 30
        while path.stat().st_size < ROWS * 2048 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size >= ROWS * 2048
    finally:
        database.dispose()


def test_a_bulk_commit_survives_the_process_dying_before_its_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "lernode.sqlite"
    # The writer dies (no cleanup, no atexit) the moment its commit returns.
    script = (
        "import os\n"
        "from node.store.db import Database\n"
        "from tests.e2e.store.test_bulk_session import _write\n"
        f"_write(Database('sqlite:///{path}'), bulk=True)\n"
        "os._exit(0)\n"
    )
    root = Path(__file__).resolve().parents[3]
    subprocess.run([sys.executable, "-c", script], cwd=root, check=True, timeout=120)
    database = Database(f"sqlite:///{path}")
    try:
        with database.reading() as session:
            count = session.connection().exec_driver_sql("SELECT count(*) FROM scratch").scalar()
        assert count == ROWS
    finally:
        database.dispose()


def test_an_erasure_s_truncating_checkpoint_waits_for_the_background_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lernode.sqlite"
    database = Database(f"sqlite:///{path}")
    try:
        _write(database, bulk=True)
        database.purge_erased()  # TRUNCATE: not "busy" because of our own checkpoint
        assert Path(f"{path}-wal").stat().st_size == 0
    finally:
        database.dispose()


@pytest.mark.postgres
def test_sealed_documents_are_stored_without_compression_attempts(postgres_url: str) -> None:
    database = Database(postgres_url)
    database.migrate()
    try:
        with database.reading() as session:
            storage = (
                session.connection()
                .exec_driver_sql(
                    "SELECT attstorage FROM pg_attribute "
                    "WHERE attrelid = 'credential'::regclass AND attname = 'document'"
                )
                .scalar()
            )
        assert storage == "e"  # EXTERNAL
    finally:
        database.dispose()


def test_the_background_checkpointer_outlives_a_surprise_and_checkpoints_the_next_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "lernode.sqlite"
    database = Database(f"sqlite:///{path}")
    real_connect = sqlite3.connect
    calls: list[str] = []

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        calls.append("connect")
        if len(calls) == 1:
            raise RuntimeError("a surprise while checkpointing")
        return real_connect(*args, **kwargs)

    monkeypatch.setattr("node.store.db.sqlite3.connect", connect)
    try:
        _write(database, bulk=True)  # its checkpoint fails in the background thread
        deadline = time.monotonic() + 30
        while not calls and time.monotonic() < deadline:
            time.sleep(0.01)
        _write(database, bulk=True)  # the same thread checkpoints this one
        while path.stat().st_size < 2 * ROWS * 2048 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size >= 2 * ROWS * 2048
    finally:
        database.dispose()
