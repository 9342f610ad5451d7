"""A lease on a SQLite database held by one process at a time: an exclusive `flock` on a file
beside the database.

PostgreSQL gives the anchoring worker an advisory lock; SQLite has none, yet several processes
open the same file once the API runs in worker processes (or an operator starts a second node
by mistake). The kernel drops a `flock` when its holder exits, even by kill -9, so a standby
takes over exactly as with the advisory lock. An in-memory database belongs to one process, so
its lease is always held.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from node.store.db import Database


class FileLease:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._fd: int | None = None
        self._guard = threading.Lock()

    @classmethod
    def beside(cls, db: Database, name: str) -> FileLease:
        """The lease file `<database>.<name>.lock` (none for an in-memory database, nor for
        another backend than SQLite)."""
        database = db.engine.url.database
        if not db.is_sqlite or not database or database == ":memory:":
            return cls(None)
        if database.startswith("file::memory:"):
            return cls(None)
        return cls(Path(database).with_name(f"{Path(database).name}.{name}.lock"))

    def held(self) -> bool:
        """True if this process holds the lease now (taking it if it is free)."""
        if self.path is None:
            return True
        with self._guard:
            if self._fd is not None:
                return True
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
            self._fd = fd
            return True

    def release(self) -> None:
        with self._guard:
            fd, self._fd = self._fd, None
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
