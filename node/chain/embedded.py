"""The node's own chain: an anvil whose state the node writes, and which never outlives it.

Anvil's own persistence (`--state` with `--state-interval N`) writes on a timer, so a crash
loses up to N seconds of blocks, and the node had already told users that anchors in those
blocks were `final`. Here the node is the only writer of the state file: anvil only *loads* it
at start (`--load-state`), and the node asks for a dump (`anvil_dumpState`) whenever it must
be sure a block survives a crash (`make_durable`, called before anything is recorded `final`),
every few seconds, and at shutdown. Each dump is written atomically (a 0600 temporary file,
fsync, rename, fsync of the directory), so the file on disk is always a complete state.
Concurrent requests are coalesced: one dump covers every block up to the head it was taken at.

The chain process is bound to the node's life: on Linux the child asks the kernel to kill it
when its parent dies (`PR_SET_PDEATHSIG`), even by SIGKILL; a pidfile lets the next start find
and stop an anvil that survived anyway (verified by the process's start time and command line
before it is signalled).
"""

from __future__ import annotations

import contextlib
import ctypes
import gzip
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Self

from node.chain.anvil import DEFAULT_CHAIN_ID, AnvilProcess
from node.errors import ChainError

log = logging.getLogger(__name__)

STATE_FILE = "anvil-state.json"
PID_FILE = "anvil.pid"
LOG_FILE = "anvil.log"
#: prctl(2) option: signal this process when its parent (thread) exits.
PR_SET_PDEATHSIG = 1
#: How often the keeper checks that anvil is alive (seconds).
WATCH_TICK = 0.5


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash at any moment leaves the old or the new
    content whole, never a mix; mode 0600 from the first byte."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def die_with_parent(parent: int) -> Callable[[], None] | None:
    """A preexec function binding the child to `parent` (Linux only; elsewhere the pidfile
    is the only safeguard). Runs in the forked child: no locks, no logging."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it

    def bind() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return bind


def _stat_after_name(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (the 3rd on), or None if there is
    no such process (or no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (2nd field) may hold spaces and parentheses: split after the last ")".
    return stat.rsplit(")", 1)[1].split()


def parent_pid(pid: int) -> int | None:
    """The parent of `pid` (Linux /proc), or None if there is no such process (or no /proc)."""
    fields = _stat_after_name(pid)
    return None if fields is None else int(fields[1])


def process_start_ticks(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot), or None if no such process: with the pid
    it names one process for good, whereas a pid alone may be reused."""
    fields = _stat_after_name(pid)
    return None if fields is None else int(fields[19])


def process_command(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


class EmbeddedChain(AnvilProcess):
    """The anvil `lernode up` runs in DATA_DIR/chain, with node-written, crash-safe state."""

    def __init__(
        self,
        directory: Path,
        *,
        port: int | None = None,
        chain_id: int = DEFAULT_CHAIN_ID,
        extra_args: Sequence[str] = (),
        save_interval: float = 5.0,
    ) -> None:
        super().__init__(
            port=port, chain_id=chain_id, log_file=directory / LOG_FILE, extra_args=extra_args
        )
        self.directory = directory
        self.state_path = directory / STATE_FILE
        self.pid_path = directory / PID_FILE
        self.save_interval = save_interval
        #: Highest block the state file on disk is known to contain.
        self.durable_head = -1
        self._save_lock = threading.Lock()
        self._watch_stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._stopping = False

    def command(self) -> list[str]:
        args = super().command()
        if self.state_path.exists():
            args += ["--load-state", str(self.state_path)]
        return args

    def _child_setup(self) -> Callable[[], None] | None:
        return die_with_parent(os.getpid())

    def start(self) -> Self:
        if self.is_running():
            return self
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        self.stop_stale()
        # The log is created 0600 before the parent class opens it for appending.
        os.close(os.open(self.directory / LOG_FILE, os.O_WRONLY | os.O_CREAT, 0o600))
        super().start()
        assert self._process is not None
        ticks = process_start_ticks(self._process.pid)
        record = {"pid": self._process.pid, "start_ticks": ticks, "port": self.port}
        write_atomically(self.pid_path, json.dumps(record).encode())
        self.durable_head = -1  # the first request dumps: it knows the head it covers
        self._stopping = False
        self._watch_stop = threading.Event()
        return self

    def stop_stale(self, timeout: float = 10.0) -> bool:
        """Stop an anvil a previous node left running on this directory; True if there was one.

        The pidfile's pid is only signalled if that process started when the pidfile says and
        runs an anvil binary, so a reused pid is never killed.
        """
        try:
            record = json.loads(self.pid_path.read_text())
            pid, ticks = int(record["pid"]), record.get("start_ticks")
        except (OSError, ValueError, KeyError, TypeError):
            return False
        command = process_command(pid)
        alive = process_start_ticks(pid)
        is_ours = (
            alive is not None
            and alive == ticks
            and bool(command)
            and "anvil" in Path(command[0]).name
        )
        if not is_ours:
            self.pid_path.unlink(missing_ok=True)
            return False
        log.warning("stopping the chain (anvil pid %s) a previous node left running", pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while process_start_ticks(pid) == ticks and time.monotonic() < deadline:
            time.sleep(0.05)
        if process_start_ticks(pid) == ticks:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.pid_path.unlink(missing_ok=True)
        return True

    # -- durability ----------------------------------------------------------------------------

    def make_durable(self, block_number: int) -> None:
        """Return once the state file holds `block_number` and every block before it.

        Callers wait for one dump in progress and then usually find their block covered by
        it, so a burst of requests costs one or two dumps, not one each.
        """
        if block_number <= self.durable_head:
            return
        with self._save_lock:
            if block_number <= self.durable_head:
                return
            self._save_locked()
        if block_number > self.durable_head:
            raise ChainError(
                f"block {block_number} is not on the embedded chain (head {self.durable_head})",
                code="chain_not_durable",
            )

    def save(self) -> int:
        """Dump the chain's state to the state file now; the head it covers."""
        with self._save_lock:
            return self._save_locked()

    def _save_locked(self) -> int:
        head = int(self.rpc("eth_blockNumber"), 16)  # read first: the dump holds at least it
        dump = self.rpc("anvil_dumpState")
        state = gzip.decompress(bytes.fromhex(str(dump).removeprefix("0x")))
        write_atomically(self.state_path, state)
        self.durable_head = max(self.durable_head, head)
        return head

    # -- supervision -----------------------------------------------------------------------------

    def watch(self, on_exit: Callable[[ChainError], None]) -> None:
        """In a thread: notice within `WATCH_TICK` if anvil died (then call `on_exit` once),
        and save every `save_interval` seconds to bound what a crash of anvil loses."""

        def run() -> None:
            last_save = time.monotonic()
            while not self._watch_stop.wait(WATCH_TICK):
                try:
                    self.check_alive()
                except ChainError as exc:
                    if not self._stopping:
                        on_exit(exc)
                    return
                except Exception:  # the keeper must not end on a surprise: it is the watch
                    log.exception("checking the embedded chain failed; checking again")
                    continue
                if time.monotonic() - last_save < self.save_interval:
                    continue
                last_save = time.monotonic()
                try:
                    self.save()
                except (ChainError, OSError) as exc:
                    log.warning("could not save the embedded chain's state: %s", exc)
                except Exception:
                    log.exception("could not save the embedded chain's state")

        self._watcher = threading.Thread(target=run, name="chain-keeper", daemon=True)
        self._watcher.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Write the final state, then stop anvil and forget its pid."""
        self._stopping = True
        self._watch_stop.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout)
        if self.is_running():
            try:
                self.save()
            except (ChainError, OSError) as exc:
                log.warning("final save of the embedded chain's state failed: %s", exc)
        super().stop(timeout)
        self.pid_path.unlink(missing_ok=True)
