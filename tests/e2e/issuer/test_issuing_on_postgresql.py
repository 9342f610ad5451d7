"""Bulk issuance on PostgreSQL, where each credential is streamed into the storing transaction
as soon as it is signed: a request refused part-way stores nothing and spends nothing, and the
next one issues in full."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import func, select

from node.credentials.proofs import Cryptosuite, verify
from node.issuance.service import HELPER_SIGNING
from node.store.models import Credential, CredentialEvent, CredentialKey
from tests.e2e.issuer.test_issuing_institution import (
    ACHIEVEMENT,
    entries_handed_out,
    one_credential,
)
from tests.support.nodes import ready_node

pytestmark = [pytest.mark.postgres, pytest.mark.anvil]


@pytest.mark.parametrize("suite", [Cryptosuite.EDDSA_JCS_2022, Cryptosuite.EDDSA_RDFC_2022])
def test_a_bulk_request_refused_part_way_stores_nothing_and_the_next_issues_in_full(
    postgres_url: str, tmp_path: Path, suite: Cryptosuite
) -> None:
    """With RDFC the signing helper also canonicalizes the chunks it takes."""
    with ready_node(tmp_path, background=False, database_url=postgres_url) as ready:
        node, api = ready.node, ready.client()
        count = 2 * HELPER_SIGNING

        def stored() -> tuple[int, int, int, int]:
            with node.db.session() as session:
                counts = tuple(
                    session.exec(select(func.count()).select_from(model)).one()
                    for model in (Credential, CredentialKey, CredentialEvent)
                )
            return (*counts, entries_handed_out(node))

        before = stored()
        bulk = [one_credential(f"learner{i}@example.edu") for i in range(count)]
        bulk[count - 10] = {
            **one_credential(),
            "achievement": {**ACHIEVEMENT, "credits_available": 1e-7},
        }
        refused = api.post("/v1/credentials", json={"credentials": bulk, "cryptosuite": suite})
        assert refused.status_code == 422, refused.text
        assert refused.json()["credential"] == count - 10
        assert stored() == before

        bulk[count - 10] = one_credential()
        issued = api.post("/v1/credentials", json={"credentials": bulk, "cryptosuite": suite})
        assert issued.status_code in (200, 201), issued.text
        assert stored() == tuple(value + count for value in before)
        public_key = node.issuance._signing_key(ready.institution).private_key.public_key()
        answered = [item["credential"] for item in issued.json()["credentials"]]
        for document in answered[:: HELPER_SIGNING // 8]:
            assert verify(document, public_key)["cryptosuite"] == suite
            stored_document = api.get(f"/v1/credentials/{document['id']}").json()["credential"]
            assert stored_document == document
