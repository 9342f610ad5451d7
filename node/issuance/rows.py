"""The rows a batch of signed credentials becomes, written with three bulk INSERTs.

A request of 1,000 credentials is one `executemany` for the credential rows (each row is also
the credential's anchoring outbox entry), one for their data keys and one for their `issued`
events: no ORM object per row, which profiling showed cost more than signing with
`eddsa-jcs-2022`. The stored (sealed) text and the credential hash are the JCS bytes signing
handed back (`proofs.sign_canonical`): no document is canonicalized again here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from node.chain.contracts.types import credential_type_id
from node.credentials.format_check import credential_kind
from node.credentials.merkle import hash_canonical
from node.issuance.documents import parse_time
from node.store.models import (
    Credential,
    CredentialEvent,
    CredentialKey,
    CredentialState,
    Institution,
)
from node.store.sealing import document_context, seal


def credential_rows(
    signed: Sequence[dict[str, Any]],
    canonical: Sequence[bytes],
    slots: Sequence[tuple[int, int]],
    institution: Institution,
    data_keys: Sequence[str],
    *,
    bound_from: str | None = None,
) -> list[dict[str, Any]]:
    """Every column of each new credential row (bulk INSERTs apply no model defaults); the
    document (`canonical`: its JCS bytes) sealed under its credential's data key
    (node/store/sealing.py)."""
    now = datetime.now(UTC)
    type_ids: dict[str, str] = {}
    rows = []
    for document, text, data_key, (list_number, index) in zip(
        signed, canonical, data_keys, slots, strict=True
    ):
        kind = credential_kind(document)
        if kind not in type_ids:
            type_ids[kind] = "0x" + credential_type_id(kind).hex()
        rows.append(
            {
                "id": document["id"],
                "institution_id": institution.id,
                "kind": kind,
                "credential_type_id": type_ids[kind],
                "document": seal(data_key, text.decode(), document_context(document["id"])),
                "credential_hash": "0x" + hash_canonical(text).hex(),
                "status_list": list_number,
                "status_index": index,
                "state": CredentialState.PENDING,
                "batch_id": None,
                "leaf_index": None,
                "merkle_proof": None,
                "revoked": False,
                "suspended": False,
                "valid_from": parse_time(document.get("validFrom")),
                "valid_until": parse_time(document.get("validUntil")),
                "created_at": now,
                "updated_at": now,
                "erased_at": None,
                "bound_from": bound_from,
            }
        )
    return rows


def insert_credentials(
    session: Session, rows: list[dict[str, Any]], data_keys: Sequence[str], cryptosuite: str
) -> None:
    """The credential rows, their data keys and their `issued` events, three statements in the
    caller's transaction (the rows first: keys and events reference them)."""
    if not rows:
        return
    session.execute(insert(Credential), rows)
    session.execute(
        insert(CredentialKey),
        [
            {"credential_id": row["id"], "key": key}
            for row, key in zip(rows, data_keys, strict=True)
        ],
    )
    at = rows[0]["created_at"]
    session.execute(
        insert(CredentialEvent),
        [
            {"credential_id": row["id"], "event": "issued", "detail": cryptosuite, "at": at}
            for row in rows
        ],
    )
