"""A ready node shared by the holder specifications, an API client with the admin key, and
`holder_support` (this directory): did:key holders that sign DIDAuth presentations and proof
JWTs in Python, for the refusal cases (the interop tests use the wallets' own libraries)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from node.api.app import create_app
from node.config import Settings
from node.store.models import Institution
from node.wiring.bootstrap import prepare
from node.wiring.runtime import Node

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


@pytest.fixture(scope="package")
def ready(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, Institution, str]]:
    data_dir: Path = tmp_path_factory.mktemp("holder-node")
    settings = Settings(
        data_dir=data_dir,
        confirmations=1,
        anchor_interval=0.1,
        public_url="https://node.example.edu",
        verify_rate_limit=100_000,
    )
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
def api(ready: tuple[Node, Institution, str]) -> Iterator[TestClient]:
    node, _, admin_key = ready
    app = create_app(node)
    with TestClient(
        app, base_url="https://node.example.edu", headers={"Authorization": f"Bearer {admin_key}"}
    ) as client:
        yield client


@pytest.fixture(scope="package")
def wallet(ready: tuple[Node, Institution, str]) -> Iterator[TestClient]:
    """A client without the institution's key: what a learner's wallet is."""
    with TestClient(create_app(ready[0]), base_url="https://node.example.edu") as client:
        yield client
