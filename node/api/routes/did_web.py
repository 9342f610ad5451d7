"""did:web documents of this node's institutions (docs/did-web.md).

`did:web:<host>` is served at `/.well-known/did.json` and `did:web:<host>:institutions:<id>` at
`/institutions/<id>/did.json`, as the did:web method maps them (the names the node mints;
other `.../did.json` paths stay free for other routes). Each document carries the institution's
did:ethr Ed25519 keys as `Multikey` methods and names the did:ethr in `alsoKnownAs`. Documents are
public and fetched by browser-based verifiers too, hence CORS `*` and a short cache lifetime.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from node.errors import NotFound

router = APIRouter(tags=["DID resolution"])
CACHE_SECONDS = 60


class DidJsonResponse(JSONResponse):
    media_type = "application/did+ld+json"


class MultikeyMethod(BaseModel):
    id: str
    type: str
    controller: str
    publicKeyMultibase: str  # noqa: N815 (the DID document's property name)


class DidWebDocument(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    context: list[str] = Field(alias="@context")
    id: str
    alsoKnownAs: list[str]  # noqa: N815
    verificationMethod: list[MultikeyMethod]  # noqa: N815
    authentication: list[str] | None = None
    assertionMethod: list[str] | None = None  # noqa: N815


_DOCUMENT_ROUTE: dict[str, Any] = {
    "response_model": DidWebDocument,
    "response_model_by_alias": True,
    "response_model_exclude_none": True,
    "response_class": DidJsonResponse,
    "responses": {404: {"description": "No institution of this node has that did:web"}},
}


@router.get(
    "/.well-known/did.json",
    summary="The did:web document of this node's institution",
    **_DOCUMENT_ROUTE,
)
def well_known_document(request: Request, response: Response) -> dict[str, Any]:
    return _document(request, response)


@router.get(
    "/institutions/{institution_id:int}/did.json",
    summary="The did:web document of an institution (path form)",
    **_DOCUMENT_ROUTE,
)
def path_document(request: Request, response: Response, institution_id: int) -> dict[str, Any]:
    return _document(request, response)


def _document(request: Request, response: Response) -> dict[str, Any]:
    node = request.app.state.node
    base_url: str = node.settings.base_url
    path = request.url.path
    prefix = urlsplit(base_url).path.rstrip("/")
    if prefix and path.startswith(prefix + "/"):
        path = path.removeprefix(prefix)
    document = node.did_web_hosting.document_at_path(path)
    if document is None:
        raise NotFound(f"no did:web document at {path[:200]}", code="did_web_not_hosted")
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    result: dict[str, Any] = document
    return result
