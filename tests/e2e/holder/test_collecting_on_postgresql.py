"""On PostgreSQL, where transactions really run side by side (SQLite serializes writers), an
offer is still collected at most once and a status change of the original cannot miss a copy
being made at the same moment."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from node.api.app import create_app
from node.store.models import Credential
from tests.support.holders import Holder, issue, offer
from tests.support.nodes import ready_node

pytestmark = [pytest.mark.postgres, pytest.mark.anvil]


def test_concurrent_collections_and_a_concurrent_revocation_on_postgresql(
    postgres_url: str, tmp_path: Path
) -> None:
    public_url = "https://node.example.edu"
    quick = {"public_url": public_url, "verify_rate_limit": 100_000}
    with ready_node(tmp_path, background=False, database_url=postgres_url, **quick) as ready:
        node, admin_key = ready.node, ready.admin_key
        app = create_app(node)
        api = TestClient(app, base_url=public_url, headers={"Authorization": f"Bearer {admin_key}"})
        wallet = TestClient(app, base_url=public_url)
        credential_id = issue(api)
        made = offer(api, credential_id)
        challenge = parse_qs(urlsplit(made["links"]["lcw"]).query)["challenge"][0]
        presentations = [Holder().did_auth(challenge) for _ in range(6)]
        start = threading.Barrier(len(presentations) + 1)
        results: list[Any] = []

        def collect(presentation: dict[str, Any]) -> None:
            start.wait()
            results.append(wallet.post(f"/offers/{made['id']}/request", json=presentation))

        def revoke() -> None:
            start.wait()
            results.append(api.post(f"/v1/credentials/{credential_id}/revoke", json={"wait": 0}))

        threads = [threading.Thread(target=collect, args=(p,)) for p in presentations]
        threads.append(threading.Thread(target=revoke))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        statuses = sorted(r.status_code for r in results)
        assert statuses.count(200) <= 2  # the revocation, and at most one collection
        with node.db.session() as session:
            copies = session.exec(
                select(Credential).where(Credential.bound_from == credential_id)
            ).all()
        assert len(copies) <= 1
        # Whichever came first, no valid copy of a revoked credential remains.
        assert all(copy.revoked for copy in copies)
        collected = [r for r in results if r.request.url.path.endswith("/request")]
        assert {r.status_code for r in collected} <= {200, 409}
