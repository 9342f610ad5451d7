"""Fixtures for the API unit tests: a migrated SQLite database and a minimal node around it.

The API reaches the node only through `app.state.node.db` and `.settings`, so a namespace with
those two attributes stands in for a running `Node` (no chain, no keys) in these tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from node.config import Settings
from node.store.db import Database
from node.store.models import Institution


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'api.sqlite'}")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def institution_id(db: Database) -> int:
    with db.session() as session:
        row = Institution(name="Test U", address="0x" + "11" * 20, did="did:ethr:0x7a69:0x11")
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


@pytest.fixture
def node(db: Database, tmp_path: Path) -> SimpleNamespace:
    return SimpleNamespace(db=db, settings=Settings(data_dir=tmp_path))
