"""API keys: shown once, stored as a hash, scoped, bound, rotatable and revocable."""

from __future__ import annotations

import hashlib
import re
from dataclasses import fields
from datetime import timedelta

import pytest

from node.access import apikeys
from node.access.apikeys import ApiKeyInfo, InvalidApiKey, Scope
from node.errors import Conflict, InvalidInput, NotFound
from node.store.db import Database
from node.store.models import ApiKey, utcnow

TOKEN = re.compile(r"lk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}")


def test_token_has_the_documented_format_and_only_its_secret_hash_is_stored(
    db: Database,
) -> None:
    issued = apikeys.create_key(db, [Scope.OPERATOR], label="ops")
    assert TOKEN.fullmatch(issued.token)
    _, key_id, secret = issued.token.split("_", 2)
    assert issued.info.id == key_id
    with db.session() as session:
        row = session.get(ApiKey, key_id)
        assert row is not None
        assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in (row.secret_hash, row.scopes, row.label)


def test_every_key_is_different(db: Database) -> None:
    tokens = {apikeys.create_key(db, ["operator"]).token for _ in range(20)}
    assert len({t.split("_")[1] for t in tokens}) == 20


def test_authenticate_returns_the_key(db: Database, institution_id: int) -> None:
    issued = apikeys.create_key(db, ["issuer"], institution_id=institution_id)
    key = apikeys.authenticate(db, issued.token)
    assert key.id == issued.info.id
    assert key.scopes == {Scope.ISSUER}
    assert key.institution_id == institution_id


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # wrong secret
        lambda t: "lk_zzzzzzzzzzzz_" + t.split("_", 2)[2],  # unknown id
        lambda t: t[:-3],  # malformed: short secret
        lambda t: t.replace("lk_", "xx_"),  # malformed: prefix
        lambda t: "",
    ],
    ids=["wrong-secret", "unknown-id", "short", "prefix", "empty"],
)
def test_anything_but_the_exact_token_is_invalid(db: Database, mangle: object) -> None:
    token = apikeys.create_key(db, ["operator"]).token
    with pytest.raises(InvalidApiKey) as raised:
        apikeys.authenticate(db, mangle(token))  # type: ignore[operator]
    assert raised.value.code == "invalid_api_key"
    assert raised.value.status == 401


def test_listing_never_carries_secrets(db: Database) -> None:
    issued = apikeys.create_key(db, ["admin"], label="root")
    apikeys.create_key(db, ["operator"])
    listed = apikeys.list_keys(db)
    assert len(listed) == 2
    assert listed[0].id == issued.info.id
    assert {f.name for f in fields(ApiKeyInfo)}.isdisjoint({"token", "secret", "secret_hash"})
    secret = issued.token.split("_", 2)[2]
    assert all(secret not in repr(key) for key in listed)


def test_rotation_keeps_identity_and_kills_the_old_secret_at_once(
    db: Database, institution_id: int
) -> None:
    old = apikeys.create_key(db, ["issuer"], label="sis", institution_id=institution_id)
    new = apikeys.rotate_key(db, old.info.id)
    assert new.token != old.token
    assert (new.info.id, new.info.scopes, new.info.institution_id, new.info.label) == (
        old.info.id,
        old.info.scopes,
        old.info.institution_id,
        old.info.label,
    )
    with pytest.raises(InvalidApiKey):
        apikeys.authenticate(db, old.token)
    assert apikeys.authenticate(db, new.token).id == old.info.id


def test_revocation_is_immediate_permanent_and_idempotent(db: Database) -> None:
    issued = apikeys.create_key(db, ["operator"])
    first = apikeys.revoke_key(db, issued.info.id)
    assert first.revoked_at is not None and not first.active
    with pytest.raises(InvalidApiKey):
        apikeys.authenticate(db, issued.token)
    assert apikeys.revoke_key(db, issued.info.id).revoked_at == first.revoked_at
    with pytest.raises(Conflict) as raised:
        apikeys.rotate_key(db, issued.info.id)
    assert raised.value.code == "api_key_revoked"
    assert [k.id for k in apikeys.list_keys(db, include_revoked=False)] == []


def test_unknown_key_ids_are_not_found(db: Database) -> None:
    for action in (apikeys.rotate_key, apikeys.revoke_key, apikeys.get_key):
        with pytest.raises(NotFound) as raised:
            action(db, "nosuchkey000")
        assert raised.value.code == "api_key_not_found"


def test_admin_implies_every_scope_and_others_only_their_own(db: Database) -> None:
    admin = apikeys.create_key(db, ["admin"]).info
    operator = apikeys.create_key(db, ["operator"]).info
    assert all(admin.allows(scope) for scope in Scope)
    assert operator.allows(Scope.OPERATOR)
    assert not operator.allows(Scope.ISSUER)
    assert not operator.allows(Scope.ADMIN)


@pytest.mark.parametrize(
    ("scopes", "bind", "code"),
    [
        (["issuer"], False, "institution_required"),
        (["operator"], True, "institution_not_allowed"),
        (["root"], False, "unknown_scope"),
        ([], False, "unknown_scope"),
    ],
)
def test_scopes_and_institution_binding_are_checked(
    db: Database, institution_id: int, scopes: list[str], bind: bool, code: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        apikeys.create_key(db, scopes, institution_id=institution_id if bind else None)
    assert raised.value.code == code
    assert apikeys.list_keys(db) == []


def test_issuer_key_needs_an_existing_institution(db: Database) -> None:
    with pytest.raises(NotFound) as raised:
        apikeys.create_key(db, ["issuer"], institution_id=999)
    assert raised.value.code == "institution_not_found"


def test_last_used_is_written_at_most_once_a_minute(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = apikeys.create_key(db, ["operator"])
    assert issued.info.last_used_at is None
    start = utcnow()
    clock = iter([start, start + timedelta(seconds=30), start + timedelta(seconds=61)])
    monkeypatch.setattr(apikeys, "utcnow", lambda: next(clock))

    apikeys.authenticate(db, issued.token)
    assert apikeys.get_key(db, issued.info.id).last_used_at == start
    apikeys.authenticate(db, issued.token)  # 30 s later: no write
    assert apikeys.get_key(db, issued.info.id).last_used_at == start
    apikeys.authenticate(db, issued.token)  # 61 s later: written again
    assert apikeys.get_key(db, issued.info.id).last_used_at == start + timedelta(seconds=61)
