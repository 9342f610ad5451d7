"""What an erasure request takes with it.

A learner's personal data can sit in more than the one row asked about, and all of it goes:
- the credential's **holder-bound copies** (made when a wallet collected it) and, for a copy, its
  original: the same record for the same person;
- the **achievement credentials a CLR embeds**, when the CLR is erased: the transcript is the
  learner's record, and its parts were issued with it and carry the same person;
- every **CLR that embeds** an erased credential: a signed document cannot be redacted without
  breaking its proof, so the whole CLR is erased (its other achievements, stored as credentials
  of their own, stay);
- the free text written about them (revocation reasons, the holder named when an offer was
  collected) and the holder DID on their offers.

Each erased credential keeps its id, hash, status entry, state and the names and times of its
lifecycle events: none of it is personal data, and with it the node still answers that the
credential existed, was erased, and can be revoked. The data key that sealed the document is
deleted (node/store/sealing.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from node.store.models import Credential, CredentialEvent, CredentialKey, CredentialPart, Offer


def embedded_ids(document: Mapping[str, Any]) -> list[str]:
    """Ids of the credentials a CLR embeds (`credentialSubject.verifiableCredential`)."""
    subject = document.get("credentialSubject")
    embedded = subject.get("verifiableCredential") if isinstance(subject, Mapping) else None
    if not isinstance(embedded, list):
        return []
    return [
        item["id"]
        for item in embedded
        if isinstance(item, Mapping) and isinstance(item.get("id"), str)
    ]


def record_parts(session: Session, documents: Sequence[Mapping[str, Any]]) -> None:
    """Link each stored credential to the credentials of this node it embeds."""
    links = {(doc["id"], part) for doc in documents for part in embedded_ids(doc)}
    if not links:
        return
    known = set(
        session.exec(
            select(Credential.id).where(col(Credential.id).in_({part for _, part in links}))
        ).all()
    )
    session.add_all(
        CredentialPart(container_id=container, part_id=part)
        for container, part in sorted(links)
        if part in known
    )


def erasure_set(session: Session, credential_id: str) -> set[str]:
    """Every credential an erasure of `credential_id` takes with it (see the module doc)."""
    requested = _bound_family(session, {credential_id})
    parts = set(
        session.exec(
            select(CredentialPart.part_id).where(col(CredentialPart.container_id).in_(requested))
        ).all()
    )
    members = requested | _bound_family(session, parts)
    while True:
        containers = set(
            session.exec(
                select(CredentialPart.container_id).where(col(CredentialPart.part_id).in_(members))
            ).all()
        )
        if containers <= members:
            return members
        members |= _bound_family(session, containers - members)


def erase_credential(session: Session, credential_id: str) -> set[str]:
    """Erase `credential_id` and what goes with it in this transaction; the ids erased."""
    members = erasure_set(session, credential_id)
    now = datetime.now(UTC)
    session.execute(
        update(Credential)
        .where(col(Credential.id).in_(members), col(Credential.erased_at).is_(None))
        .values(erased_at=now)
    )
    session.execute(
        update(Credential)
        .where(col(Credential.id).in_(members))
        .values(document=None, updated_at=now)
    )
    session.execute(delete(CredentialKey).where(col(CredentialKey.credential_id).in_(members)))
    session.execute(
        update(CredentialEvent)
        .where(col(CredentialEvent.credential_id).in_(members))
        .values(detail="")
    )
    session.execute(
        update(Offer)
        .where(
            or_(
                col(Offer.credential_id).in_(members),
                col(Offer.collected_credential_id).in_(members),
            )
        )
        .values(holder=None)
    )
    session.add_all(
        CredentialEvent(
            credential_id=member,
            event="erased",
            detail="" if member == credential_id else f"with {credential_id}",
        )
        for member in sorted(members)
    )
    return members


def _bound_family(session: Session, ids: Iterable[str]) -> set[str]:
    """`ids` with their originals and holder-bound copies."""
    family = set(ids)
    while True:
        rows = session.exec(
            select(Credential.id, Credential.bound_from).where(
                or_(col(Credential.id).in_(family), col(Credential.bound_from).in_(family))
            )
        ).all()
        found = {row[0] for row in rows} | {row[1] for row in rows if row[1] is not None}
        if found <= family:
            return family
        family |= found
