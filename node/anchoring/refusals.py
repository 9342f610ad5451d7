"""An institution whose work the chain refuses waits alone, with backoff, in plain sight.

A suspended or removed issuer with a pending revocation, an accreditation that lapsed: gas
estimation reverts for that institution only. Its refusal is stored (`AnchorRefusal`: reason,
count, next attempt) so that the worker skips its work until the next attempt (exponential
backoff, capped, surviving restarts), `/health` says `degraded` with what is wrong, `lernode
status` shows it, and each affected credential gets an `anchor_refused`/`status_refused` event
the first time. Every other institution keeps anchoring meanwhile.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from node import metrics
from node.anchoring.repository import AnchoringRepository
from node.anchoring.transitions import record_events
from node.errors import ContractRevert
from node.store.models import AnchorRefusal, Institution

log = logging.getLogger(__name__)

#: The two kinds of work a refusal can stop, each on its own.
ANCHOR = "anchor"
STATUS = "status"


class WorkRefused(Exception):
    """The chain refused `work` of one institution; `credential_ids` are the ones it carried."""

    def __init__(self, revert: ContractRevert, credential_ids: list[str]) -> None:
        super().__init__(revert.detail)
        self.revert = revert
        self.credential_ids = credential_ids


@dataclass(frozen=True)
class Backoff:
    """Seconds to wait after the n-th refusal in a row: base * 2^(n-1), at most `cap`."""

    base: float = 5.0
    cap: float = 300.0

    def delay(self, count: int) -> float:
        return min(self.base * 2 ** min(max(count - 1, 0), 30), self.cap)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Refusals:
    """The stored refusals, read once per step."""

    def __init__(self, repo: AnchoringRepository, backoff: Backoff) -> None:
        self.repo = repo
        self.backoff = backoff

    def active(self) -> dict[tuple[int, str], AnchorRefusal]:
        return {(r.institution_id, r.work): r for r, _ in self.repo.refusals()}

    @staticmethod
    def waiting(refusal: AnchorRefusal | None) -> bool:
        """True while the refusal's next attempt is still ahead."""
        return refusal is not None and _aware(refusal.next_attempt_at) > _now()

    def record(self, institution: Institution, work: str, refused: WorkRefused) -> AnchorRefusal:
        """Count one more refusal and push the next attempt back."""
        assert institution.id is not None
        revert = refused.revert
        with self.repo.session() as session:
            row = self.repo.refusal(session, institution.id, work)
            now = _now()
            if row is None:
                row = AnchorRefusal(
                    institution_id=institution.id,
                    work=work,
                    code=revert.code,
                    detail=revert.detail,
                    count=0,
                    first_at=now,
                )
            row.count += 1
            row.code, row.detail, row.last_at = revert.code, revert.detail, now
            delay = self.backoff.delay(row.count)
            row.next_attempt_at = now + timedelta(seconds=delay)
            session.add(row)
            if row.count == 1:
                record_events(session, refused.credential_ids, f"{work}_refused", revert.detail)
            session.flush()
            session.expunge(row)
        metrics.transaction_refused(institution.did)
        log.warning(
            "%s refused for %s (%s, %d in a row): %s; next attempt in %.0fs",
            work, institution.did, revert.code, row.count, revert.detail, delay,
        )  # fmt: skip
        return row

    def cleared(self, institution: Institution, work: str) -> None:
        assert institution.id is not None
        if self.repo.clear_refusal(institution.id, work):
            log.info("%s of %s accepted by the chain again", work, institution.did)

    def describe(self) -> list[dict[str, Any]]:
        """What is wrong, for `/health` and `lernode status`."""
        return [
            {
                "institution": institution.did,
                "institution_id": refusal.institution_id,
                "work": refusal.work,
                "code": refusal.code,
                "detail": refusal.detail,
                "count": refusal.count,
                "since": _aware(refusal.first_at).isoformat(),
                "next_attempt_at": _aware(refusal.next_attempt_at).isoformat(),
            }
            for refusal, institution in self.repo.refusals()
        ]
