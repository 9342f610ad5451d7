"""Revoking, suspending and reinstating credentials, and serving their status lists.

A change is recorded (credential flags, a `StatusUpdate` outbox row, a lifecycle event) in one
database transaction; the anchoring worker, the key's only sender, then writes the bits on chain,
many per transaction. Callers may wait for the chain. The status list credential a verifier
downloads is built from the chain's bitmap, never from the database, so it cannot disagree with
what the contract says.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlmodel import col, select

from node.chain.client import chain_read
from node.chain.contracts.credential_registry import CredentialRegistry
from node.chain.contracts.types import StatusPurpose as ChainPurpose
from node.credentials.proofs import Cryptosuite, sign
from node.credentials.status_list import (
    STATUS_SIZE,
    Bitstring,
    StatusPurpose,
    first_allocatable,
    message_bitstring,
    status_list_credential,
)
from node.did.hosting import signing_identity
from node.errors import Conflict, InvalidInput, NotFound
from node.issuance.service import MESSAGE_LIST_SUFFIX
from node.keystore import Ed25519Key
from node.store.db import Database
from node.store.models import (
    Credential,
    CredentialEvent,
    CredentialKey,
    Institution,
    StatusList,
    StatusUpdate,
)
from node.store.sealing import detail_context, seal

#: Words of one list on chain (131,072 entries / 256 bits).
WORDS_PER_LIST = 512


class StatusAction(StrEnum):
    REVOKE = "revoke"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"


@dataclass(frozen=True)
class StatusChange:
    credential_id: str
    action: StatusAction
    changed: bool  # False when the credential already was in the requested state


class StatusService:
    def __init__(
        self,
        db: Database,
        credential_registry: CredentialRegistry,
        signing_key: Callable[[Institution], Ed25519Key],
        wake_writer: Callable[[], None],
        list_url: Callable[[Institution, int, str], str],
        list_url_prefix: str,
    ) -> None:
        self.db = db
        self.registry = credential_registry
        self._signing_key = signing_key
        self._wake_writer = wake_writer
        self._list_url = list_url
        self._list_url_prefix = list_url_prefix
        self._cache: dict[
            tuple[str, int, str, str], tuple[tuple[tuple[int, ...], ...], dict[str, Any]]
        ] = {}
        self._words: dict[tuple[str, int, str], tuple[int, tuple[int, ...]]] = {}
        self._cache_lock = threading.Lock()

    # -- changing -----------------------------------------------------------------------------

    def apply(
        self,
        institution: Institution | None,
        credential_ids: Sequence[str],
        action: StatusAction,
        *,
        reason: str = "",
    ) -> list[StatusChange]:
        """Record `action` for every credential (all or none); the chain follows.

        Holder-bound copies of a listed credential (made when a wallet collected it) follow
        their original and are reported among the changes. The originals are read locked, so
        a copy being made at the same moment is either refused or found here.
        """
        if not credential_ids:
            raise InvalidInput("no credential ids given", code="empty_request")
        if len(set(credential_ids)) != len(credential_ids):
            raise InvalidInput("a credential id is listed twice", code="duplicate_id")
        changes: list[StatusChange] = []
        with self.db.session() as session:
            rows = session.exec(
                select(Credential).where(col(Credential.id).in_(credential_ids)).with_for_update()
            ).all()
            by_id = {row.id: row for row in rows}
            copies = session.exec(
                select(Credential).where(
                    col(Credential.bound_from).in_(credential_ids),
                    col(Credential.id).not_in(credential_ids),
                )
            ).all()
            by_id.update((row.id, row) for row in copies)
            keys = dict(
                session.exec(
                    select(CredentialKey.credential_id, CredentialKey.key).where(
                        col(CredentialKey.credential_id).in_(by_id)
                    )
                ).all()
            )
            listed = set(credential_ids)
            for credential_id in [*credential_ids, *(row.id for row in copies)]:
                credential = by_id.get(credential_id)
                if credential is None or (
                    institution is not None and credential.institution_id != institution.id
                ):
                    raise NotFound(f"no credential {credential_id}", code="credential_not_found")
                if credential.revoked and credential_id not in listed:
                    continue  # a copy revoked on its own stays revoked, whatever its original
                purpose, value, changed = self._transition(credential, action)
                changes.append(StatusChange(credential_id, action, changed))
                if not changed:
                    continue
                if purpose is StatusPurpose.REVOCATION:
                    credential.revoked = True
                else:
                    credential.suspended = value
                credential.updated_at = datetime.now(UTC)
                session.add(credential)
                session.add(
                    StatusUpdate(
                        credential_id=credential.id,
                        institution_id=credential.institution_id,
                        list_number=credential.status_list,
                        status_index=credential.status_index,
                        purpose=purpose.value,
                        value=value,
                    )
                )
                session.add(
                    CredentialEvent(
                        credential_id=credential.id,
                        event=action.value,
                        detail=_sealed_reason(keys.get(credential.id), reason, credential.id),
                    )
                )
        self._wake_writer()
        return changes

    @staticmethod
    def _transition(
        credential: Credential, action: StatusAction
    ) -> tuple[StatusPurpose, bool, bool]:
        """(purpose, bit value, whether anything changes) for `action` on `credential`."""
        if action is StatusAction.REVOKE:
            return StatusPurpose.REVOCATION, True, not credential.revoked
        if credential.revoked:
            raise Conflict(
                f"credential {credential.id} is revoked; revocation is permanent",
                code="credential_revoked",
            )
        if action is StatusAction.SUSPEND:
            return StatusPurpose.SUSPENSION, True, not credential.suspended
        return StatusPurpose.SUSPENSION, False, credential.suspended

    def wait_on_chain(self, credential_ids: Sequence[str], timeout: float) -> bool:
        """Wait until every status update of these credentials is mined; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with self.db.session() as session:
                open_update = session.exec(
                    select(StatusUpdate.id)
                    .where(
                        col(StatusUpdate.credential_id).in_(credential_ids),
                        col(StatusUpdate.done).is_(False),
                    )
                    .limit(1)
                ).first()
            if open_update is None:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    # -- status list credentials --------------------------------------------------------------

    def own_list(self, url: str) -> dict[str, Any] | None:
        """The status list credential at `url` if it is one of this node's, else None."""
        if not url.startswith(self._list_url_prefix):
            return None
        try:
            return self.list_credential(url.removeprefix(self._list_url_prefix))
        except NotFound:
            return None

    def list_credential(self, list_id: str) -> dict[str, Any]:
        """The signed BitstringStatusListCredential for `{address}-{number}-status` (2 bits per
        entry, from both chain bitmaps) or, for lists from before that design,
        `{address}-{number}-{revocation|suspension}` (1 bit, one bitmap). It is signed under the
        DID the list belongs to (`StatusList.issuer`; docs/did-web.md)."""
        institution, row, purpose = self._parse_list_id(list_id)
        number = row.list_number
        chain_purposes = (
            (StatusPurpose.REVOCATION, StatusPurpose.SUSPENSION)
            if purpose is StatusPurpose.MESSAGE
            else (purpose,)
        )
        words = tuple(self.chain_words(institution.address, number, p) for p in chain_purposes)
        identity = signing_identity(institution, row.issuer or institution.did)
        key = (institution.address, number, purpose.value, identity.did)
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] == words:
                return cached[1]
        if purpose is StatusPurpose.MESSAGE:
            revoked, suspended = (Bitstring.from_words(list(w)).set_indices() for w in words)
            allocatable = range(first_allocatable(row.capacity), row.capacity)
            bits = message_bitstring(revoked, suspended, allocatable=allocatable)
        else:
            bits = Bitstring.from_words(list(words[0]))
        credential = status_list_credential(
            self._list_url(institution, number, purpose.value),
            identity.did,
            purpose,
            bits,
            valid_from=datetime.now(UTC).replace(microsecond=0),
        )
        signing_key = self._signing_key(institution)
        assert identity.verification_method is not None
        signed = sign(
            credential,
            signing_key.private_key,
            identity.verification_method,
            Cryptosuite.EDDSA_RDFC_2022,
        )
        with self._cache_lock:
            self._cache[key] = (words, signed)
        return signed

    def chain_words(self, issuer: str, number: int, purpose: StatusPurpose) -> tuple[int, ...]:
        """The list's bitmap as of the latest block, read once per block (a verifier under load
        asks for the same list many times a second; a block number is far cheaper than 16 KB)."""
        block = chain_read(lambda: self.registry.contract.w3.eth.block_number)
        key = (issuer.lower(), number, purpose.value)
        with self._cache_lock:
            cached = self._words.get(key)
        if cached is not None and cached[0] == block:
            return cached[1]
        words = self.registry.status_words(issuer, number, ChainPurpose[purpose.name], block)
        with self._cache_lock:
            self._words[key] = (block, words)
        return words

    def _parse_list_id(self, list_id: str) -> tuple[Institution, StatusList, StatusPurpose]:
        """The list behind a public list id; a 2-bit list is only served as `-status`, an older
        list only as `-revocation` / `-suspension`."""
        not_found = NotFound(f"no status list {list_id!r}", code="status_list_not_found")
        try:
            address, number_text, suffix = list_id.rsplit("-", 2)
            number = int(number_text)
            if not 0 <= number < 2**63:  # what the database's BIGINT holds
                raise ValueError(number_text)
            purpose = (
                StatusPurpose.MESSAGE if suffix == MESSAGE_LIST_SUFFIX else StatusPurpose(suffix)
            )
        except ValueError:
            raise not_found from None
        if purpose is StatusPurpose.MESSAGE and suffix != MESSAGE_LIST_SUFFIX:
            raise not_found  # "...-message" is not a list URL
        with self.db.session() as session:
            row = session.exec(
                select(Institution, StatusList)
                .join(StatusList, col(StatusList.institution_id) == Institution.id)
                .where(Institution.address == address.lower(), StatusList.list_number == number)
            ).first()
        expected_size = STATUS_SIZE if purpose is StatusPurpose.MESSAGE else 1
        if row is None or row[1].status_size != expected_size:
            raise not_found
        return row[0], row[1], purpose


def _sealed_reason(key: str | None, reason: str, credential_id: str) -> str:
    """A reason is free text about a person ("requested by ..."): sealed with the credential's
    key so that erasure takes it along; an erased credential (no key) keeps none."""
    if not reason or key is None:
        return ""
    return seal(key, reason, detail_context(credential_id))
