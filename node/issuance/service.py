"""Issuing credentials: build, sign, store and queue for anchoring.

Status indexes are allocated in one short transaction (row-locked on PostgreSQL, so several API
workers never hand out the same index); signing happens outside any transaction (it is the slow
part); then every credential row of the request, which is also its anchoring outbox entry, is
written in one transaction. A crash before that commit loses nothing the caller was given: the
request simply failed and a retry issues afresh (the skipped indexes stay unused).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from node.chain.contracts.types import (
    CLR_CREDENTIAL,
    OPEN_BADGE_CREDENTIAL,
    credential_type_id,
)
from node.credentials import jcs
from node.credentials.canonical import ensure_portable
from node.credentials.format_check import check_format, credential_kind
from node.credentials.inputs import CredentialInput, ImageInput, IssuerProfile, LearnerInput
from node.credentials.merkle import hash_canonical, leaf
from node.credentials.model import build_clr, build_open_badge, issuer_profile, with_status
from node.credentials.proofs import Cryptosuite, sign
from node.credentials.status_list import (
    MIN_LIST_LENGTH,
    STATUS_SIZE,
    StatusPurpose,
    first_allocatable,
    status_list_entry,
)
from node.did.hosting import signing_identity
from node.errors import Conflict, InvalidInput, NotFound
from node.issuance.accreditation import AccreditationGate
from node.issuance.erasure import erase_credential, record_parts
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
    StatusList,
)
from node.store.sealing import detail_context, document_context, is_sealed, new_key, seal, unseal

#: Open the next list once a list is this full, so allocation never waits for one.
PREALLOCATE_AT = 0.9
#: Most credentials one request may issue.
MAX_PER_REQUEST = 10_000
VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
#: Longest credential id accepted from a caller.
MAX_ID_LENGTH = 512


@dataclass(frozen=True)
class ChainInfo:
    chain_id: int
    credential_registry: str


#: The last segment of a `message` (2-bit) list's URL; older lists end in their purpose.
MESSAGE_LIST_SUFFIX = "status"


def status_list_id(institution: Institution, list_number: int, purpose: str) -> str:
    """The public id of one status list credential (the last segment of its URL):
    `{address}-{n}-status` for a 2-bit list, `{address}-{n}-{revocation|suspension}` before."""
    suffix = MESSAGE_LIST_SUFFIX if purpose == StatusPurpose.MESSAGE else purpose
    return f"{institution.address}-{list_number}-{suffix}"


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
        #: issuer DID -> `termsOfUse` entries for its credentials (the registry's pointer).
        self._terms_of_use = terms_of_use
        #: Refuses issuing what the chain would never anchor (None: no check, e.g. unit tests).
        self._accreditation = accreditation

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
        documents = [build_open_badge(item, profile, terms_of_use=terms) for item in inputs]
        for position, document in enumerate(documents):
            _ensure_portable(document, position)  # before any status entry is spent on it
        slots = self._allocate(institution, len(inputs))
        documents = [
            with_status(document, self._entries(institution, slot))
            for document, slot in zip(documents, slots, strict=True)
        ]
        return self._sign_and_store(institution, documents, slots, cryptosuite, anchor_now)

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
        _ensure_portable(envelope, len(achievements))  # before any part is issued
        self._require_accredited(institution, [OPEN_BADGE_CREDENTIAL, CLR_CREDENTIAL])
        parts = self.issue(institution, achievements, cryptosuite=cryptosuite)
        slot = self._allocate(institution, 1)
        profile = self._profile(institution)
        clr = build_clr(
            parts,
            profile,
            learner,
            name=name,
            description=description,
            credential_status=self._entries(institution, slot[0]),
            terms_of_use=self._terms(profile),
        )
        return self._sign_and_store(institution, [clr], slot, cryptosuite, anchor_now)[0]

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
        document = _submitted(credential, institution)
        self._require_accredited(institution, [credential_kind(document)])
        with self.db.session() as session:
            if session.get(Credential, document["id"]) is not None:
                raise Conflict(
                    f"a credential {document['id']} was already issued", code="credential_exists"
                )
        slot = self._allocate(institution, 1)
        document = with_status(document, self._entries(institution, slot[0]))
        return self._sign_and_store(institution, [document], slot, cryptosuite, anchor_now)[0]

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
        either may refuse by raising, which stores nothing (the reserved status index stays
        unused)."""
        self._require_accredited(institution, [credential_kind(document)])
        slot = self._allocate(institution, 1)
        entries = self._entries(institution, slot[0])
        document = {
            **document,
            "issuer": issuer_profile(self._profile(institution)),
            "credentialStatus": entries[0] if len(entries) == 1 else entries,
        }
        return self._sign_and_store(
            institution,
            [document],
            slot,
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
        url = self.status_list_url(institution, list_number, StatusPurpose.MESSAGE)
        return [status_list_entry(url, index, StatusPurpose.MESSAGE)]

    @property
    def status_list_prefix(self) -> str:
        """Every status list URL of this node starts with this."""
        return f"{self.base_url}/v1/status-lists/"

    def status_list_url(self, institution: Institution, list_number: int, purpose: str) -> str:
        return self.status_list_prefix + status_list_id(institution, list_number, purpose)

    def _sign_and_store(
        self,
        institution: Institution,
        documents: list[dict[str, Any]],
        slots: list[tuple[int, int]],
        cryptosuite: Cryptosuite,
        anchor_now: bool,
        *,
        bound_from: str | None = None,
        before: Callable[[Session], None] | None = None,
        within: Callable[[Session], None] | None = None,
    ) -> list[dict[str, Any]]:
        key = self._signing_key(institution)
        method = signing_identity(institution).verification_method
        assert method is not None
        now = datetime.now(UTC)
        signed = [sign(doc, key.private_key, method, cryptosuite, created=now) for doc in documents]
        data_keys = [new_key() for _ in signed]
        with self.db.session() as session:
            if before is not None:
                before(session)
            for document, data_key, (list_number, index) in zip(
                signed, data_keys, slots, strict=True
            ):
                kind = credential_kind(document)
                canonical = jcs.canonicalize(document)
                session.add(
                    Credential(
                        id=document["id"],
                        institution_id=institution.id,  # type: ignore[arg-type]
                        kind=kind,
                        credential_type_id="0x" + credential_type_id(kind).hex(),
                        document=seal(
                            data_key, canonical.decode(), document_context(document["id"])
                        ),
                        credential_hash="0x" + hash_canonical(canonical).hex(),
                        status_list=list_number,
                        status_index=index,
                        valid_from=_parse_time(document.get("validFrom")),
                        valid_until=_parse_time(document.get("validUntil")),
                        bound_from=bound_from,
                    )
                )
            session.flush()
            session.add_all(
                CredentialKey(credential_id=document["id"], key=data_key)
                for document, data_key in zip(signed, data_keys, strict=True)
            )
            session.flush()  # the keys are found by `within` (it seals what it writes)
            record_parts(session, signed)
            session.add_all(
                CredentialEvent(credential_id=document["id"], event="issued", detail=cryptosuite)
                for document in signed
            )
            if within is not None:
                within(session)
        self._on_queued(anchor_now)
        return signed

    def _allocate(self, institution: Institution, count: int) -> list[tuple[int, int]]:
        """Reserve `count` status entries, opening new lists as they fill.

        Each reservation is one conditional `UPDATE ... RETURNING` (the database adds to the
        counter only while the list has room), so concurrent issuers in threads or in several API
        processes can never receive the same index.
        """

        def reserve(session: Session) -> list[tuple[int, int]]:
            slots: list[tuple[int, int]] = []
            while len(slots) < count:
                list_id, number, capacity, used = self._list_with_room(session, institution)
                take = min(count - len(slots), capacity - used)
                claimed = session.execute(
                    update(StatusList)
                    .where(
                        col(StatusList.id) == list_id,
                        col(StatusList.next_index) + take <= col(StatusList.capacity),
                    )
                    .values(next_index=col(StatusList.next_index) + take)
                    .returning(col(StatusList.next_index))
                ).first()
                if claimed is None:
                    continue  # another issuer filled it meanwhile: look again
                end = int(claimed[0])
                slots.extend((number, index) for index in range(end - take, end))
                if end >= capacity * PREALLOCATE_AT:
                    self._ensure_list(session, institution, number + 1)
            return slots

        return self.db.retrying(reserve)

    def _list_with_room(
        self, session: Session, institution: Institution
    ) -> tuple[int, int, int, int]:
        """(id, number, capacity, used) of the lowest 2-bit list with room, creating one if none
        (1-bit lists from before the message design are never allocated from again).

        Only lists signed under the DID the institution issues as now qualify: a verifier
        requires a credential and its status list to name the same issuer (docs/did-web.md).
        """
        issuer = signing_identity(institution).did
        query = (
            select(
                StatusList.id, StatusList.list_number, StatusList.capacity, StatusList.next_index
            )
            .where(
                StatusList.institution_id == institution.id,
                StatusList.status_size == STATUS_SIZE,
                col(StatusList.next_index) < col(StatusList.capacity),
                func.coalesce(col(StatusList.issuer), institution.did) == issuer,
            )
            .order_by(col(StatusList.list_number))
            .limit(1)
        )
        found = session.exec(query).first()
        if found is None:
            last = session.exec(
                select(StatusList.list_number)
                .where(StatusList.institution_id == institution.id)
                .order_by(col(StatusList.list_number).desc())
            ).first()
            self._ensure_list(session, institution, 0 if last is None else last + 1)
            found = session.exec(query).first()
        assert found is not None and found[0] is not None
        return found[0], found[1], found[2], found[3]

    def _ensure_list(self, session: Session, institution: Institution, number: int) -> None:
        exists = session.exec(
            select(StatusList.id).where(
                StatusList.institution_id == institution.id, StatusList.list_number == number
            )
        ).first()
        if exists is None:
            session.add(
                StatusList(
                    institution_id=institution.id,  # type: ignore[arg-type]
                    list_number=number,
                    capacity=self.list_capacity,
                    next_index=first_allocatable(self.list_capacity),
                    status_size=STATUS_SIZE,
                    issuer=signing_identity(institution).did,
                )
            )
            session.flush()

    # -- reading ------------------------------------------------------------------------------

    def record(self, credential_id: str, institution: Institution | None = None) -> Credential:
        """The stored credential; an issuer-scoped caller only sees its own."""
        with self.db.session() as session:
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
        with self.db.session() as session:
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
            "blockTime": _iso(batch.block_time),
            "count": batch.count,
        }

    def receipt_for_hash(self, digest: bytes) -> dict[str, Any] | None:
        """The receipt of the credential this node issued with hash `digest`, if any."""
        with self.db.session() as session:
            record = session.exec(
                select(Credential).where(Credential.credential_hash == "0x" + digest.hex())
            ).first()
        return None if record is None else self.receipt(record)

    def events(self, credential_id: str) -> list[dict[str, str]]:
        """The credential's lifecycle log, oldest first."""
        with self.db.session() as session:
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
                "at": _iso(row.at) or "",
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


def _submitted(credential: Mapping[str, Any], institution: Institution) -> dict[str, Any]:
    """A caller-written credential checked for `issue_document` (a copy, with an id)."""
    if not isinstance(credential, Mapping):
        raise InvalidInput("the credential must be a JSON object", code="not_a_credential")
    context = credential.get("@context")
    contexts = context if isinstance(context, list) else [context]
    if not contexts or contexts[0] != VC_V2_CONTEXT:
        raise InvalidInput(
            f"a VC 2.0 credential's @context starts with {VC_V2_CONTEXT}", code="invalid_context"
        )
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if issuer_id != institution.did:
        raise InvalidInput(
            f"the credential's issuer must be the calling institution, {institution.did}",
            code="issuer_mismatch",
        )
    for member in ("proof", "credentialStatus"):
        if member in credential:
            raise InvalidInput(
                f"the credential already has a {member}; the node adds its own",
                code=f"{member.lower()}_not_allowed",
            )
    credential_kind(credential)
    document = dict(credential)
    document.setdefault("id", f"urn:uuid:{uuid.uuid4()}")
    if not isinstance(document["id"], str) or len(document["id"]) > MAX_ID_LENGTH:
        raise InvalidInput("the credential id must be a string URI", code="invalid_credential_id")
    ensure_portable(document)  # before any status entry is spent on it
    issues = check_format(document)
    if issues:
        first = issues[0]
        raise InvalidInput(
            f"not a well-formed credential: {first.path or '/'}: {first.message}", code=first.code
        )
    return document


def _ensure_portable(document: dict[str, Any], position: int) -> None:
    """Refuse what jsonld.js and pyld would canonicalize differently, naming the credential."""
    try:
        ensure_portable(document)
    except InvalidInput as error:
        raise InvalidInput(
            f"credential {position}: {error.detail}",
            code=error.code,
            credential=position,
            **error.extra,
        ) from None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
