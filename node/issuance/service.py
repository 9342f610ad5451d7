"""Issuing credentials: build, sign, store and queue for anchoring.

Status indexes are reserved first, in one short transaction (row-locked on PostgreSQL, so
several API workers never hand out the same index); then every credential row of the request,
which is also its anchoring outbox entry, is written in one transaction. On SQLite building and
signing (the slow part) happen before that transaction, which takes the database's one write
lock; on PostgreSQL each credential is built, signed and streamed into that transaction in turn
(the server stores while the node signs; nothing is visible to others before the commit). A
request refused or failing before its commit gives its indexes back (`StatusAllocator.reserved`);
a crash loses nothing the caller was given either: the request simply failed and a retry issues
afresh (the indexes it skipped stay unused).
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session, col, select

from node.chain.contracts.types import CLR_CREDENTIAL, OPEN_BADGE_CREDENTIAL
from node.credentials import jcs
from node.credentials.format_check import credential_kind
from node.credentials.inputs import CredentialInput, ImageInput, IssuerProfile, LearnerInput
from node.credentials.merkle import leaf
from node.credentials.model import build_clr, build_open_badge, issuer_profile, with_status
from node.credentials.proofs import Cryptosuite, UnsignedCanonical, sign_canonical
from node.credentials.status_list import (
    MIN_LIST_LENGTH,
    StatusPurpose,
    status_entry_text,
    status_list_entry,
)
from node.did.hosting import signing_identity
from node.errors import Conflict, InvalidInput, NotFound
from node.issuance.accreditation import AccreditationGate
from node.issuance.allocation import Reservation, StatusAllocator
from node.issuance.documents import ensure_portable_at, iso, portable_members, submitted
from node.issuance.erasure import erase_credential, record_parts
from node.issuance.rows import credential_rows, insert_credentials
from node.issuance.signer import SigningHelper, rdfc_task
from node.keystore import Ed25519Key
from node.store.db import Database
from node.store.models import (
    AnchorBatch,
    ChainTx,
    Credential,
    CredentialEvent,
    CredentialKey,
    CredentialState,
    Institution,
)
from node.store.sealing import detail_context, document_context, is_sealed, new_key, unseal

#: Most credentials one request may issue.
MAX_PER_REQUEST = 10_000
#: From this many credentials a request's rows (about two SQLite pages each) fill SQLite's
#: `wal_autocheckpoint` of 1,000 pages, so its commit would checkpoint: stored through
#: `Database.bulk_session`, which leaves that to a background thread.
BULK_STORE = 500
#: From this many credentials a request's signatures are computed by the signing helper process
#: on another core (node/issuance/signer.py): below it, the pipe round trips would cost about
#: what they save.
HELPER_SIGNING = 128


@dataclass(frozen=True)
class ChainInfo:
    chain_id: int
    credential_registry: str


#: The purpose of the one status entry each new credential gets (docs/design.md).
ENTRY_PURPOSE = StatusPurpose.MESSAGE
#: The last segment of a `message` (2-bit) list's URL; older lists end in their purpose.
MESSAGE_LIST_SUFFIX = "status"


def status_list_id(institution: Institution, list_number: int, purpose: str) -> str:
    """The public id of one status list credential (the last segment of its URL):
    `{address}-{n}-status` for a 2-bit list, `{address}-{n}-{revocation|suspension}` before."""
    suffix = MESSAGE_LIST_SUFFIX if purpose == StatusPurpose.MESSAGE else purpose
    return f"{institution.address}-{list_number}-{suffix}"


def _rdfc_task(unsigned: UnsignedCanonical) -> bytes:
    return rdfc_task(unsigned.shared.config_hash, unsigned.document_jcs)


def _canonicalized(document: dict[str, Any]) -> Iterator[tuple[dict[str, Any], jcs.Members]]:
    """One document with its canonical members, as `_sign_and_store` takes it."""
    yield document, jcs.canonical_members(document)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a request builds, signs and stores its
    credentials. They are thousands of young containers in no reference cycle (reference
    counting frees them), yet their allocation triggers collections that walk every object of
    the process again and again: a tenth of a request of 1,000 in profiles. It resumes after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class IssuanceService:
    def __init__(
        self,
        db: Database,
        base_url: str,
        signing_key: Callable[[Institution], Ed25519Key],
        chain_info: ChainInfo,
        on_queued: Callable[[bool], None],
        list_capacity: int = MIN_LIST_LENGTH,
        terms_of_use: Callable[[str], list[dict[str, Any]]] | None = None,
        accreditation: AccreditationGate | None = None,
    ) -> None:
        self.db = db
        self.base_url = base_url
        self._signing_key = signing_key
        self.chain_info = chain_info
        self._on_queued = on_queued
        if not 2 <= list_capacity <= MIN_LIST_LENGTH:
            raise ValueError(f"a status list holds 2 to {MIN_LIST_LENGTH} entries")
        self.list_capacity = list_capacity
        self._allocator = StatusAllocator(db, list_capacity)
        #: issuer DID -> `termsOfUse` entries for its credentials (the registry's pointer).
        self._terms_of_use = terms_of_use
        #: Refuses issuing what the chain would never anchor (None: no check, e.g. unit tests).
        self._accreditation = accreditation
        #: Signs bulk requests on another core (none on a machine with one).
        self._signer = SigningHelper() if (os.cpu_count() or 1) > 1 else None

    def close(self) -> None:
        """Stop the signing helper process, if one was started."""
        if self._signer is not None:
            self._signer.close()

    # -- issuing ------------------------------------------------------------------------------

    def issue(
        self,
        institution: Institution,
        inputs: Sequence[CredentialInput],
        *,
        cryptosuite: Cryptosuite = Cryptosuite.EDDSA_RDFC_2022,
        anchor_now: bool = False,
    ) -> list[dict[str, Any]]:
        """Issue one OpenBadgeCredential per input; returns the signed credentials."""
        if not inputs:
            raise InvalidInput("nothing to issue", code="empty_request")
        if len(inputs) > MAX_PER_REQUEST:
            raise InvalidInput(
                f"at most {MAX_PER_REQUEST} credentials per request", code="too_many_credentials"
            )
        self._require_accredited(institution, [OPEN_BADGE_CREDENTIAL])
        profile = self._profile(institution)
        terms = self._terms(profile)
        with _collector_paused():
            return self._issue(institution, inputs, profile, terms, cryptosuite, anchor_now)

    def _issue(
        self,
        institution: Institution,
        inputs: Sequence[CredentialInput],
        profile: IssuerProfile,
        terms: list[dict[str, Any]],
        cryptosuite: Cryptosuite,
        anchor_now: bool,
    ) -> list[dict[str, Any]]:
        with self._allocator.reserved(institution, len(inputs)) as reservation:
            prepared = self._prepared(institution, inputs, profile, terms, reservation.slots)
            return self._sign_and_store(institution, prepared, reservation, cryptosuite, anchor_now)

    def _prepared(
        self,
        institution: Institution,
        inputs: Sequence[CredentialInput],
        profile: IssuerProfile,
        terms: list[dict[str, Any]],
        slots: Sequence[tuple[int, int]],
    ) -> Iterator[tuple[dict[str, Any], jcs.Members]]:
        """Each document built, checked portable and given its status entry as signing draws
        it, so a bulk request's building runs beside the signing helper instead of before it.
        A document refused here fails the request before its commit: nothing is stored, and
        the status entries go back (`StatusAllocator.reserved`)."""
        urls: dict[int, str] = {}
        for at, (item, (number, index)) in enumerate(zip(inputs, slots, strict=True)):
            document = build_open_badge(item, profile, terms_of_use=terms)
            members = portable_members(document, at)
            if number not in urls:
                urls[number] = self.status_list_url(institution, number, ENTRY_PURPOSE)
            url = urls[number]
            # The document is this request's own: its entry is added in place (last, where
            # `with_status` puts it), and the entry's canonical text is written from the
            # members its list's entries share (`status_entry_text`).
            document["credentialStatus"] = status_list_entry(url, index, ENTRY_PURPOSE)
            text, numbers = status_entry_text(url, index, ENTRY_PURPOSE)
            yield document, members.with_text("credentialStatus", text, numbers)

    def issue_clr(
        self,
        institution: Institution,
        learner: LearnerInput,
        achievements: Sequence[CredentialInput],
        *,
        name: str,
        description: str | None = None,
        cryptosuite: Cryptosuite = Cryptosuite.EDDSA_RDFC_2022,
        anchor_now: bool = False,
    ) -> dict[str, Any]:
        """A CLR transcript: each achievement is issued (and anchored) as its own credential,
        then bundled into a ClrCredential that is issued too."""
        envelope = {"name": name, "description": description, "learner": learner.model_dump()}
        ensure_portable_at(envelope, len(achievements))  # before any part is issued
        self._require_accredited(institution, [OPEN_BADGE_CREDENTIAL, CLR_CREDENTIAL])
        parts = self.issue(institution, achievements, cryptosuite=cryptosuite)
        profile = self._profile(institution)
        with self._allocator.reserved(institution, 1) as reservation:
            clr = build_clr(
                parts,
                profile,
                learner,
                name=name,
                description=description,
                credential_status=self._entries(institution, reservation.slots[0]),
                terms_of_use=self._terms(profile),
            )
            return self._sign_and_store(
                institution, _canonicalized(clr), reservation, cryptosuite, anchor_now
            )[0]

    def issue_document(
        self,
        institution: Institution,
        credential: Mapping[str, Any],
        *,
        cryptosuite: Cryptosuite = Cryptosuite.EDDSA_RDFC_2022,
        anchor_now: bool = False,
    ) -> dict[str, Any]:
        """Sign a credential the caller wrote (the VC-API's `/credentials/issue`): as given,
        plus an `id` when it has none and the node's status entry; stored and anchored like any
        other. The issuer must be the institution's DID; an Open Badge or CLR only (what the
        consortium accredits), well-formed, without a status entry or proof of its own."""
        document = submitted(credential, institution)
        self._require_accredited(institution, [credential_kind(document)])
        with self.db.session() as session:
            if session.get(Credential, document["id"]) is not None:
                raise Conflict(
                    f"a credential {document['id']} was already issued", code="credential_exists"
                )
        with self._allocator.reserved(institution, 1) as reservation:
            document = with_status(document, self._entries(institution, reservation.slots[0]))
            return self._sign_and_store(
                institution, _canonicalized(document), reservation, cryptosuite, anchor_now
            )[0]

    def reissue_bound(
        self,
        institution: Institution,
        document: dict[str, Any],
        *,
        bound_from: str,
        cryptosuite: Cryptosuite,
        before: Callable[[Session], None],
        within: Callable[[Session], None],
    ) -> dict[str, Any]:
        """Issue `document` (unsigned, without status) as the holder-bound copy of credential
        `bound_from`: under the institution's current identity, with a fresh status entry,
        anchored at once. In the transaction that stores the copy, `before` runs first (to take
        its locks before the copy's foreign key does) and `within` after the copy is written;
        either may refuse by raising, which stores nothing (the reserved status index is given
        back, unless another was reserved after it)."""
        self._require_accredited(institution, [credential_kind(document)])
        issuer = issuer_profile(self._profile(institution))
        with self._allocator.reserved(institution, 1) as reservation:
            entries = self._entries(institution, reservation.slots[0])
            document = {
                **document,
                "issuer": issuer,
                "credentialStatus": entries[0] if len(entries) == 1 else entries,
            }
            return self._sign_and_store(
                institution,
                _canonicalized(document),
                reservation,
                cryptosuite,
                anchor_now=True,
                bound_from=bound_from,
                before=before,
                within=within,
            )[0]

    def _require_accredited(self, institution: Institution, kinds: Sequence[str]) -> None:
        if self._accreditation is not None:
            self._accreditation.require(institution, kinds)

    def _profile(self, institution: Institution) -> IssuerProfile:
        if institution.verification_method is None:
            raise Conflict(
                f"{institution.did} has no published signing key yet", code="no_signing_key"
            )
        image = (
            None
            if institution.image_url is None
            else ImageInput(id=institution.image_url, caption=institution.name)
        )
        return IssuerProfile(
            id=signing_identity(institution).did,
            name=institution.name,
            url=institution.profile_url,
            image=image,
        )

    def _terms(self, profile: IssuerProfile) -> list[dict[str, Any]]:
        return self._terms_of_use(profile.id) if self._terms_of_use else []

    def _entries(self, institution: Institution, slot: tuple[int, int]) -> list[dict[str, Any]]:
        """The credential's one status entry: a 2-bit `message` entry (docs/design.md)."""
        list_number, index = slot
        url = self.status_list_url(institution, list_number, ENTRY_PURPOSE)
        return [status_list_entry(url, index, ENTRY_PURPOSE)]

    @property
    def status_list_prefix(self) -> str:
        """Every status list URL of this node starts with this."""
        return f"{self.base_url}/v1/status-lists/"

    def status_list_url(self, institution: Institution, list_number: int, purpose: str) -> str:
        return self.status_list_prefix + status_list_id(institution, list_number, purpose)

    def _sign_and_store(
        self,
        institution: Institution,
        prepared: Iterable[tuple[dict[str, Any], jcs.Members]],
        reservation: Reservation,
        cryptosuite: Cryptosuite,
        anchor_now: bool,
        *,
        bound_from: str | None = None,
        before: Callable[[Session], None] | None = None,
        within: Callable[[Session], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Sign and store the `prepared` documents (each with its canonical members; one per
        reserved status entry), drawn as they are signed.

        On PostgreSQL each credential goes to the database as soon as it is signed (one COPY
        in the storing transaction), so the server stores while the node signs; on SQLite
        every row is made (signed, sealed, hashed) before the storing transaction takes the
        write lock (it would hold off every other writer meanwhile).
        """
        key = self._signing_key(institution)
        method = signing_identity(institution).verification_method
        assert method is not None
        count = len(reservation.slots)
        now = datetime.now(UTC)
        signed: list[dict[str, Any]] = []

        def signing() -> Iterator[tuple[dict[str, Any], bytes]]:
            for secured, text in self._signed(
                prepared, count, key.private_key, method, cryptosuite, now
            ):
                signed.append(secured)
                yield secured, text

        data_keys = [new_key() for _ in range(count)]
        rows = credential_rows(
            signing(), reservation.slots, institution, data_keys, bound_from=bound_from
        )
        if self.db.is_sqlite:
            rows = rows.made()
        storing = self.db.bulk_session if count >= BULK_STORE else self.db.session
        with storing() as session:
            if before is not None:
                before(session)
            insert_credentials(session, rows, data_keys, cryptosuite)
            record_parts(session, signed)
            if within is not None:
                within(session)
            reservation.committing = True
        self._on_queued(anchor_now)
        return signed

    def _signed(
        self,
        prepared: Iterable[tuple[dict[str, Any], jcs.Members]],
        count: int,
        private_key: Ed25519PrivateKey,
        method: str,
        cryptosuite: Cryptosuite,
        created: datetime,
    ) -> Iterator[tuple[dict[str, Any], bytes]]:
        """Each of the `count` documents signed, with its JCS bytes, in order: from
        `HELPER_SIGNING` documents the signatures come from the signing helper process."""
        if self._signer is None or count < HELPER_SIGNING:
            for document, parts in prepared:
                yield sign_canonical(
                    document, parts, private_key, method, cryptosuite, created=created
                )
            return
        suite = Cryptosuite(cryptosuite)
        unsigned = (
            UnsignedCanonical.of(doc, parts, method, suite, created) for doc, parts in prepared
        )
        # RDFC: the helper makes the message (the canonicalization) of the chunks it takes.
        task = None if suite is Cryptosuite.EDDSA_JCS_2022 else _rdfc_task
        for item, proof_value in self._signer.proof_values(
            private_key, unsigned, attrgetter("message"), task
        ):
            yield item.signed(proof_value)

    # -- reading ------------------------------------------------------------------------------

    def record(self, credential_id: str, institution: Institution | None = None) -> Credential:
        """The stored credential; an issuer-scoped caller only sees its own."""
        with self.db.reading() as session:
            credential = session.get(Credential, credential_id)
        if credential is None or (
            institution is not None and credential.institution_id != institution.id
        ):
            raise NotFound(f"no credential {credential_id}", code="credential_not_found")
        return credential

    def document(self, credential: Credential) -> dict[str, Any]:
        text = credential.document
        if text is not None and is_sealed(text):
            with self.db.session() as session:
                key = session.get(CredentialKey, credential.id)
            text = unseal(key.key if key else None, text, document_context(credential.id))
        if text is None:
            raise NotFound(f"credential {credential.id} was erased", code="credential_erased")
        parsed: dict[str, Any] = json.loads(text)
        return parsed

    def receipt(self, credential: Credential) -> dict[str, Any] | None:
        """The anchor receipt a holder keeps, once the credential's root is mined."""
        if credential.batch_id is None or credential.state == CredentialState.PENDING:
            return None
        with self.db.reading() as session:
            batch = session.get(AnchorBatch, credential.batch_id)
            assert batch is not None
            tx = session.get(ChainTx, batch.tx_id) if batch.tx_id is not None else None
            institution = session.get(Institution, credential.institution_id)
            assert institution is not None
        credential_hash_ = bytes.fromhex(credential.credential_hash[2:])
        return {
            "type": "LernodeAnchorReceipt",
            "chainId": self.chain_info.chain_id,
            "contract": self.chain_info.credential_registry,
            "issuer": institution.address,
            "credentialHash": credential.credential_hash,
            "leaf": "0x" + leaf(credential_hash_).hex(),
            "root": batch.root,
            "proof": json.loads(credential.merkle_proof or "[]"),
            "transactionHash": tx.tx_hash if tx else None,
            "blockNumber": batch.block_number,
            "blockTime": iso(batch.block_time),
            "count": batch.count,
        }

    def receipt_for_hash(self, digest: bytes) -> dict[str, Any] | None:
        """The receipt of the credential this node issued with hash `digest`, if any."""
        with self.db.reading() as session:
            record = session.exec(
                select(Credential).where(Credential.credential_hash == "0x" + digest.hex())
            ).first()
        return None if record is None else self.receipt(record)

    def events(self, credential_id: str) -> list[dict[str, str]]:
        """The credential's lifecycle log, oldest first."""
        with self.db.reading() as session:
            rows = session.exec(
                select(CredentialEvent)
                .where(CredentialEvent.credential_id == credential_id)
                .order_by(col(CredentialEvent.id))
            ).all()
            key = session.get(CredentialKey, credential_id)
        context = detail_context(credential_id)
        return [
            {
                "event": row.event,
                "detail": unseal(key.key if key else None, row.detail, context) or "",
                "at": iso(row.at) or "",
            }
            for row in rows
        ]

    def bundle(self, credential: Credential) -> dict[str, Any]:
        return {"credential": self.document(credential), "receipt": self.receipt(credential)}

    def summary(self, credential: Credential) -> dict[str, Any]:
        """What the API reports about a credential besides the document."""
        return {
            "id": credential.id,
            "kind": credential.kind,
            "state": credential.state,
            "revoked": credential.revoked,
            "suspended": credential.suspended,
            "erased": credential.erased_at is not None,
            "credentialHash": credential.credential_hash,
            "statusList": credential.status_list,
            "statusIndex": credential.status_index,
        }

    # -- erasure ------------------------------------------------------------------------------

    def erase(self, credential_id: str, institution: Institution | None) -> Credential:
        """Erase the credential's personal data wherever this node holds a copy (a data-subject
        erasure request; what goes with it: `node.issuance.erasure`)."""
        record = self.record(credential_id, institution)
        self.db.retrying(lambda session: erase_credential(session, record.id))
        self.db.purge_erased()
        return self.record(credential_id)
