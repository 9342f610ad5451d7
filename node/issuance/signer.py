"""Ed25519 proof values of bulk requests computed in a helper process, on another core.

With `eddsa-jcs-2022` the signatures are a third of a bulk request's work, yet they are the one
part that needs nothing of the request but 64 bytes per credential (the hash data) and the key.
A thread cannot take them off the request's core: `cryptography` releases the GIL while it
signs, but every signature then waits up to the interpreter's switch interval (5 ms) for the
GIL back from the thread preparing documents (measured: slower than signing inline). A helper
process has no such hand-off: this process sends it a chunk of messages, prepares the next
chunk while it signs, and finishes the previous chunk's documents with the proof values it
returns (`SigningHelper.proof_values`): each signature already in multibase base58btc, the
proof's text, whose pure-Python base58 (~13 µs) would otherwise fall to the request too.

With `eddsa-rdfc-2022` nearly all of the work is the message itself (the document's RDF
canonicalization), so the helper is sent the document (its JCS text) and makes the message too:
the two processes then canonicalize a request's documents side by side, each the chunks it
takes (`rdfc_task`).

The helper (`python -m node.issuance.signer`) imports `cryptography` and the node's multibase
encoding (and, at its first RDFC task, the node's canonicalization with its bundled contexts),
holds no file, socket or database, and exits when its input closes, which includes this process
dying. Keys reach it through its stdin pipe, never argv, environment or disk. If it fails in any
way, what it has not answered is signed here and the next request starts a new one: a request
never depends on it.

Frames: request = private key (32 bytes) + count (4 bytes, big-endian) + count tasks, each a
kind (1 byte) + payload length (4 bytes, big-endian) + payload: kind 0, the 64-byte message;
kind 1, the 32-byte hash of the proof configuration + the document's JCS text. Answer = count
x 89 ASCII bytes, in order: each signature's proof value (`z` and at most 88 base58 digits)
padded with spaces.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import select
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Generic, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.credentials.multikey import base58btc_multibase

log = logging.getLogger(__name__)

T = TypeVar("T")

MESSAGE_BYTES = 64
#: `z` + the base58 of 64 bytes (at most 88 digits: 58**88 > 256**64).
PROOF_VALUE_BYTES = 89
KEY_BYTES = 32
#: An RDFC task's proof configuration hash (sha256), before the document.
CONFIG_HASH_BYTES = 32
#: Task kinds: a message to sign; an RDFC document whose message the helper makes.
_MESSAGE, _RDFC = 0, 1
_TASK_HEAD = 5
#: A helper that has not answered a chunk within this time is taken for dead.
ANSWER_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Pacing:
    """How a request feeds the helper. `chunk`: tasks per frame, enough that the pipe round
    trips (and waking the helper) cost little, few enough that the request's first documents
    are finished soon. `ahead`: frames the helper may have unanswered; a chunk made while it
    has that many is signed in this process instead, so the request never waits long for a
    helper that is behind (on a machine whose other core also runs PostgreSQL's server, it
    often is), and a helper that keeps up signs all. The request waits for the oldest answer
    once `ahead + 2` chunks are made and not handed back."""

    chunk: int
    ahead: int

    @property
    def queued(self) -> int:
        return self.ahead + 2


#: Messages (`eddsa-jcs-2022`): a frame is ~3 ms of the helper's work, so a backlog of four
#: costs the request at most ~12 ms of waiting at its end. Measured against 32 x 2 (requests of
#: 1,000 alternating in one process, PostgreSQL and SQLite): the request signed ~300 of 1,000
#: itself and took 5-9% longer.
MESSAGES = Pacing(chunk=64, ahead=4)
#: RDFC documents: each is ~1 ms of canonicalization, so the helper is kept near the request's
#: pace: a longer backlog would be waited for at the end.
DOCUMENTS = Pacing(chunk=32, ahead=2)


class HelperFailed(Exception):
    """The helper process did not answer as it should (dead, hung, or ended mid-answer)."""


#: What a helper's failure looks like from here: its pipe broken or closed under us (a node
#: closing while a request signs: "I/O operation on closed file" is a ValueError).
_BROKEN = (HelperFailed, OSError, ValueError)


class SigningHelper:
    """This process's signing helper, started at its first use and kept for the next requests.

    One request uses it at a time; a request arriving meanwhile signs inline (`proof_values`)."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._owner = 0  # the pid that started it: a forked child must start its own
        self._busy = threading.Lock()

    def proof_values(
        self,
        key: Ed25519PrivateKey,
        items: Iterable[T],
        message: Callable[[T], bytes],
        task: Callable[[T], bytes] | None = None,
    ) -> Generator[tuple[T, str], None, None]:
        """Each item with the proof value of its `message(item)` (the Ed25519 signature in
        multibase base58btc), in order. Items are drawn chunks ahead of the proof values
        handed back: the caller's work producing the next chunk runs while the helper signs
        the ones before, and a chunk made while the helper is `Pacing.ahead` chunks behind is
        signed here (so the two processes share the signing as their pace allows).
        `task(item)`: what the helper is sent for an item (`rdfc_task`, paced as `DOCUMENTS`);
        by default its message (`message_task`), made here (paced as `MESSAGES`)."""
        if not self._busy.acquire(blocking=False):
            yield from _signed_inline(key, items, message)
            return
        try:
            if task is None:
                yield from self._pipelined(
                    key, items, message, lambda item: message_task(message(item)), MESSAGES
                )
            else:
                yield from self._pipelined(key, items, message, task, DOCUMENTS)
        finally:
            self._busy.release()

    def _pipelined(
        self,
        key: Ed25519PrivateKey,
        items: Iterable[T],
        message: Callable[[T], bytes],
        task: Callable[[T], bytes],
        pacing: Pacing,
    ) -> Iterator[tuple[T, str]]:
        raw = key.private_bytes_raw()
        helper = self._running()
        answers = _Answers(helper) if helper is not None else None
        queue: deque[_Chunk[T]] = deque()  # in order: each signed here already, or sent

        def failed(error: Exception) -> None:
            nonlocal answers
            self._failed(error)
            answers = None
            for chunk in queue:  # what the helper has not answered is signed here
                if chunk.values is None:
                    chunk.values = _signed_here(key, chunk.items, message)

        def finished(block: bool) -> Iterator[tuple[T, str]]:
            """The chunks at the front that are signed, in order (waiting for the first one's
            answer if `block`)."""
            while queue:
                front = queue[0]
                if front.values is None:
                    assert answers is not None
                    try:
                        front.values = answers.take(len(front.items), block)
                    except _BROKEN as error:
                        failed(error)
                    if front.values is None:
                        return
                queue.popleft()
                yield from zip(front.items, front.values, strict=True)
                block = False

        try:
            for batch in _chunks(items, pacing.chunk):
                chunk = _Chunk(batch)
                sent = sum(1 for waiting in queue if waiting.values is None)
                if answers is not None and sent < pacing.ahead:
                    tasks = [task(item) for item in batch]
                    try:
                        answers.send(raw, tasks)
                    except _BROKEN as error:
                        failed(error)
                if answers is None or sent >= pacing.ahead:
                    # The helper has enough to do (or is gone): this chunk is signed here
                    # meanwhile, instead of waiting for it.
                    chunk.values = _signed_here(key, batch, message)
                queue.append(chunk)
                yield from finished(block=len(queue) > pacing.queued)
            while queue:
                yield from finished(block=True)
        finally:
            unread = sum(len(chunk.items) for chunk in queue if chunk.values is None)
            if unread and answers is not None:
                # Abandoned (the request failed while the helper signed): its answers are read
                # and dropped, else they would be taken for the next request's.
                try:
                    answers.take(unread, block=True)
                except _BROKEN:
                    self.close()

    def _running(self) -> subprocess.Popen[bytes] | None:
        """The helper, started if this process has none alive; None if it cannot start."""
        process = self._process
        if process is not None and self._owner == os.getpid() and process.poll() is None:
            return process
        self._process = None  # a forked child's copy is its parent's: never written to
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                close_fds=True,
            )
        except OSError as error:
            log.warning("no signing helper process (%s): signing in this process", error)
            return None
        _widen(process.stdin)
        self._process, self._owner = process, os.getpid()
        return process

    def _failed(self, error: Exception) -> None:
        """Give the helper up (None: what it was asked is signed inline)."""
        log.warning("the signing helper failed (%s): signing the rest in this process", error)
        self.close()

    def close(self) -> None:
        """Stop the helper (it exits when its input closes; killed if it does not)."""
        process, self._process = self._process, None
        if process is None or self._owner != os.getpid():
            return
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):  # a dead helper's pipe: nothing to flush to
                    stream.close()
        try:
            process.wait(2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _proof_value(key: Ed25519PrivateKey, message: bytes) -> str:
    """The Ed25519 signature of `message` in multibase base58btc (here and in the helper)."""
    return base58btc_multibase(key.sign(message))


def _signed_inline(
    key: Ed25519PrivateKey, items: Iterable[T], message: Callable[[T], bytes]
) -> Iterator[tuple[T, str]]:
    for item in items:
        yield item, _proof_value(key, message(item))


def _signed_here(
    key: Ed25519PrivateKey, items: list[T], message: Callable[[T], bytes]
) -> list[str]:
    return [_proof_value(key, message(item)) for item in items]


class _Chunk(Generic[T]):
    """Items signed together; `values`: their proof values once known."""

    __slots__ = ("items", "values")

    def __init__(self, items: list[T]) -> None:
        self.items = items
        self.values: list[str] | None = None


class _Answers:
    """One request's exchange with the helper: frames sent, and proof values read as they
    come, in the order the frames were sent."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        self._fd = _stream(process.stdout).fileno()
        self._read = bytearray()

    def send(self, key: bytes, tasks: list[bytes]) -> None:
        stream = _stream(self._process.stdin)
        stream.write(key + len(tasks).to_bytes(4, "big") + b"".join(tasks))
        stream.flush()

    def take(self, count: int, block: bool) -> list[str] | None:
        """The next `count` proof values; None if they have not all arrived and not `block`
        (else waiting for them, never past `ANSWER_TIMEOUT_S` without a byte)."""
        wanted = count * PROOF_VALUE_BYTES
        while len(self._read) < wanted:
            ready, _, _ = select.select([self._fd], [], [], ANSWER_TIMEOUT_S if block else 0)
            if not ready:
                if block:
                    raise HelperFailed(f"no answer in {ANSWER_TIMEOUT_S:.0f} s")
                return None
            data = os.read(self._fd, 1 << 16)
            if not data:
                raise HelperFailed("the helper exited")
            self._read += data
        text = self._read[:wanted].decode("ascii")
        del self._read[:wanted]
        return [
            text[i : i + PROOF_VALUE_BYTES].rstrip() for i in range(0, wanted, PROOF_VALUE_BYTES)
        ]


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


#: The helper's input pipe is widened to hold this much (Linux; the default is 64 KB): the frames
#: it has not read yet (`Pacing.ahead` of them: of 64 messages, or of 32 RDFC documents of a few
#: KB each) are written at once, instead of the request waiting for the helper to finish its
#: current frame.
PIPE_BYTES = 1 << 20


def _widen(stream: IO[bytes] | None) -> None:
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if stream is None or set_size is None:
        return
    with contextlib.suppress(OSError):  # above the system's limit: the pipe stays as it is
        fcntl.fcntl(stream.fileno(), set_size, PIPE_BYTES)


def _stream(stream: IO[bytes] | None) -> IO[bytes]:
    if stream is None or stream.closed:
        raise HelperFailed("the helper's pipe is closed")
    return stream


def _answer_field(key: Ed25519PrivateKey, message: bytes) -> bytes:
    """One answer field: the proof value of `message`, padded to `PROOF_VALUE_BYTES`."""
    return _proof_value(key, message).ljust(PROOF_VALUE_BYTES).encode("ascii")


def message_task(message: bytes) -> bytes:
    """The helper's task for a message to sign as it is."""
    if len(message) != MESSAGE_BYTES:
        raise ValueError(f"the helper signs {MESSAGE_BYTES}-byte messages only")
    return _task(_MESSAGE, message)


def rdfc_task(config_hash: bytes, document_jcs: bytes) -> bytes:
    """The helper's task for an `eddsa-rdfc-2022` message it makes itself: the proof
    configuration's hash, then the hash of the document's canonical form
    (`proofs.rdfc_document_hash` of its JCS text)."""
    return _task(_RDFC, config_hash + document_jcs)


def _task(kind: int, payload: bytes) -> bytes:
    return bytes([kind]) + len(payload).to_bytes(4, "big") + payload


def _task_message(kind: int, payload: bytes) -> bytes:
    """The message a task asks the helper to sign (made here for an RDFC document)."""
    if kind == _MESSAGE and len(payload) == MESSAGE_BYTES:
        return payload
    if kind == _RDFC:
        from node.credentials.proofs import rdfc_document_hash  # what only RDFC tasks need

        return payload[:CONFIG_HASH_BYTES] + rdfc_document_hash(payload[CONFIG_HASH_BYTES:])
    raise ValueError(f"a task of kind {kind} with {len(payload)} bytes")


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """The helper's loop: sign each frame's tasks until its input ends (or a task makes no
    sense: then the request signs what is left)."""
    key: Ed25519PrivateKey | None = None
    raw_key = b""
    while True:
        header = requests.read(KEY_BYTES + 4)
        if len(header) < KEY_BYTES + 4:
            return
        if header[:KEY_BYTES] != raw_key:
            raw_key = header[:KEY_BYTES]
            key = Ed25519PrivateKey.from_private_bytes(raw_key)
        assert key is not None
        fields = []
        for _ in range(int.from_bytes(header[KEY_BYTES:], "big")):
            head = requests.read(_TASK_HEAD)
            if len(head) < _TASK_HEAD:
                return
            length = int.from_bytes(head[1:], "big")
            payload = requests.read(length)
            if len(payload) < length:
                return
            fields.append(_answer_field(key, _task_message(head[0], payload)))
        answers.write(b"".join(fields))
        answers.flush()


if __name__ == "__main__":
    # Ctrl-C in a terminal reaches the whole process group: the node decides when to stop,
    # and the helper ends with its input.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(sys.stdin.buffer, sys.stdout.buffer)
