"""One sender per database: the anchoring worker's PostgreSQL advisory-lock lease.

Two processes sending for one key would each count nonces on their own and could anchor the
same batch twice; the lease makes exactly one of them the sender and lets another take over
when it goes away, however it goes away.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from node.anchoring.worker import SenderLease
from node.store.db import Database

pytestmark = pytest.mark.postgres


@pytest.fixture
def two_processes(postgres_url: str) -> Iterator[tuple[Database, Database]]:
    """Two engines on one database: what two API processes have."""
    first, second = Database(postgres_url), Database(postgres_url)
    try:
        yield first, second
    finally:
        first.dispose()
        second.dispose()


def backend_of_lock(url: str) -> list[int]:
    """Backends holding an advisory lock in this test's database (other tests, in other
    databases of the same server, may hold their own at the same time)."""
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()"
        ).fetchall()
    return [int(r[0]) for r in rows]


def test_only_one_process_holds_the_lease_and_it_keeps_it(
    two_processes: tuple[Database, Database],
) -> None:
    a, b = (SenderLease(db) for db in two_processes)
    assert a.held()
    assert not b.held()
    assert a.held(), "asking again must not lose or re-take the lease"
    assert not b.held()
    a.release()
    b.release()


def test_a_released_lease_passes_to_the_standby(two_processes: tuple[Database, Database]) -> None:
    a, b = (SenderLease(db) for db in two_processes)
    assert a.held() and not b.held()
    a.release()
    assert b.held()
    assert not a.held()
    b.release()


def test_a_killed_holder_loses_the_lease_to_the_standby_and_does_not_take_it_back(
    postgres_url: str, two_processes: tuple[Database, Database]
) -> None:
    """kill -9 of the holder = its session ends; simulated by terminating its backend."""
    a, b = (SenderLease(db) for db in two_processes)
    assert a.held()
    (holder,) = backend_of_lock(postgres_url)
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (holder,))
    assert b.held(), "the standby takes over once the holder's session is gone"
    assert not a.held(), "the old holder notices its session is gone and stands by"
    b.release()


def test_the_lease_never_sits_on_a_pooled_connection(postgres_url: str) -> None:
    """A request borrowing the lock's connection from the pool could never release it."""
    db = Database(postgres_url)
    try:
        lease = SenderLease(db)
        assert lease.held()
        assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        lease.release()
        assert backend_of_lock(postgres_url) == []
    finally:
        db.dispose()


def test_sqlite_is_one_process_and_always_holds(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/node.sqlite")
    try:
        assert SenderLease(db).held()
    finally:
        db.dispose()
