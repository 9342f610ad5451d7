"""Offers: making them, reading them, and collecting one exactly once.

Collection is the one write that matters and it is atomic: the holder's proof is checked first
(a refused attempt changes nothing), then the bound copy is signed, and one transaction stores
the copy, marks the offer `collected` only if it is still `open` and unexpired (a conditional
UPDATE, so two concurrent collections cannot both win: the loser's transaction rolls back and
stores nothing), locks the original credential and re-checks it is neither revoked nor
suspended, and writes both lifecycle events. Offers past their expiry are marked `expired`
(with a lifecycle event) whenever offers are read.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from node.credentials.proofs import Cryptosuite
from node.delivery.binding import bound_copy, cryptosuite_of, subject_id
from node.delivery.errors import HolderRefused, OfferCollected, OfferGone, OfferNotFound
from node.delivery.holder import PresentationCheck
from node.delivery.links import CONFIGURATIONS, OfferLinks, exchange_domain, exchange_url
from node.errors import Conflict, InvalidInput
from node.issuance.service import IssuanceService
from node.store.db import Database
from node.store.models import Credential, CredentialEvent, Institution, Offer, OfferState
from node.store.sealing import detail_context, holder_context, seal_for, unseal_for

#: Most offers one request may create (a cohort).
MAX_OFFERS_PER_REQUEST = 10_000
#: Offers marked expired per sweep (the rest on the next read).
SWEEP_BATCH = 500
TX_CODE_LENGTH = 6


@dataclass(frozen=True)
class DeliverySettings:
    base_url: str
    wallet_request_url: str
    offer_ttl: int
    token_ttl: int


def _now() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """Datetimes read back from SQLite are naive; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class OfferService:
    def __init__(
        self,
        db: Database,
        issuance: IssuanceService,
        settings: DeliverySettings,
        check_presentation: PresentationCheck,
        institution_of: Callable[[int], Institution],
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.db = db
        self.issuance = issuance
        self.settings = settings
        self._check_presentation = check_presentation
        self._institution_of = institution_of
        self.clock = clock

    # -- the institution's side -----------------------------------------------------------------

    def create(
        self,
        institution: Institution,
        credential_ids: Sequence[str],
        *,
        cohort: str | None = None,
        ttl: int | None = None,
        tx_code: bool = False,
    ) -> list[Offer]:
        """One open offer per credential (all or none), each with fresh secrets."""
        if not credential_ids:
            raise InvalidInput("no credential ids given", code="empty_request")
        if len(credential_ids) > MAX_OFFERS_PER_REQUEST:
            raise InvalidInput(
                f"at most {MAX_OFFERS_PER_REQUEST} offers per request", code="too_many_offers"
            )
        if len(set(credential_ids)) != len(credential_ids):
            raise InvalidInput("a credential id is listed twice", code="duplicate_id")
        now = self.clock()
        expires = now + timedelta(seconds=ttl or self.settings.offer_ttl)
        with self.db.session() as session:
            rows = session.exec(
                select(Credential).where(col(Credential.id).in_(credential_ids))
            ).all()
            by_id = {row.id: row for row in rows}
            offers = []
            for credential_id in credential_ids:
                credential = by_id.get(credential_id)
                if credential is None or credential.institution_id != institution.id:
                    raise OfferNotFound(
                        f"no credential {credential_id}", code="credential_not_found"
                    )
                _require_offerable(credential)
                offer = Offer(
                    id=secrets.token_urlsafe(18),
                    institution_id=institution.id,
                    credential_id=credential_id,
                    cohort=cohort,
                    challenge=secrets.token_urlsafe(24),
                    pre_authorized_code=secrets.token_urlsafe(32),
                    tx_code=_tx_code() if tx_code else None,
                    created_at=now,
                    expires_at=expires,
                )
                session.add(offer)
                offers.append(offer)
            session.flush()
            session.add_all(
                CredentialEvent(
                    credential_id=offer.credential_id,
                    event="offered",
                    detail=f"offer {offer.id} until {_iso(expires)}",
                )
                for offer in offers
            )
        return offers

    def list(
        self,
        institution: Institution,
        *,
        credential_id: str | None = None,
        cohort: str | None = None,
        state: OfferState | None = None,
        limit: int = 1000,
    ) -> list[Offer]:
        self.sweep()
        query = select(Offer).where(Offer.institution_id == institution.id)
        if credential_id is not None:
            query = query.where(Offer.credential_id == credential_id)
        if cohort is not None:
            query = query.where(Offer.cohort == cohort)
        if state is not None:
            query = query.where(Offer.state == state)
        with self.db.session() as session:
            return list(session.exec(query.order_by(col(Offer.created_at)).limit(limit)).all())

    def get(self, offer_id: str, institution: Institution | None = None) -> Offer:
        """The offer (an issuer-scoped caller only sees its own); expiry applied."""
        self.sweep()
        with self.db.session() as session:
            offer = session.get(Offer, offer_id) if isinstance(offer_id, str) else None
        if offer is None or (institution is not None and offer.institution_id != institution.id):
            raise OfferNotFound(f"no offer {str(offer_id)[:64]}")
        return offer

    def cancel(self, offer_id: str, institution: Institution) -> Offer:
        offer = self.get(offer_id, institution)
        with self.db.session() as session:
            changed = session.execute(
                update(Offer)
                .where(col(Offer.id) == offer.id, col(Offer.state) == OfferState.OPEN)
                .values(state=OfferState.CANCELLED)
                .returning(col(Offer.id))
            ).first()
            if changed is not None:
                session.add(
                    CredentialEvent(
                        credential_id=offer.credential_id,
                        event="offer_cancelled",
                        detail=f"offer {offer.id}",
                    )
                )
        return self.get(offer_id, institution)

    def sweep(self) -> int:
        """Mark open offers past their expiry `expired`, with a lifecycle event each."""
        now = self.clock()
        with self.db.session() as session:
            due = session.exec(
                select(Offer)
                .where(Offer.state == OfferState.OPEN, col(Offer.expires_at) <= now)
                .limit(SWEEP_BATCH)
            ).all()
            for offer in due:
                offer.state = OfferState.EXPIRED
                session.add(offer)
                session.add(
                    CredentialEvent(
                        credential_id=offer.credential_id,
                        event="offer_expired",
                        detail=f"offer {offer.id}",
                    )
                )
        return len(due)

    # -- how offers are shown -------------------------------------------------------------------

    def links(self, offer: Offer, kind: str | None = None) -> OfferLinks:
        if kind is None:
            kind = self._kind(offer.credential_id)
        return OfferLinks(
            base_url=self.settings.base_url,
            wallet_request_url=self.settings.wallet_request_url,
            offer_id=offer.id,
            challenge=offer.challenge,
            pre_authorized_code=offer.pre_authorized_code,
            configuration_id=CONFIGURATIONS.get(kind, CONFIGURATIONS["OpenBadgeCredential"]),
            tx_code_length=len(offer.tx_code) if offer.tx_code else None,
        )

    def view(self, offer: Offer) -> dict[str, Any]:
        """What the institution's API shows of an offer (links only while it is open)."""
        record = self.issuance.record(offer.credential_id)
        document = self.issuance.document(record) if record.document is not None else {}
        subject = document.get("credentialSubject")
        learner = subject.get("name") if isinstance(subject, Mapping) else None
        body: dict[str, Any] = {
            "id": offer.id,
            "credentialId": offer.credential_id,
            "cohort": offer.cohort,
            "state": offer.state.value,
            "learner": learner if isinstance(learner, str) else None,
            "createdAt": _iso(offer.created_at),
            "expiresAt": _iso(offer.expires_at),
            "collectedAt": _iso(offer.collected_at) if offer.collected_at else None,
            "protocol": offer.protocol,
            "holder": self._holder(offer),
            "collectedCredentialId": offer.collected_credential_id,
            "txCode": offer.tx_code if offer.state == OfferState.OPEN else None,
            "links": None,
        }
        if offer.state == OfferState.OPEN:
            body["links"] = self.links(offer, record.kind).as_json()
        return body

    def offered_document(self, offer: Offer) -> dict[str, Any]:
        """The credential an offer delivers (as issued, before binding), for the offer page."""
        record = self.issuance.record(offer.credential_id)
        return self.issuance.document(record) if record.document is not None else {}

    def _kind(self, credential_id: str) -> str:
        return self.issuance.record(credential_id).kind

    # -- the wallet's side ----------------------------------------------------------------------

    def open_offer(self, offer_id: str) -> Offer:
        """The offer if it can still be collected; the reason it cannot otherwise."""
        offer = self.get(offer_id)
        _require_open(offer, self.clock())
        return offer

    def presentation_request(self, offer_id: str) -> dict[str, Any]:
        """VC-API: the `verifiablePresentationRequest` asking for DID authentication."""
        offer = self.open_offer(offer_id)
        url = exchange_url(self.settings.base_url, offer.id)
        return {
            "verifiablePresentationRequest": {
                "query": [{"type": "DIDAuthentication", "acceptedMethods": [{"method": "key"}]}],
                "challenge": offer.challenge,
                "domain": exchange_domain(self.settings.base_url),
                "interact": {
                    "service": [
                        {"type": "VerifiableCredentialApiExchangeService", "serviceEndpoint": url}
                    ]
                },
            }
        }

    def collect_with_presentation(
        self, offer_id: str, presentation: Any, *, protocol: str
    ) -> dict[str, Any]:
        """DCC deep link (no domain) and VC-API (domain bound): check, then collect."""
        offer = self.open_offer(offer_id)
        domain = exchange_domain(self.settings.base_url) if protocol == "vcapi" else None
        holder = self._check_presentation(presentation, offer.challenge, domain)
        return self.collect(offer, holder, protocol=protocol)

    def collect(self, offer: Offer, holder: str, *, protocol: str) -> dict[str, Any]:
        """Re-issue the offered credential bound to `holder`; at most once per offer."""
        now = self.clock()
        _require_open(offer, now)
        record = self.issuance.record(offer.credential_id)
        _require_offerable(record)
        original = self.issuance.document(record)
        bound_to = subject_id(original)
        if bound_to is not None and bound_to.startswith("did:") and bound_to != holder:
            raise HolderRefused(
                "this credential names another DID as its subject", code="wrong_holder"
            )
        document = bound_copy(original, holder)
        copy_id = document["id"]

        def lock_original(session: Session) -> None:
            # First, before the copy's foreign key share-locks the original: a status change
            # of the original (which locks it too) and this collection then run one after the
            # other, and concurrent collections queue here instead of deadlocking.
            locked = session.exec(
                select(Credential).where(Credential.id == record.id).with_for_update()
            ).one()
            _require_offerable(locked)

        def claim(session: Session) -> None:
            claimed = session.execute(
                update(Offer)
                .where(
                    col(Offer.id) == offer.id,
                    col(Offer.state) == OfferState.OPEN,
                    col(Offer.expires_at) > now,
                )
                .values(
                    state=OfferState.COLLECTED,
                    holder=seal_for(session, record.id, holder, holder_context(record.id)),
                    protocol=protocol,
                    collected_at=now,
                    collected_credential_id=copy_id,
                )
                .returning(col(Offer.id))
            ).first()
            if claimed is None:
                raise OfferCollected(f"offer {offer.id} was collected already")
            session.add(
                CredentialEvent(
                    credential_id=record.id,
                    event="collected",
                    detail=seal_for(
                        session,
                        record.id,
                        f"by {holder} via {protocol}; holder-bound copy {copy_id}",
                        detail_context(record.id),
                    ),
                )
            )
            session.add(
                CredentialEvent(
                    credential_id=copy_id,
                    event="bound",
                    detail=seal_for(
                        session,
                        copy_id,
                        f"to {holder}; copy of {record.id} (offer {offer.id})",
                        detail_context(copy_id),
                    ),
                )
            )

        return self.issuance.reissue_bound(
            self._institution_of(offer.institution_id),
            document,
            bound_from=record.id,
            cryptosuite=Cryptosuite(cryptosuite_of(original) or Cryptosuite.EDDSA_RDFC_2022),
            before=lock_original,
            within=claim,
        )

    def _holder(self, offer: Offer) -> str | None:
        """The DID that collected the offer (sealed with the credential's key; None once
        erased)."""
        if offer.holder is None:
            return None
        with self.db.session() as session:
            return unseal_for(
                session, offer.credential_id, offer.holder, holder_context(offer.credential_id)
            )

    def by_pre_authorized_code(self, session: Session, code: str) -> Offer | None:
        return session.exec(select(Offer).where(Offer.pre_authorized_code == code)).first()


def _require_open(offer: Offer, now: datetime) -> None:
    if offer.state == OfferState.COLLECTED:
        raise OfferCollected(f"offer {offer.id} was collected already")
    if offer.state == OfferState.CANCELLED:
        raise OfferGone(f"offer {offer.id} was withdrawn by the issuer", code="offer_cancelled")
    if offer.state == OfferState.EXPIRED or aware(offer.expires_at) <= now:
        raise OfferGone(f"offer {offer.id} expired at {_iso(offer.expires_at)}")


def _require_offerable(credential: Credential) -> None:
    if credential.document is None:
        raise OfferGone(f"credential {credential.id} was erased", code="credential_erased")
    if credential.revoked:
        raise Conflict(f"credential {credential.id} is revoked", code="credential_revoked")
    if credential.suspended:
        raise Conflict(f"credential {credential.id} is suspended", code="credential_suspended")
    if credential.bound_from is not None:
        raise Conflict(
            f"credential {credential.id} is already a holder-bound copy", code="already_bound"
        )


def _tx_code() -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(TX_CODE_LENGTH))


def _iso(moment: datetime) -> str:
    return aware(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
