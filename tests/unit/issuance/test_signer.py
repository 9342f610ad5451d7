"""The signing helper process (node/issuance/signer.py): a bulk request's proof values computed on
another core are exactly the ones signing here gives, in order, and no failure of the helper
loses, reorders or mixes up a signature: what it did not answer is signed in the requesting
process, and the next request gets a fresh helper."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.credentials import jcs
from node.credentials.inputs import AchievementInput, CredentialInput, IssuerProfile, LearnerInput
from node.credentials.model import build_open_badge
from node.credentials.multikey import base58btc_multibase
from node.credentials.proofs import Cryptosuite, UnsignedCanonical
from node.issuance import signer
from node.issuance.signer import DOCUMENTS, MESSAGES, SigningHelper

#: Messages per frame the helper is sent (RDFC documents go in frames of `DOCUMENTS.chunk`).
CHUNK = MESSAGES.chunk

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))


def _messages(count: int, salt: int = 0) -> list[bytes]:
    return [(salt * 100_000 + i).to_bytes(64, "big") for i in range(count)]


def _signed(
    helper: SigningHelper, key: Ed25519PrivateKey, items: Iterator[bytes] | list[bytes]
) -> list[tuple[bytes, str]]:
    return list(helper.proof_values(key, items, lambda message: message))


def here(key: Ed25519PrivateKey, messages: list[bytes]) -> list[tuple[bytes, str]]:
    """What signing in this process gives: each message with its proof value."""
    return [(m, base58btc_multibase(key.sign(m))) for m in messages]


@pytest.fixture
def helper() -> Iterator[SigningHelper]:
    signer = SigningHelper()
    yield signer
    signer.close()


@pytest.mark.parametrize("count", [1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 3])
def test_the_helper_signs_each_message_as_signing_here_does_in_order(
    helper: SigningHelper, count: int
) -> None:
    messages = _messages(count)
    assert _signed(helper, KEY, messages) == here(KEY, messages)
    assert helper._process is not None and helper._process.poll() is None  # kept for the next


def test_the_helper_makes_rdfc_messages_as_this_process_does(helper: SigningHelper) -> None:
    """With `eddsa-rdfc-2022` the helper is sent each document and canonicalizes it itself:
    the proof values are those of the messages this process makes (Ed25519 is deterministic),
    and the chunks the helper took were never canonicalized here."""
    profile = IssuerProfile(id="did:ethr:0x1:0x" + "ab" * 20, name="Helper University")
    created = datetime(2026, 12, 6, tzinfo=UTC)
    unsigned = []
    for i in range(3 * DOCUMENTS.chunk):
        learner = LearnerInput(name=f"Learner {i}", email=f"learner{i}@example.edu")
        document = build_open_badge(
            CredentialInput(
                learner=learner,
                achievement=AchievementInput(
                    name="Welding", description="Welds.", criteria_narrative="Weld."
                ),
            ),
            profile,
        )
        unsigned.append(
            UnsignedCanonical.of(
                document,
                jcs.canonical_members(document),
                profile.id + "#key-1",
                Cryptosuite.EDDSA_RDFC_2022,
                created,
            )
        )
    values = list(
        helper.proof_values(
            KEY,
            unsigned,
            lambda item: item.message,
            lambda item: signer.rdfc_task(item.shared.config_hash, item.document_jcs),
        )
    )
    made_there = sum("message" not in item.__dict__ for item in unsigned)
    assert made_there >= DOCUMENTS.chunk
    assert values == [(item, base58btc_multibase(KEY.sign(item.message))) for item in unsigned]


def test_a_task_the_helper_cannot_read_ends_it_and_is_signed_here(helper: SigningHelper) -> None:
    """A task of an unknown kind (a node and helper of different versions): the helper exits,
    and the request signs what it had sent it."""
    messages = _messages(2 * CHUNK)
    values = list(helper.proof_values(KEY, messages, lambda m: m, lambda m: bytes([9]) + m))
    assert values == here(KEY, messages)


def test_one_helper_serves_requests_of_different_institutions_keys(helper: SigningHelper) -> None:
    for key, salt in [(KEY, 1), (OTHER_KEY, 2), (KEY, 3)]:
        messages = _messages(2 * CHUNK, salt)
        assert _signed(helper, key, messages) == here(key, messages)


def _kill(helper: SigningHelper) -> None:
    assert helper._process is not None
    helper._process.kill()
    helper._process.wait()


@pytest.mark.parametrize(
    "interruption",
    [_kill, SigningHelper.close],  # the helper dies; the node closes it (another thread)
    ids=["helper-killed", "helper-closed"],
)
def test_a_helper_lost_mid_request_leaves_the_rest_signed_here_and_is_replaced(
    helper: SigningHelper, interruption: Callable[[SigningHelper], None]
) -> None:
    messages = _messages(6 * CHUNK)

    def interrupted_after_two_chunks() -> Iterator[bytes]:
        for at, message in enumerate(messages):
            if at == 2 * CHUNK:
                interruption(helper)
            yield message

    expected = here(KEY, messages)
    assert _signed(helper, KEY, interrupted_after_two_chunks()) == expected
    again = _messages(3 * CHUNK, salt=7)
    assert _signed(helper, KEY, again) == here(KEY, again)
    assert helper._process is not None and helper._process.poll() is None


@pytest.mark.parametrize(
    "impostor",
    [
        "import sys; sys.stdin.buffer.read(100); sys.stdout.buffer.write(b'abc')",  # short, ends
        "import time; time.sleep(60)",  # never answers
    ],
    ids=["answers-short-and-exits", "hangs"],
)
def test_a_helper_that_does_not_answer_in_full_is_given_up_and_its_part_signed_here(
    helper: SigningHelper, impostor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("node.issuance.signer.ANSWER_TIMEOUT_S", 0.5)
    helper._process = subprocess.Popen(
        [sys.executable, "-c", impostor], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    helper._owner = os.getpid()
    messages = _messages(3 * CHUNK)
    assert _signed(helper, KEY, messages) == here(KEY, messages)
    assert helper._process is None  # given up: the next request starts a real one


#: The real helper, taking a tenth of a second over each frame.
SLOW_HELPER = textwrap.dedent(
    """
    import sys, time
    from node.issuance import signer

    class Slow:
        def __init__(self, stream):
            self.stream = stream

        def read(self, size):
            data = self.stream.read(size)
            if size == signer.KEY_BYTES + 4:  # a frame's header: its tasks follow
                time.sleep(0.1)
            return data

    signer.serve(Slow(sys.stdin.buffer), sys.stdout.buffer)
    """
)


def test_a_helper_that_falls_behind_shares_the_signing_with_the_request(
    helper: SigningHelper, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_here: list[int] = []
    sign_here = signer._signed_here

    def counted(
        key: Ed25519PrivateKey, items: list[bytes], message: Callable[[bytes], bytes]
    ) -> list[str]:
        signed_here.append(len(items))
        return sign_here(key, items, message)

    monkeypatch.setattr(signer, "_signed_here", counted)
    helper._process = subprocess.Popen(
        [sys.executable, "-c", SLOW_HELPER], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    helper._owner = os.getpid()
    started = helper._process
    messages = _messages(8 * CHUNK + 3)
    assert _signed(helper, KEY, messages) == here(KEY, messages)
    # The request went on signing while the helper had its chunks to do, and still uses it.
    assert 0 < sum(signed_here) < len(messages)
    assert helper._process is started and started.poll() is None


def test_an_abandoned_request_does_not_hand_its_unread_answers_to_the_next(
    helper: SigningHelper,
) -> None:
    first = helper.proof_values(KEY, _messages(4 * CHUNK, salt=1), lambda m: m)
    next(first)  # its chunks sent, the first answered; then the caller fails and drops it
    started = helper._process
    first.close()
    messages = _messages(2 * CHUNK, salt=2)
    assert _signed(helper, KEY, messages) == here(KEY, messages)
    # Its answers were read and dropped: the helper is kept, not started again.
    assert helper._process is started and started is not None and started.poll() is None


def test_a_request_arriving_while_the_helper_is_busy_signs_here(helper: SigningHelper) -> None:
    busy = helper.proof_values(KEY, _messages(4 * CHUNK, salt=1), lambda m: m)
    next(busy)
    started = helper._process
    messages = _messages(CHUNK + 5, salt=2)
    assert _signed(helper, KEY, messages) == here(KEY, messages)
    assert helper._process is started  # not touched by the second request
    rest = list(busy)
    assert len(rest) == 4 * CHUNK - 1


def test_messages_of_another_length_are_refused_before_anything_is_sent(
    helper: SigningHelper,
) -> None:
    with pytest.raises(ValueError, match="64-byte"):
        _signed(helper, KEY, [b"short"])


def test_the_helper_dies_with_the_process_that_started_it() -> None:
    script = textwrap.dedent(
        """
        import os, sys
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from node.issuance.signer import SigningHelper
        helper = SigningHelper()
        list(helper.proof_values(Ed25519PrivateKey.generate(), [bytes(64)], lambda m: m))
        print(helper._process.pid, flush=True)
        os.kill(os.getpid(), 9)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    helper_pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(helper_pid):
        time.sleep(0.05)
    assert not _alive(helper_pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting for init is gone already
        return stat.read().split()[2] != "Z"
