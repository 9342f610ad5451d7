"""Personal data sealed at rest: what older nodes stored stays readable after migration 0007,
is sealed by it, and erasure follows CLRs through the links it recovers; on SQLite and
PostgreSQL alike."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlmodel import select

from node.errors import NotFound
from node.issuance.service import ChainInfo, IssuanceService
from node.store.db import Database, alembic_config
from node.store.models import (
    Credential,
    CredentialEvent,
    CredentialKey,
    CredentialPart,
    Institution,
)
from node.store.sealing import is_sealed

LEARNER = "Ottoline Vanderbrook"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_at_0006(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database as a node before sealing left it (schema at 0006_ver)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'lernode.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    db = Database(url)
    with db.engine.begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "0006_ver")
    try:
        yield db
    finally:
        db.dispose()


def document(credential_id: str, kind: str, embeds: list[dict[str, Any]] | None = None) -> str:
    subject: dict[str, Any] = {"name": LEARNER}
    if embeds is not None:
        subject["verifiableCredential"] = embeds
    return json.dumps({"id": credential_id, "type": ["VerifiableCredential", kind],
                       "credentialSubject": subject, "proof": {}})  # fmt: skip


def database_files(db: Database) -> list[Path]:
    """The files holding the database's tables: SQLite's file and WAL, or the PostgreSQL
    database's relation files after a checkpoint (skipped where the server's are unreadable)."""
    if db.is_sqlite:
        database = Path(db.engine.url.database or "")
        return [p for p in database.parent.iterdir() if p.name.startswith(database.name)]
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("CHECKPOINT")
        root, oid = connection.exec_driver_sql(
            "SELECT current_setting('data_directory'), oid FROM pg_database "
            "WHERE datname = current_database()"
        ).one()
    directory = Path(root) / "base" / str(oid)
    if not os.access(directory, os.R_OK):
        pytest.skip("the PostgreSQL data directory is not readable here")
    return [p for p in directory.iterdir() if p.is_file()]


def service(db: Database) -> IssuanceService:
    return IssuanceService(
        db,
        "http://node",
        signing_key=lambda _: None,  # type: ignore[arg-type,return-value]
        chain_info=ChainInfo(1, "0x0"),
        on_queued=lambda _: None,
    )


def test_migration_seals_stored_documents_and_reasons_which_stay_readable_and_erasable(
    database_at_0006: Database,
) -> None:
    db = database_at_0006
    part_text = document("urn:uuid:part", "OpenBadgeCredential")
    texts = {
        "urn:uuid:part": part_text,
        "urn:uuid:clr": document("urn:uuid:clr", "ClrCredential", [json.loads(part_text)]),
        "urn:uuid:badge": document("urn:uuid:badge", "OpenBadgeCredential"),
    }
    with db.session() as session:
        institution = Institution(name="Old", address="0x" + "4" * 40, did="did:ethr:0x1:old")
        session.add(institution)
        session.flush()
        for index, (credential_id, text) in enumerate(texts.items()):
            kind = "ClrCredential" if credential_id == "urn:uuid:clr" else "OpenBadgeCredential"
            session.add(
                Credential(
                    id=credential_id, institution_id=institution.id, kind=kind,  # type: ignore[arg-type]
                    credential_type_id="0x00", document=text, credential_hash=f"0x{index}",
                    status_list=0, status_index=index,
                )
            )  # fmt: skip
        session.flush()
        session.add(
            CredentialEvent(
                credential_id="urn:uuid:badge", event="revoke", detail=f"requested by {LEARNER}"
            )
        )

    db.migrate()

    # The plaintext the migration replaced is gone from the files too (tables rewritten once).
    for path in database_files(db):
        assert LEARNER.encode() not in path.read_bytes(), path
    issuance = service(db)
    with db.session() as session:
        stored = {row.id: row for row in session.exec(select(Credential)).all()}
        events = session.exec(select(CredentialEvent)).all()
        links = session.exec(select(CredentialPart)).all()
    assert all(is_sealed(row.document or "") for row in stored.values())
    assert all(LEARNER not in (row.document or "") for row in stored.values())
    assert [e.detail for e in events if is_sealed(e.detail)] == [events[0].detail]
    for credential_id, text in texts.items():
        assert issuance.document(stored[credential_id]) == json.loads(text)
    reasons = [e["detail"] for e in issuance.events("urn:uuid:badge") if e["event"] == "revoke"]
    assert reasons == [f"requested by {LEARNER}"]
    assert [(link.container_id, link.part_id) for link in links] == [
        ("urn:uuid:clr", "urn:uuid:part")
    ]

    issuance.erase("urn:uuid:part", None)

    for credential_id in ("urn:uuid:part", "urn:uuid:clr"):
        record = issuance.record(credential_id)
        assert record.document is None and record.erased_at is not None
        with pytest.raises(NotFound):
            issuance.document(record)
    assert issuance.document(issuance.record("urn:uuid:badge")) == json.loads(
        texts["urn:uuid:badge"]
    )
    with db.session() as session:
        keys = {key.credential_id for key in session.exec(select(CredentialKey)).all()}
    assert keys == {"urn:uuid:badge"}
