"""`GET /v1/status-lists/{id}`: the public W3C BitstringStatusListCredential of one list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from node.api.deps import NodeDep
from node.api.schemas.common import JsonDocument

router = APIRouter(prefix="/v1", tags=["verifier"])


@router.get(
    "/status-lists/{list_id}",
    response_model=JsonDocument,
    summary="A signed BitstringStatusListCredential",
)
def get_status_list(list_id: str, node: NodeDep, response: Response) -> dict[str, Any]:
    """Built from the contract's bitmap at the latest block, so it always matches the chain."""
    response.headers["Cache-Control"] = "public, max-age=5"
    credential: dict[str, Any] = node.status.list_credential(list_id)
    return credential
