"""The verifier's end-to-end specifications run real issuing nodes on chains they start
themselves (`tests.support.verification_nodes`): each module gets its own `site` (an accredited
institution's node on a fresh chain) and an API client of it, `api`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from node.api.app import create_app
from tests.support.verification_nodes import IssuerSite, start_chain


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IssuerSite]:
    chain = start_chain()
    try:
        opened = IssuerSite.open(tmp_path_factory.mktemp("issuer"), chain)
        try:
            yield opened
        finally:
            opened.node.close()
    finally:
        chain.stop()


@pytest.fixture(scope="module")
def api(site: IssuerSite) -> Iterator[TestClient]:
    with TestClient(create_app(site.node)) as client:
        yield client
