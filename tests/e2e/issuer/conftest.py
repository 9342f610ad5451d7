"""A ready node (embedded anvil with 1 s blocks, SQLite, an accredited institution) shared by the
issuing-institution specifications, and an API client holding its admin key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from node.store.models import Institution
from node.wiring.runtime import Node
from tests.support.nodes import ReadyNode, ready_node


@pytest.fixture(scope="package")
def ready(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReadyNode]:
    with ready_node(tmp_path_factory.mktemp("issuer-node")) as made:
        yield made


@pytest.fixture(scope="package")
def node(ready: ReadyNode) -> Node:
    return ready.node


@pytest.fixture(scope="package")
def institution(ready: ReadyNode) -> Institution:
    return ready.institution


@pytest.fixture(scope="package")
def api(ready: ReadyNode) -> Iterator[TestClient]:
    with ready.client() as client:
        yield client
