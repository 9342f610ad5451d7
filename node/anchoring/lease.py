"""The sending lease: one process per database sends for the institution keys."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from node.store.db import Database
from node.store.file_lease import FileLease

log = logging.getLogger(__name__)

#: PostgreSQL advisory lock key of the sending lease (64-bit; "lernode:anchoring-worker").
SENDER_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"lernode:anchoring-worker").digest()[:8], "big", signed=True
)


class SenderLease:
    """Whether this process may send for the institution keys: one sender per database.

    Several API processes sharing one PostgreSQL database each run an `AnchoringWorker`; if all
    of them sent, one key would have several nonce counters and every batch could be anchored
    by whichever process got there first. The worker therefore holds a session-level PostgreSQL
    advisory lock on a connection of its own for as long as it runs; the others stand by and try
    again each poll. If the holder dies (even by kill -9) the server ends its session and so
    releases the lock, and a standby takes over from the outboxes in the database.

    Holding is re-checked before every step: a lock connection that broke (database restart)
    means the lock may already be someone else's, so the worker drops it and competes again.
    On SQLite the lease is an exclusive file lock beside the database (`FileLease`): API
    worker processes and a second node on the same file open it too.
    """

    def __init__(self, db: Database, key: int = SENDER_LOCK_KEY) -> None:
        self.db = db
        self.key = key
        self._connection: Connection | None = None
        self._guard = threading.Lock()
        self._file = FileLease.beside(db, "sender")

    def held(self) -> bool:
        """True if this process holds the lease now (taking it if it is free)."""
        if self.db.is_sqlite:
            return self._file.held()
        with self._guard:
            if self._connection is not None:
                try:
                    self._connection.execute(text("SELECT 1"))
                    self._connection.commit()
                    return True
                except DBAPIError:
                    log.warning("lost the database session holding the sending lease")
                    self._discard()
            return self._try_take()

    def release(self) -> None:
        self._file.release()
        with self._guard:
            if self._connection is not None:
                try:
                    self._connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": self.key}
                    )
                    self._connection.commit()
                except DBAPIError:
                    pass
                self._discard()

    def _try_take(self) -> bool:
        try:
            connection = self.db.engine.connect()
        except DBAPIError:
            return False
        # Out of the pool: closing it must end the session (and so the lock), and no request
        # may ever borrow a connection that holds it.
        connection.detach()
        try:
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            ).scalar()
            connection.commit()
        except DBAPIError:
            connection.close()
            return False
        if not taken:
            connection.close()
            return False
        log.info("this process is now the chain sender (anchoring lease taken)")
        self._connection = connection
        return True

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(DBAPIError):
                connection.close()
