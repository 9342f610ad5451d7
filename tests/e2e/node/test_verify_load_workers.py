"""Load on every core: 32 concurrent verifiers for 60 s against a node whose API runs in worker
processes (what `lernode up` starts with LERNODE_WORKERS > 1) on PostgreSQL, the production
database; the same load for 20 s on SQLite (its readers in every worker: the minute adds nothing
there but a minute of both cores to the suite).

Every answer must be a 200 whose report says `valid`; timing is measured by
`scripts/bench.py`, never asserted here (the machine is shared).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import select

from node.store.models import Credential
from scripts.bench.nodes import ready_node, sample_inputs
from scripts.bench.workers import served_by_workers, verify_load

pytestmark = [pytest.mark.slow, pytest.mark.anvil, pytest.mark.timeout(600)]

VERIFIERS = 32
SECONDS = 60.0
SQLITE_SECONDS = 20.0
WORKERS = 2
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def scratch_postgres() -> Iterator[str]:
    name = f"lernode_perf_load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # no server: the SQLite run still covers the workers
        pytest.skip(f"PostgreSQL not available: {error}")
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _load(database_url: str | None, seconds: float) -> None:
    with ready_node(database_url, verify_rate_limit=10**9) as (node, institution):
        node.issuance.issue(institution, sample_inputs(20))
        node.worker.drain(timeout=120)
        node.start_background()  # the supervisor's share: anchoring worker and indexers
        with node.db.session() as session:
            records = list(session.exec(select(Credential)).all())
        bundles: list[dict[str, Any]] = [node.issuance.bundle(r) for r in records]
        with served_by_workers(node, WORKERS) as served:
            result = verify_load(served.base, bundles, clients=VERIFIERS, seconds=seconds)
    assert result.requests > VERIFIERS
    assert result.errors == 0, (result.statuses, result.verdicts, result.failures)


def test_thirty_two_verifiers_for_twenty_seconds_against_worker_processes_on_sqlite() -> None:
    _load(None, SQLITE_SECONDS)


@pytest.mark.postgres
def test_thirty_two_verifiers_for_a_minute_against_worker_processes_on_postgres(
    scratch_postgres: str,
) -> None:
    _load(scratch_postgres, SECONDS)
