"""One node process per data directory, when the directory holds what only one can own.

Two nodes on one directory with an embedded chain or a SQLite database would both start and
write the chain state, and both send with the same keys without a shared lease (nonce
collisions, receipts recorded twice). Nodes on an external chain and a PostgreSQL database may
share a directory (its keys and deployment.json): the database's sending lease coordinates them
(docs/reliability.md, test_concurrency.py), so `claim_data_dir` locks only in the first case.

`lock_data_dir` takes an exclusive `flock` on DATA_DIR/lernode.lock for the rest of the
process's life; the kernel drops it when the process ends however it ends (even SIGKILL), so a
crash never leaves a stale lock. The file holds the holder's PID, for the refusal message.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from node.config import Settings
from node.errors import ConfigurationError

LOCK_FILE = "lernode.lock"

#: Open lock files of this process, by data directory: held until the process exits.
_held: dict[Path, int] = {}


def claim_data_dir(settings: Settings) -> Path | None:
    """Lock the data directory if this node's chain or database lives in it (else None)."""
    if settings.embedded or settings.sqlalchemy_url.startswith("sqlite"):
        return lock_data_dir(settings.data_dir)
    return None


def lock_data_dir(data_dir: Path) -> Path:
    """Lock `data_dir` (created 0700 if missing) for this process, or raise
    `ConfigurationError` naming the process that holds it. Locking again is a no-op."""
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = data_dir.resolve()
        if key in _held:
            return key / LOCK_FILE
        path = key / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ConfigurationError(
            f"data directory {data_dir} is not writable: {exc.strerror}",
            code="data_dir_unwritable",
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise ConfigurationError(
            f"data directory {key} is in use by another lernode process (PID {holder})",
            code="data_dir_locked",
            pid=holder,
        ) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    os.fsync(fd)
    _held[key] = fd
    return path
