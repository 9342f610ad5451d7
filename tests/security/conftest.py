"""Security specifications share one real node (embedded anvil, SQLite, an accredited
institution, an admin key), started once for the package; the tests that need real `lernode up`
processes use `tests.support.processes`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from node.wiring.runtime import Node
from tests.support.nodes import ready_node


@pytest.fixture(scope="package")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, str]]:
    yield from _ready_node(tmp_path_factory.mktemp("security-node"), None)


@pytest.fixture(scope="package")
def live_postgres(
    tmp_path_factory: pytest.TempPathFactory, package_postgres_url: str
) -> Iterator[tuple[Node, str]]:
    """The same ready node on PostgreSQL (its own embedded chain and database)."""
    yield from _ready_node(tmp_path_factory.mktemp("security-node-pg"), package_postgres_url)


def _ready_node(data_dir: Path, database_url: str | None) -> Iterator[tuple[Node, str]]:
    settings = {"anchor_interval": 0.2, "verify_rate_limit": 100_000, "database_url": database_url}
    with ready_node(data_dir, **settings) as ready:
        yield ready.node, ready.admin_key
