"""A learner's erasure leaves no byte of them behind, and the node's files are its own.

One real `lernode up` (embedded chain, SQLite, access log on) holds one learner's records: an
Open Badge, and a CLR transcript whose one achievement is also a credential of its own. The
badge is revoked "requested by <name>", both are opened through verification links (which put
the whole credential in the URL), then the badge and the transcript's achievement are erased.
Afterwards every file of the data directory (database, WAL, shared memory, chain state, logs)
and everything the node printed are searched for the learner's name, email and identifiers —
while the node still runs, as an attacker copying the disk would find them. The same erasure
on PostgreSQL is checked in the database's relation files and the server's WAL.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import sqlite3
import stat
import subprocess
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from node.api.app import create_app
from node.wiring.runtime import Node
from tests.support.processes import ACHIEVEMENT, LERNODE

#: Unique per run: the PostgreSQL WAL is the server's and outlives earlier runs.
RUN = secrets.token_hex(5)
NAME = f"Zephyrine Quillfeather-{RUN}"
EMAIL = f"zq.{RUN}@erasure.example"
SUBJECT_DID = f"did:example:zephyrine-{RUN}"
STUDENT_ID = f"ZQ-{RUN}-ERASE"
REASON = f"requested by {NAME} <{EMAIL}>"
PERSONAL = [NAME, EMAIL, SUBJECT_DID, STUDENT_ID]

LEARNER = {
    "id": SUBJECT_DID,
    "name": NAME,
    "email": EMAIL,
    "hash_email": False,
    "identifiers": [{"identity_type": "studentId", "value": STUDENT_ID, "hashed": False}],
}


def forms(text: str) -> set[bytes]:
    """How a personal value could sit in a file: as UTF-8, JSON-escaped, UTF-16."""
    return {
        text.encode(),
        json.dumps(text)[1:-1].encode(),
        text.encode("utf-16-le"),
    }


def leaks(content: bytes) -> list[str]:
    return [value for value in PERSONAL if any(form in content for form in forms(value))]


def verification_link(credential: dict[str, Any]) -> str:
    encoded = base64.urlsafe_b64encode(json.dumps(credential).encode()).decode().rstrip("=")
    return f"/verify?credential={encoded}"


def records_of_one_learner(api: httpx.Client | TestClient) -> dict[str, Any]:
    """Issue the learner's badge and transcript, revoke the badge with a reason naming them,
    and open both through verification links."""
    badge = api.post(
        "/v1/credentials", json={"credential": {"learner": LEARNER, "achievement": ACHIEVEMENT}}
    )
    assert badge.status_code == 201, badge.text
    badge_doc = badge.json()["credentials"][0]["credential"]
    transcript = api.post(
        "/v1/transcripts",
        json={"name": "Transcript", "learner": LEARNER, "achievements": [{
            "learner": LEARNER, "achievement": {**ACHIEVEMENT, "name": "Erasure Studies"}}]},
    )  # fmt: skip
    assert transcript.status_code == 201, transcript.text
    clr = transcript.json()["credential"]
    part = clr["credentialSubject"]["verifiableCredential"][0]
    revoked = api.post(f"/v1/credentials/{badge_doc['id']}/revoke", json={"reason": REASON})
    assert revoked.status_code == 200, revoked.text
    events = api.get(f"/v1/credentials/{badge_doc['id']}").json()["events"]
    assert REASON in [event["detail"] for event in events], "the reason is kept until erasure"
    for document in (badge_doc, clr):
        assert api.get(verification_link(document)).status_code == 200
    return {"badge": badge_doc["id"], "clr": clr["id"], "part": part["id"]}


def erase_the_learner(api: httpx.Client | TestClient, ids: dict[str, Any]) -> None:
    """Erase the badge and the transcript's achievement (the CLR embedding it goes with it)."""
    for credential_id in (ids["badge"], ids["part"]):
        assert api.delete(f"/v1/credentials/{credential_id}").status_code == 204


def assert_reported_erased(api: httpx.Client | TestClient, ids: dict[str, Any]) -> None:
    """The API reports all three erased, without content or reason; the lifecycle stays."""
    for credential_id in (ids["badge"], ids["part"], ids["clr"]):
        shown = api.get(f"/v1/credentials/{credential_id}").json()
        assert shown["erased"] is True and shown["credential"] is None, credential_id
        assert all(event["detail"] != REASON for event in shown["events"])


# -- a real `lernode up` on SQLite ---------------------------------------------------------------


@pytest.fixture(scope="module")
def lernode_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A `lernode up` whose data directory already existed world-readable (0755), as an older
    node or a careless `mkdir` left it; with INFO logging, so access lines are written."""
    from node.chain.anvil import free_port

    root = tmp_path_factory.mktemp("personal-data")
    data_dir = root / "data"
    data_dir.mkdir()
    data_dir.chmod(0o755)
    port = free_port()
    output = root / "lernode-up.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LERNODE_")}
    env.update(
        LERNODE_DATA_DIR=str(data_dir),
        LERNODE_PORT=str(port),
        LERNODE_LOG_LEVEL="info",
        LERNODE_CONFIRMATIONS="1",
        LERNODE_ANCHOR_INTERVAL="0.2",
    )
    with output.open("wb") as out:
        process = subprocess.Popen(
            [*LERNODE, "up"], env=env, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                assert process.poll() is None, output.read_text()
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, output.read_text()
                time.sleep(0.3)
            admin = (data_dir / "secrets" / "admin-api-key").read_text().strip()
            with httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=60
            ) as api:
                yield {"api": api, "data_dir": data_dir, "output": output}
        finally:
            process.terminate()
            process.wait(30)


@pytest.mark.slow
@pytest.mark.anvil
def test_erasure_leaves_no_personal_data_in_the_data_directory_or_the_log(
    lernode_up: dict[str, Any],
) -> None:
    api, data_dir, output = lernode_up["api"], lernode_up["data_dir"], lernode_up["output"]
    ids = records_of_one_learner(api)
    keys = _sqlite_data_keys(data_dir / "lernode.sqlite", ids.values())
    files = [path for path in data_dir.rglob("*") if path.is_file()]
    stored = b"".join(path.read_bytes() for path in files)
    # Where the test looks is where the records are: in the clear, or sealed under their keys.
    assert leaks(stored) or all(key.encode() in stored for key in keys)

    erase_the_learner(api, ids)

    files = [path for path in data_dir.rglob("*") if path.is_file()]
    assert {p.name for p in files} >= {"lernode.sqlite"}
    found = {str(path): leaks(path.read_bytes()) for path in files}
    assert not {path: values for path, values in found.items() if values}
    for path in files:
        content = path.read_bytes()
        assert not [key for key in keys if key.encode() in content], f"an erased key in {path}"
    wal = data_dir / "lernode.sqlite-wal"
    assert not wal.exists() or not leaks(wal.read_bytes())
    log = output.read_bytes()
    assert b"GET /verify?[redacted]" in log, "the access log was not written"
    assert not leaks(log), "personal data in the node's log"
    assert b"credential=" not in log, "a verification link's credential reached the log"
    assert_reported_erased(api, ids)


@pytest.mark.slow
@pytest.mark.anvil
def test_the_data_directory_is_0700_and_every_file_in_it_0600(
    lernode_up: dict[str, Any],
) -> None:
    api, data_dir = lernode_up["api"], lernode_up["data_dir"]
    issued = api.post(
        "/v1/credentials",
        json={"credential": {"learner": {"name": "P", "email": "p@example.edu"},
                             "achievement": ACHIEVEMENT}, "anchor_now": True},
    )  # fmt: skip
    assert issued.status_code == 201
    time.sleep(6)  # the embedded chain dumps its state every 5 s
    names = {path.relative_to(data_dir).as_posix() for path in data_dir.rglob("*")}
    assert {"lernode.sqlite", "lernode.sqlite-wal", "chain/anvil-state.json", "chain/anvil.log",
            "deployment.json", "secrets/passphrase"} <= names, names  # fmt: skip
    loose = loose_modes(data_dir)
    assert not loose, f"readable or writable by others: {loose}"


def _sqlite_data_keys(database: Path, ids: Iterable[str]) -> list[str]:
    """The data keys sealing these credentials (none before sealing existed)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        if "credentialkey" not in tables:
            return []
        rows = connection.execute(
            "SELECT credential_id, key FROM credentialkey WHERE credential_id IN (?, ?, ?)",
            list(ids),
        ).fetchall()
    assert len(rows) == 3
    return [row[1] for row in rows]


def loose_modes(data_dir: Path) -> dict[str, str]:
    """Paths under `data_dir` (itself included) that are not 0700 (dirs) or 0600 (files)."""
    return {
        path.relative_to(data_dir).as_posix() or ".": oct(stat.S_IMODE(path.stat().st_mode))
        for path in [data_dir, *data_dir.rglob("*")]
        if stat.S_IMODE(path.stat().st_mode) != (0o700 if path.is_dir() else 0o600)
    }


@pytest.mark.anvil
def test_a_node_opened_in_process_keeps_its_files_private_too(live: tuple[Node, str]) -> None:
    """Without `lernode up`'s umask (a node embedded in another program, the test suite): the
    database and its WAL, the chain's state and log are still created private."""
    node, _ = live
    data_dir = node.settings.data_dir
    deadline = time.monotonic() + 15
    while not (data_dir / "chain" / "anvil-state.json").exists():
        assert time.monotonic() < deadline, "the chain never wrote its state"
        time.sleep(0.5)
    assert not loose_modes(data_dir)


# -- PostgreSQL: the relation files and the WAL ---------------------------------------------------


def _postgres_database(url: str) -> tuple[Path, Path]:
    """The directory of the test's database files (tables, TOAST, indexes) and the server's data
    directory, after a checkpoint has written every dirty page to them."""
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute("CHECKPOINT")
        row = connection.execute(
            "SELECT current_setting('data_directory'), oid FROM pg_database "
            "WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    root = Path(row[0])
    return root / "base" / str(row[1]), root


def _contents(directory: Path) -> dict[str, bytes]:
    """Every file of a directory the server keeps changing, by name. Other tests share the
    server: a checkpoint may recycle a WAL segment (renamed to a future name, its bytes kept)
    or a rewrite drop a relation file between the listing and the read, so a vanished file is
    looked for again under whatever new names the next listing shows."""
    found: dict[str, bytes] = {}
    while True:
        fresh = [p for p in directory.iterdir() if p.name not in found and p.is_file()]
        read = 0
        for path in fresh:
            try:
                found[path.name] = path.read_bytes()
                read += 1
            except FileNotFoundError:
                continue
        if read == 0:
            return found


def _relation_names(url: str) -> dict[str, str]:
    """File name (relfilenode) -> relation name, to say where a leak is."""
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pg_relation_filenode(oid)::text, relname FROM pg_class "
            "WHERE pg_relation_filenode(oid) IS NOT NULL"
        ).fetchall()
    return dict(rows)


def _postgres_data_keys(url: str, ids: Iterable[str]) -> list[str]:
    """The data keys sealing these credentials (none before sealing existed)."""
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        if connection.execute("SELECT to_regclass('credentialkey')").fetchone() == (None,):
            return []
        rows = connection.execute(
            "SELECT key FROM credentialkey WHERE credential_id = ANY(%s)", (list(ids),)
        ).fetchall()
    assert len(rows) == 3
    return [row[0] for row in rows]


@pytest.mark.postgres
@pytest.mark.anvil
def test_erasure_on_postgresql_leaves_no_personal_data_in_relation_files_or_wal(
    live_postgres: tuple[Node, str],
) -> None:
    node, admin_key = live_postgres
    _, root = _postgres_database(node.settings.sqlalchemy_url)
    if not os.access(root / "base", os.R_OK):
        pytest.skip("the PostgreSQL data directory is not readable here")
    with TestClient(create_app(node), headers={"Authorization": f"Bearer {admin_key}"}) as api:
        ids = records_of_one_learner(api)
        keys = _postgres_data_keys(node.settings.sqlalchemy_url, ids.values())
        database, _ = _postgres_database(node.settings.sqlalchemy_url)
        stored = b"".join(_contents(database).values())
        assert leaks(stored) or all(key.encode() in stored for key in keys)

        erase_the_learner(api, ids)

    database, _ = _postgres_database(node.settings.sqlalchemy_url)
    relations = _relation_names(node.settings.sqlalchemy_url)
    for name, content in _contents(database).items():
        relation = relations.get(name.split(".")[0], name)
        assert not leaks(content), f"personal data in {relation}"
        assert not [key for key in keys if key.encode() in content], f"erased key in {relation}"
    wal = _contents(root / "pg_wal")
    assert wal
    for name, content in wal.items():
        assert not leaks(content), f"personal data in the WAL segment {name}"
    with TestClient(create_app(node), headers={"Authorization": f"Bearer {admin_key}"}) as api:
        assert_reported_erased(api, ids)
