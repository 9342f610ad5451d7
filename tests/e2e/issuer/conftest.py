"""A ready node (embedded anvil with 1 s blocks, SQLite, an accredited institution) shared by the
issuing-institution specifications, and an API client holding its admin key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from node.api.app import create_app
from node.config import Settings
from node.store.models import Institution
from node.wiring.bootstrap import prepare
from node.wiring.runtime import Node


@pytest.fixture(scope="package")
def ready(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, Institution, str]]:
    data_dir: Path = tmp_path_factory.mktemp("issuer-node")
    settings = Settings(data_dir=data_dir, confirmations=1, anchor_interval=0.1)
    node, institution, _, admin_key = prepare(settings)
    assert admin_key is not None
    node.start_background()
    try:
        yield node, institution, admin_key
    finally:
        node.close()


@pytest.fixture(scope="package")
def node(ready: tuple[Node, Institution, str]) -> Node:
    return ready[0]


@pytest.fixture(scope="package")
def institution(ready: tuple[Node, Institution, str]) -> Institution:
    return ready[1]


@pytest.fixture(scope="package")
def api(ready: tuple[Node, Institution, str]) -> Iterator[TestClient]:
    node, _, admin_key = ready
    with TestClient(create_app(node), headers={"Authorization": f"Bearer {admin_key}"}) as client:
        yield client
