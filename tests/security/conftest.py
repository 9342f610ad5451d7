"""Security specifications share one real node (embedded anvil, SQLite, an accredited
institution, an admin key), started once for the package."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.config import Settings
from node.wiring.bootstrap import prepare
from node.wiring.runtime import Node

#: The process harness of the fault tests (real `lernode up` subprocesses) is shared.
HARNESS = str(Path(__file__).parents[1] / "reliability")
if HARNESS not in sys.path:
    sys.path.insert(0, HARNESS)


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
    settings = Settings(
        data_dir=data_dir,
        confirmations=1,
        anchor_interval=0.2,
        verify_rate_limit=100_000,
        database_url=database_url,
    )
    node, _, _, admin_key = prepare(settings)
    assert admin_key is not None
    node.start_background()
    try:
        yield node, admin_key
    finally:
        node.close()
