"""A ready node shared by the holder specifications, an API client with the admin key, and a
wallet's client without it. `tests.support.holders` has did:key holders that sign DIDAuth
presentations and proof JWTs in Python, for the refusal cases (the interop tests use the
wallets' own libraries)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from node.wiring.runtime import Node
from tests.support.nodes import ReadyNode, ready_node

PUBLIC_URL = "https://node.example.edu"


@pytest.fixture(scope="package")
def ready(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReadyNode]:
    data_dir = tmp_path_factory.mktemp("holder-node")
    with ready_node(data_dir, public_url=PUBLIC_URL, verify_rate_limit=100_000) as made:
        yield made


@pytest.fixture(scope="package")
def node(ready: ReadyNode) -> Node:
    return ready.node


@pytest.fixture(scope="package")
def api(ready: ReadyNode) -> Iterator[TestClient]:
    with ready.client(base_url=PUBLIC_URL) as client:
        yield client


@pytest.fixture(scope="package")
def wallet(ready: ReadyNode) -> Iterator[TestClient]:
    """A client without the institution's key: what a learner's wallet is."""
    with ready.client(admin=False, base_url=PUBLIC_URL) as client:
        yield client
