"""The DID resolution result (W3C DID Resolution), for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from node.api.schemas.common import CamelModel, JsonDocument


class DidResolutionResult(CamelModel):
    did_document: JsonDocument | None
    did_resolution_metadata: dict[str, Any]
    did_document_metadata: dict[str, Any]
