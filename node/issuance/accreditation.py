"""Issuing only what the chain will anchor: the institution must be accredited for the type.

A credential issued before its institution is accredited (for that credential type) would be
signed, handed out, and then never anchored: the contract refuses the root. So issuance asks
the IssuerRegistry first and refuses with `issuer_not_accredited` (RFC 9457, 409).

The answer is cached for `ttl` seconds per (institution, type): bulk issuance costs one chain
read per type and minute, not one per credential. While the chain cannot be reached the last
answer stands; with none at all, issuance proceeds (the anchoring worker would surface a
refusal in `/health`), so an RPC outage never stops issuing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from node.errors import ChainError, Conflict
from node.store.models import Institution

log = logging.getLogger(__name__)

#: (issuer address, credential type name) -> accredited at the chain's current time?
AccreditedNow = Callable[[str, str], bool]


class AccreditationGate:
    def __init__(self, accredited_now: AccreditedNow, ttl: float = 30.0) -> None:
        self._accredited_now = accredited_now
        self.ttl = ttl
        self._answers: dict[tuple[str, str], tuple[float, bool]] = {}
        self._guard = threading.Lock()

    def require(self, institution: Institution, kinds: Iterable[str]) -> None:
        """Raise `Conflict(issuer_not_accredited)` unless accredited for every kind."""
        missing = [k for k in dict.fromkeys(kinds) if not self._accredited(institution, k)]
        if missing:
            raise Conflict(
                f"{institution.did} is not accredited to issue {', '.join(missing)}: "
                "ask the consortium for accreditation (lernode govern propose-accreditation)",
                code="issuer_not_accredited",
                issuer=institution.did,
                credential_types=missing,
            )

    def _accredited(self, institution: Institution, kind: str) -> bool:
        key = (institution.address.lower(), kind)
        with self._guard:
            cached = self._answers.get(key)
        if cached is not None and cached[1] and time.monotonic() - cached[0] < self.ttl:
            return True
        try:
            answer = self._accredited_now(institution.address, kind)
        except ChainError as exc:
            log.warning("accreditation of %s not checked (%s)", institution.did, exc.detail)
            return cached[1] if cached is not None else True
        with self._guard:
            self._answers[key] = (time.monotonic(), answer)
        return answer
