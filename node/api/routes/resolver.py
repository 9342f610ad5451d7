"""`GET /1.0/identifiers/{did}`: the DIF Universal Resolver / DID Resolution HTTP(S) binding.

Anyone can resolve our issuers' DIDs here (a verifier without a chain connection included).
The `Accept` header picks the representation:

- `application/did-resolution` (or the older
  `application/ld+json;profile="https://w3id.org/did-resolution"`, or none / `*/*` /
  `application/json`): the resolution result `{didDocument, didResolutionMetadata,
  didDocumentMetadata}`;
- `application/did`, `application/did+ld+json`: the bare document, with `@context`;
  `application/did+json`: the bare document without `@context`.

A DID URL with a fragment (`did:ethr:...#delegate-1`, the `#` sent as `%23`) is dereferenced,
as the DIF Universal Resolver does: `application/did-url-dereferencing` (or
`application/did-resolution`, or the legacy ld+json profiles) answers the dereferencing result
`{contentStream, dereferencingMetadata, contentMetadata}`; any other acceptable type answers the
resource itself (the verification method or service; with the document's `@context` unless JSON
was asked for).

Besides did:ethr, `did:key` resolves (pure computation) and so do the did:web DIDs this node hosts;
other DIDs are `methodNotSupported` (this endpoint never fetches from the web).

`?versionId=<block>` and `?versionTime=<XML datetime>` select an earlier version. Failures are
RFC 9457 problems (rendered by the API's problem handlers) whose `code` is snake_case and whose
`error` is the DID Resolution error name: `invalidDid` 400, `notFound` 404,
`representationNotSupported` 406, `methodNotSupported` 501. A deactivated DID answers 410 with
its (empty) document and `deactivated: true` metadata, as the binding requires.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from node.api.schemas.did import DidResolutionResult
from node.did.errors import InvalidResolutionOptions, RepresentationNotSupported
from node.did.identifier import split_did_url
from node.did.resolution import DID_LD_JSON, ResolutionResult, Resolver, dereference_fragment

router = APIRouter(tags=["DID resolution"])

DID_RESOLUTION = "application/did-resolution"
LEGACY_RESOLUTION_PROFILE = "https://w3id.org/did-resolution"
DID_URL_DEREFERENCING = "application/did-url-dereferencing"
LEGACY_DEREFERENCING_PROFILE = "https://w3id.org/did-url-dereferencing"
DID_RESOLUTION_CONTEXT = "https://w3id.org/did-resolution/v1"
#: Media types answered with the bare resource a fragment names, and whether with `@context`.
_RESOURCE_TYPES = {
    "application/did": True,
    DID_LD_JSON: True,
    "application/ld+json": True,
    "application/did+json": False,
    "application/json": False,
}
DID = "application/did"
DID_JSON = "application/did+json"
#: Media types answered with the resolution result, the default of the binding.
_RESULT_TYPES = (DID_RESOLUTION, "application/json", "*/*", "application/*")
_DOCUMENT_TYPES = (DID, DID_LD_JSON, DID_JSON)
GONE = 410
_ENCODED_COLON = re.compile(r"%3[Aa]")


def _accepted(accept: str) -> Iterator[tuple[str, str | None]]:
    """(media type in lower case, its `profile` parameter) of each Accept entry, in order."""
    for entry in accept.split(","):
        media_type, *params = (part.strip() for part in entry.split(";"))
        profile = next(
            (p.split("=", 1)[1].strip('"') for p in params if p.lower().startswith("profile=")),
            None,
        )
        yield media_type.lower(), profile


def choose_representation(accept: str | None) -> tuple[str, bool]:
    """(response media type, whether it is the full resolution result) for an Accept header.

    The first acceptable entry wins (q-values are not weighed: resolver clients send one type).
    """
    if not accept or not accept.strip():
        return DID_RESOLUTION, True
    for media_type, profile in _accepted(accept):
        if media_type == "application/ld+json" and profile == LEGACY_RESOLUTION_PROFILE:
            return f'application/ld+json;profile="{LEGACY_RESOLUTION_PROFILE}"', True
        if media_type in _RESULT_TYPES:
            return DID_RESOLUTION if media_type != "application/json" else media_type, True
        if media_type in _DOCUMENT_TYPES:
            return media_type, False
    raise RepresentationNotSupported(
        f"cannot answer Accept: {accept[:200]}; use {DID_RESOLUTION}, {DID}, {DID_LD_JSON} "
        f"or {DID_JSON}"
    )


def choose_dereferencing_representation(accept: str | None) -> tuple[str, bool]:
    """(response media type, whether it is the dereferencing result) for a DID URL's Accept.

    No Accept header, or a wildcard, answers the resource itself, as the Universal Resolver does.
    """
    if not accept or not accept.strip():
        return DID_LD_JSON, False
    for media_type, profile in _accepted(accept):
        if media_type in (DID_URL_DEREFERENCING, DID_RESOLUTION) or (
            media_type == "application/ld+json"
            and profile in (LEGACY_DEREFERENCING_PROFILE, LEGACY_RESOLUTION_PROFILE)
        ):
            return DID_URL_DEREFERENCING, True
        if media_type in ("*/*", "application/*"):
            return DID_LD_JSON, False
        if media_type in _RESOURCE_TYPES:
            return media_type, False
    raise RepresentationNotSupported(
        f"cannot answer Accept: {accept[:200]} for a DID URL; use {DID_URL_DEREFERENCING}, "
        f"{DID_LD_JSON} or application/did+json"
    )


@router.get(
    "/1.0/identifiers/{did:path}",
    summary="Resolve a DID (did:ethr, did:key, hosted did:web) or dereference a DID URL",
    response_class=JSONResponse,
    responses={
        200: {
            "model": DidResolutionResult,
            "description": "The DID resolution result, or the DID document (see Accept); for a "
            "DID URL with a fragment, the dereferencing result or the resource it names",
        },
        GONE: {"model": DidResolutionResult, "description": "The DID is deactivated"},
    },
)
def resolve_identifier(
    request: Request,
    did: str,
    version_id: str | None = Query(None, alias="versionId", description="Block number."),
    version_time: str | None = Query(
        None, alias="versionTime", description="XML datetime, e.g. 2025-01-01T00:00:00Z."
    ),
) -> JSONResponse:
    did = _as_sent(request, did)
    if "#" in did:
        return _dereference(request, did, version_id, version_time)
    media_type, full_result = choose_representation(request.headers.get("accept"))
    resolver: Resolver = request.app.state.node.resolver
    document_type = DID_JSON if media_type == DID_JSON else DID_LD_JSON
    result = resolver.resolve(
        did,
        version_id=_block_number(version_id),
        version_time=_instant(version_time),
        content_type=document_type,
    )
    status = GONE if result.deactivated else 200
    body: dict[str, Any] = result.as_json() if full_result else _document(result, media_type)
    return JSONResponse(body, status_code=status, media_type=media_type)


def _dereference(
    request: Request, did_url: str, version_id: str | None, version_time: str | None
) -> JSONResponse:
    """A DID URL with a fragment: the verification method (or service) it names."""
    media_type, full_result = choose_dereferencing_representation(request.headers.get("accept"))
    did, _ = split_did_url(did_url)
    resolver: Resolver = request.app.state.node.resolver
    result = resolver.resolve(
        did, version_id=_block_number(version_id), version_time=_instant(version_time)
    )
    resource = dereference_fragment(result.did_document, did_url)
    context = result.did_document.get("@context")
    with_context = resource if context is None else {"@context": context, **resource}
    if not full_result:
        body = with_context if _RESOURCE_TYPES.get(media_type, True) else resource
        return JSONResponse(body, media_type=media_type)
    return JSONResponse(
        {
            "@context": DID_RESOLUTION_CONTEXT,
            "dereferencingMetadata": {"contentType": DID_LD_JSON},
            "contentStream": with_context,
            "contentMetadata": {},
        },
        media_type=DID_URL_DEREFERENCING,
    )


def _as_sent(request: Request, decoded: str) -> str:
    """The identifier as the client meant it. A did:web with a port contains `%3A`; clients that
    encode only the `#` (as `%23`) send that `%3A` as is, and decoding it would turn the port into
    a path segment. So when the raw path still has literal colons, `%3A` is kept; a fully
    percent-encoded identifier (no literal colon) is decoded once, as usual."""
    raw = request.scope.get("raw_path")
    prefix = b"/1.0/identifiers/"
    if not isinstance(raw, bytes) or not raw.startswith(prefix):
        return decoded
    text = raw[len(prefix) :].decode("latin-1")
    if ":" not in text:
        return decoded
    return "%3A".join(unquote(part) for part in _ENCODED_COLON.split(text))


def _document(result: ResolutionResult, media_type: str) -> dict[str, Any]:
    document = dict(result.did_document)
    if media_type == DID_JSON:
        document.pop("@context", None)
    return document


def _block_number(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdecimal() or not text.isascii() or int(text) >= 2**63:
        raise InvalidResolutionOptions(f"versionId must be a block number, got {text[:80]!r}")
    return int(text)


def _instant(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidResolutionOptions(
            f"versionTime must be an XML datetime such as 2025-01-01T00:00:00Z, got {text[:80]!r}"
        ) from None
    if instant.tzinfo is None:
        raise InvalidResolutionOptions("versionTime needs a time zone, e.g. a trailing Z")
    return instant
