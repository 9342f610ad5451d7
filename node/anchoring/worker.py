"""The anchoring worker: the only code that sends transactions for an institution's key.

It drains two outboxes that issuance and revocation fill inside their own database
transactions: pending credentials -> Merkle batches -> one `anchor(root, count, type)`
transaction each (anchors.py, batches.py); pending status updates -> `updateStatusWords`
transactions (status_sending.py). Then it moves what is deep enough to `final` (finality.py) and
checks, at start-up and every few steps, that the chain still holds what the database calls
anchored or final (reconcile.py). Every state change goes through `transitions.transition()`.

Each institution's work runs on its own: a refusal by the chain (a suspended issuer's pending
revocation, a lapsed accreditation) is recorded for that institution and retried with backoff
(refusals.py) while every other institution keeps anchoring. An outage of the chain or the
database stops the step as a whole and is retried with backoff too.

Every step is idempotent so that a crash anywhere is repaired by simply running again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from node.anchoring.anchors import AnchorSender
from node.anchoring.batches import BatchBuilder
from node.anchoring.finality import Finality, MakeDurable
from node.anchoring.lease import SENDER_LOCK_KEY, SenderLease
from node.anchoring.outbox import TxOutbox
from node.anchoring.reconcile import Reconciler
from node.anchoring.refusals import ANCHOR, STATUS, Backoff, Refusals, WorkRefused
from node.anchoring.repository import AnchoringRepository
from node.anchoring.status_sending import STATUS_BATCH, StatusSender, status_groups, word_masks
from node.chain.bindings import Contracts
from node.chain.client import ChainClient
from node.chain.sender import TransactionSender
from node.errors import ChainError, ContractRevert, StorageError
from node.store.db import Database
from node.store.models import Institution

log = logging.getLogger(__name__)

__all__ = [
    "SENDER_LOCK_KEY",
    "STATUS_BATCH",
    "AnchoringWorker",
    "SenderLease",
    "WorkerConfig",
    "status_groups",
    "word_masks",
]


@dataclass(frozen=True)
class WorkerConfig:
    batch_size: int
    batch_interval: float
    confirmations: int
    idle_poll: float = 0.2
    #: First pause after the chain refuses an institution's work; doubled per refusal, capped.
    refusal_backoff: float = 5.0
    refusal_backoff_cap: float = 300.0
    #: Reconcile with the chain every this many steps (and at start-up, everything).
    reconcile_every: int = 10
    #: Continuous reconciliation looks at what changed within this many seconds.
    reconcile_window: float = 600.0


class AnchoringWorker:
    """Drains the anchoring and status outboxes of every institution hosted by this node."""

    def __init__(
        self,
        db: Database,
        chain: ChainClient,
        contracts: Contracts,
        account_for: Callable[[Institution], LocalAccount],
        sender_for: Callable[[LocalAccount], TransactionSender],
        config: WorkerConfig,
        make_durable: MakeDurable | None = None,
    ) -> None:
        self.db = db
        self.chain = chain
        self.contracts = contracts
        self._account_for = account_for
        self._sender_for = sender_for
        self.config = config
        self.repo = AnchoringRepository(db)
        self.refusals = Refusals(
            self.repo, Backoff(config.refusal_backoff, config.refusal_backoff_cap)
        )
        builder = BatchBuilder(self.repo, config.batch_size, config.batch_interval)
        self.anchors = AnchorSender(self.repo, chain, contracts, builder, self._outbox)
        self.statuses = StatusSender(self.repo, contracts, self._outbox)
        self.finality = Finality(self.repo, chain, config.confirmations, make_durable)
        self.reconciler = Reconciler(self.repo, chain, contracts, config.reconcile_window)
        self.wake = threading.Event()
        self._flush = threading.Event()
        self._lock = threading.Lock()  # one step at a time, whoever calls it
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._steps = 0
        self._reconciled_once = False
        self.lease = SenderLease(db)

    # -- running ------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="anchoring-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.lease.release()

    def request_flush(self) -> None:
        """Anchor what is pending now instead of waiting for a full batch."""
        self._flush.set()
        self.wake.set()

    def _run(self) -> None:
        backoff = self.config.idle_poll
        while not self._stop.is_set():
            try:
                busy = self.step()
                backoff = self.config.idle_poll
            except (ChainError, StorageError) as exc:
                # Outages are expected: keep everything queued and retry with backoff.
                log.warning("anchoring paused: %s (retry in %.1fs)", exc.detail, backoff)
                busy = False
                backoff = min(backoff * 2, 30.0)
            except Exception:
                log.exception("anchoring step failed")
                busy = False
                backoff = min(backoff * 2, 30.0)
            if not busy:
                self.wake.wait(backoff)
                self.wake.clear()

    def step(self) -> bool:
        """One pass over all outboxes; True if anything was done (call again soon)."""
        with self._lock:
            if not self.lease.held():
                return False  # another process sends; stand by
            flush = self._flush.is_set()
            self._flush.clear()
            busy = self._reconcile()
            if not (busy or flush or self.repo.has_work()):
                # Nothing queued or on its way: every read below would come back empty. An idle
                # node polls this every `idle_poll` (credentials issued by API worker processes
                # cannot wake this thread), and the whole step cost it several times this read.
                return False
            refusals = self.refusals.active()
            for institution in self.repo.institutions():
                assert institution.id is not None
                for work, run in (
                    (ANCHOR, lambda i=institution: self.anchors.run(i, flush)),
                    (STATUS, lambda i=institution: self.statuses.run(i)),
                ):
                    refusal = refusals.get((institution.id, work))
                    if Refusals.waiting(refusal):
                        continue
                    busy |= self._isolated(institution, work, run, refused=refusal is not None)
            busy |= self.finality.anchors()
            busy |= self.finality.status()
            return busy

    def _reconcile(self) -> bool:
        """Everything at the first step, then what changed recently every few steps."""
        self._steps += 1
        if self._reconciled_once and self._steps % max(1, self.config.reconcile_every):
            return False
        lost = self.reconciler.check(everything=not self._reconciled_once)
        self._reconciled_once = True
        if lost:
            # The chain lost state: the keys' nonce counters may be ahead of it now.
            for institution in self.repo.institutions():
                self._sender_for(self._account_for(institution)).resync_nonce()
        return lost

    def _isolated(
        self, institution: Institution, work: str, run: Callable[[], bool], *, refused: bool
    ) -> bool:
        """Run one institution's `work`; a refusal or a fault stays with that institution."""
        try:
            busy = run()
        except WorkRefused as exc:
            self.refusals.record(institution, work, exc)
            return True
        except StorageError:
            raise  # an outage, not this institution's fault: the whole step backs off
        except ChainError as exc:
            if exc.code == ChainError.code:
                raise  # the chain does not answer: the same for everyone
            # This key's own trouble (no funds, a nonce taken or stranded, a timeout).
            fault = ContractRevert(exc.detail, code=exc.code)
            self.refusals.record(institution, work, WorkRefused(fault, []))
            return True
        except Exception as exc:
            log.exception("%s of %s failed", work, institution.did)
            fault = ContractRevert(f"{type(exc).__name__}: {exc}", code="internal_error")
            self.refusals.record(institution, work, WorkRefused(fault, []))
            return True
        if refused:
            self.refusals.cleared(institution, work)
        return busy

    def drain(self, timeout: float = 120.0) -> None:
        """Run until nothing is pending or waiting for finality (tests, CLI `--wait`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.request_flush()
            self.step()
            if not self.repo.outstanding():
                return
            time.sleep(0.05)
        raise ChainError("anchoring did not finish in time", code="anchoring_timeout")

    def problems(self) -> list[dict[str, Any]]:
        """Institutions whose work the chain refuses now (for `/health` and `lernode status`)."""
        return self.refusals.describe()

    def _outbox(self, institution: Institution) -> TxOutbox:
        return TxOutbox(self.db, self._sender_for(self._account_for(institution)))
