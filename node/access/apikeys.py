"""API keys: who may issue, operate or administer this node over HTTP.

A key reads `lk_<id>_<secret>`: `id` (12 lowercase letters/digits) is public, it names the key in
lists and logs; `secret` is 32 random bytes, base64url. Only sha256(secret) is stored: a secret
with 256 bits of entropy cannot be brute-forced from its hash, so a deliberately slow password
hash would only add latency to every request. Hashes are compared in constant time.

Scopes: `issuer` (issue and revoke for the one institution the key is bound to), `operator` (run
the node: governance proposals, anchoring), `admin` (manage keys; implies every scope).
Rotation keeps the id, scopes and binding and replaces the secret, so the old secret stops
working at once; revocation is permanent.

`last_used_at` is a hint for operators ("is this key still in use?"), not an audit log, so it is
written at most once a minute per key instead of costing a write on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session, col, select

from node.errors import Conflict, InvalidInput, NotFound, Unauthorized
from node.store.db import Database
from node.store.models import ApiKey, Institution, utcnow

KEY_PREFIX = "lk"
ID_LENGTH = 12
SECRET_BYTES = 32
LAST_USED_RESOLUTION = timedelta(minutes=1)

_ID_ALPHABET = string.ascii_lowercase + string.digits
_TOKEN = re.compile(rf"{KEY_PREFIX}_([a-z0-9]{{{ID_LENGTH}}})_([A-Za-z0-9_-]{{43}})")


class Scope(StrEnum):
    ISSUER = "issuer"
    OPERATOR = "operator"
    ADMIN = "admin"


@dataclass(frozen=True)
class ApiKeyInfo:
    """What may be shown about a key: everything but its secret."""

    id: str
    scopes: frozenset[Scope]
    label: str
    institution_id: int | None
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: Scope) -> bool:
        """Whether the key carries `scope` (an admin key carries them all)."""
        return Scope.ADMIN in self.scopes or scope in self.scopes


@dataclass(frozen=True)
class IssuedKey:
    """A key together with its full token, which exists only in this value: show it once."""

    info: ApiKeyInfo
    token: str


class InvalidApiKey(Unauthorized):
    code = "invalid_api_key"
    title = "Invalid API key"


def create_key(
    db: Database,
    scopes: Iterable[Scope | str],
    *,
    label: str = "",
    institution_id: int | None = None,
) -> IssuedKey:
    """Create a key; an `issuer` key must name the institution it issues for."""
    wanted = _parse_scopes(scopes)
    _check_binding(wanted, institution_id)
    secret = _new_secret()
    with db.session() as session:
        if institution_id is not None and session.get(Institution, institution_id) is None:
            raise NotFound(f"no institution {institution_id}", code="institution_not_found")
        key_id = _unused_id(session)
        row = ApiKey(
            id=key_id,
            secret_hash=_hash(secret),
            scopes=" ".join(sorted(wanted)),
            label=label,
            institution_id=institution_id,
        )
        session.add(row)
        session.flush()
        return IssuedKey(_info(row), _token(key_id, secret))


def list_keys(db: Database, *, include_revoked: bool = True) -> list[ApiKeyInfo]:
    """Every key, oldest first; secrets are never part of the answer."""
    with db.session() as session:
        query = select(ApiKey).order_by(col(ApiKey.created_at), col(ApiKey.id))
        if not include_revoked:
            query = query.where(col(ApiKey.revoked_at).is_(None))
        return [_info(row) for row in session.exec(query)]


def get_key(db: Database, key_id: str) -> ApiKeyInfo:
    with db.session() as session:
        return _info(_row(session, key_id))


def rotate_key(db: Database, key_id: str) -> IssuedKey:
    """Give the key a new secret; the previous one is refused from the moment this commits."""
    secret = _new_secret()
    with db.session() as session:
        row = _row(session, key_id)
        if row.revoked_at is not None:
            raise Conflict(f"API key {key_id} is revoked", code="api_key_revoked")
        row.secret_hash = _hash(secret)
        session.add(row)
        session.flush()
        return IssuedKey(_info(row), _token(key_id, secret))


def revoke_key(db: Database, key_id: str) -> ApiKeyInfo:
    """Revoke the key for good (idempotent: revoking again keeps the first revocation time)."""
    with db.session() as session:
        row = _row(session, key_id)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            session.add(row)
            session.flush()
        return _info(row)


def authenticate(db: Database, token: str) -> ApiKeyInfo:
    """The active key `token` belongs to, or `InvalidApiKey` (malformed, unknown, wrong secret
    or revoked: one answer, so a caller learns nothing about which)."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise InvalidApiKey("the API key is malformed")
    key_id, secret = match.groups()
    with db.session() as session:
        row = session.get(ApiKey, key_id)
        # The id is public (it prefixes the key), so only the secret comparison must not leak
        # timing; hash even for an unknown id to keep both paths alike.
        stored = row.secret_hash if row is not None else ""
        if not hmac.compare_digest(_hash(secret), stored) or row is None:
            raise InvalidApiKey("the API key is not valid")
        if row.revoked_at is not None:
            raise InvalidApiKey("the API key is not valid")
        info = _info(row)
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            row.last_used_at = now
            session.add(row)
    return info


# -- helpers --------------------------------------------------------------------------------


def _parse_scopes(scopes: Iterable[Scope | str]) -> frozenset[Scope]:
    wanted = set()
    for scope in scopes:
        try:
            wanted.add(Scope(scope))
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise InvalidInput(
                f"unknown scope {scope!r} (known: {known})", code="unknown_scope"
            ) from None
    if not wanted:
        raise InvalidInput("an API key needs at least one scope", code="unknown_scope")
    return frozenset(wanted)


def _check_binding(scopes: frozenset[Scope], institution_id: int | None) -> None:
    # An issuer key acts for exactly one institution; any other key acts for none (an admin key
    # is trusted with every institution by its scope, not by a binding).
    if Scope.ISSUER in scopes and Scope.ADMIN not in scopes and institution_id is None:
        raise InvalidInput(
            "an issuer key must be bound to an institution", code="institution_required"
        )
    if institution_id is not None and Scope.ISSUER not in scopes:
        raise InvalidInput(
            "only an issuer key is bound to an institution", code="institution_not_allowed"
        )


def _new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _token(key_id: str, secret: str) -> str:
    return f"{KEY_PREFIX}_{key_id}_{secret}"


def _unused_id(session: Session) -> str:
    # 36^12 ids make a collision astronomically unlikely; checking costs one primary-key read.
    while True:
        key_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(ID_LENGTH))
        if session.get(ApiKey, key_id) is None:
            return key_id


def _row(session: Session, key_id: str) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"no API key {key_id}", code="api_key_not_found")
    return row


def _info(row: ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row.id,
        scopes=frozenset(Scope(s) for s in row.scopes.split()),
        label=row.label,
        institution_id=row.institution_id,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )
