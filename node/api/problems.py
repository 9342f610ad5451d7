"""Every error the API returns is an RFC 9457 problem document.

Clients switch on one stable field, `code` (snake_case), whatever layer failed: a `LernodeError`
from a service, request validation, routing (404/405), the body and rate limits, or a bug. The
document is `application/problem+json` with the RFC members `type`, `title`, `status`, `detail`,
`instance` plus the extensions `code`, `retryable` and whatever the error carried in `extra`.

`type` is the absolute URI `https://lernode.dev/problems/<code>`. RFC 9457 allows relative
references but warns that clients resolve them inconsistently; an absolute URI is the same
string on every node, so it can be compared as an identifier (it need not be dereferenceable).

Retryable errors (chain or database outage, rate limit) also carry a `Retry-After` header, and
every 401 a `WWW-Authenticate` challenge, as HTTP requires. Unexpected exceptions become a 500
with a generic detail and an `incident` id; the trace goes only to the log, under that id.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from node.errors import LernodeError

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://lernode.dev/problems/"
#: Seconds a client should wait after a retryable error that does not know better.
DEFAULT_RETRY_AFTER = 5
#: Validation errors listed in one problem; more would only help someone probing the schema.
MAX_VALIDATION_ERRORS = 20
#: Longest `location`/`message` echoed back: keys and messages can carry attacker-sized input.
MAX_ERROR_TEXT = 200
#: The members the RFC and this API define; `extra` may not overwrite them.
RESERVED_MEMBERS = frozenset(
    {"type", "title", "status", "detail", "instance", "code", "retryable", "errors"}
)

# Codes for HTTP errors raised by the framework itself (routing, parsing), not by our services.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class ProblemError(BaseModel):
    """One reason a request failed validation, without the offending input."""

    location: str = Field(examples=["body.credentialSubject.name"])
    message: str = Field(examples=["Field required"])


class Problem(BaseModel):
    """The RFC 9457 problem document every error response carries (schema for OpenAPI)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=[f"{PROBLEM_TYPE_BASE}not_found"])
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["no credential urn:uuid:..."])
    instance: str = Field(description="Path of the request that failed.", examples=["/v1/x"])
    code: str = Field(description="Stable snake_case reason to switch on.", examples=["not_found"])
    retryable: bool = Field(description="Whether the same request may succeed later.")
    errors: list[ProblemError] | None = Field(
        None, description="Validation failures (code `invalid_request` only)."
    )


def problem_type(code: str) -> str:
    """The `type` URI of a problem code."""
    return PROBLEM_TYPE_BASE + code


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    instance: str,
    title: str | None = None,
    retryable: bool = False,
    retry_after: int | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
    errors: list[dict[str, str]] | None = None,
) -> JSONResponse:
    """Render one problem; the single place the document's shape is decided.

    `extra` members never shadow the standard ones, so a service cannot break the contract by
    naming a field `status`.
    """
    body: dict[str, Any] = {
        key: value for key, value in (extra or {}).items() if key not in RESERVED_MEMBERS
    }
    body.update(
        type=problem_type(code),
        title=title or _phrase(status),
        status=status,
        detail=detail,
        instance=instance,
        code=code,
        retryable=retryable,
    )
    if errors is not None:
        body["errors"] = errors
    response_headers = dict(headers or {})
    if retryable:
        response_headers.setdefault("Retry-After", str(retry_after or DEFAULT_RETRY_AFTER))
    if status == HTTPStatus.UNAUTHORIZED:
        response_headers.setdefault("WWW-Authenticate", 'Bearer realm="lernode"')
    return JSONResponse(
        jsonable_encoder(body),
        status_code=status,
        headers=response_headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries documenting that a route answers `statuses` with a problem."""
    return {status: _problem_content(_phrase(status)) for status in statuses}


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error `app` returns a problem document, and say so in its OpenAPI."""
    app.add_exception_handler(LernodeError, _lernode_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected_error)
    _document_problems(app)


# -- handlers -------------------------------------------------------------------------------


async def _lernode_error(request: Request, exc: LernodeError) -> JSONResponse:
    return problem_response(
        exc.status,
        exc.code,
        exc.detail,
        instance=request.url.path,
        title=exc.title,
        retryable=exc.retryable,
        retry_after=getattr(exc, "retry_after", None),
        extra=exc.extra,
    )


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    malformed = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if malformed is not None:
        reason = (malformed.get("ctx") or {}).get("error", "invalid JSON")
        position = malformed["loc"][-1] if malformed.get("loc") else "?"
        return problem_response(
            400,
            "malformed_json",
            f"request body is not valid JSON: {reason} (at character {position})",
            instance=request.url.path,
            title="Malformed JSON",
        )
    listed = [_describe(error) for error in errors[:MAX_VALIDATION_ERRORS]]
    detail = f"{len(errors)} problem(s) with the request"
    if len(errors) > len(listed):
        detail += f"; the first {len(listed)} are listed"
    return problem_response(
        422,
        "invalid_request",
        detail,
        instance=request.url.path,
        title="Invalid request",
        errors=listed,
    )


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    status = exc.status_code
    phrase = _phrase(status)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else ""
    if not detail:
        detail = _default_http_detail(status, request)
    headers = dict(exc.headers or {})
    if status == HTTPStatus.METHOD_NOT_ALLOWED:
        headers["Allow"] = ", ".join(sorted(allowed_methods(request.app, request.scope["path"])))
    return problem_response(
        status,
        _HTTP_CODES.get(status, _snake(phrase)),
        detail,
        instance=request.url.path,
        headers=headers,
        retryable=status in (429, 503),
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    incident = uuid.uuid4().hex
    log.error(
        "unhandled error on %s %s (incident %s)",
        request.method,
        request.url.path,
        incident,
        exc_info=exc,
    )
    return problem_response(
        500,
        "internal_error",
        "the node failed unexpectedly; the operator can find the cause in the log "
        f"under incident {incident}",
        instance=request.url.path,
        title="Internal error",
        extra={"incident": incident},
    )


# -- helpers --------------------------------------------------------------------------------


def allowed_methods(app: FastAPI, path: str) -> set[str]:
    """Every method some route answers on `path`.

    Starlette's 405 names only the methods of the first route whose path matched, but one path
    can have several routes (GET and DELETE of a credential are two endpoints).
    """
    methods: set[str] = set()
    for route in iter_route_contexts(app.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and route.methods and regex.match(path):
            methods |= route.methods
    return methods


def _describe(error: Mapping[str, Any]) -> dict[str, str]:
    """{location, message} of a validation error; the input itself is never echoed."""
    location = ".".join(str(part) for part in error.get("loc", ()))
    return {
        "location": _clip(location),
        "message": _clip(str(error.get("msg", "invalid value"))),
    }


def _default_http_detail(status: int, request: Request) -> str:
    if status == HTTPStatus.NOT_FOUND:
        return f"nothing at {_clip(request.url.path)}"
    if status == HTTPStatus.METHOD_NOT_ALLOWED:
        return f"{request.method} is not allowed on {_clip(request.url.path)}"
    return _phrase(status)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_TEXT else text[: MAX_ERROR_TEXT - 1] + "…"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _snake(phrase: str) -> str:
    return "_".join(phrase.lower().replace("-", " ").split())


# -- OpenAPI --------------------------------------------------------------------------------


def _problem_content(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _document_problems(app: FastAPI) -> None:
    """Teach the generated OpenAPI what the handlers above really send.

    FastAPI documents its own 422 body (`HTTPValidationError`, `application/json`); ours is a
    problem, and every operation can fail with one, hence a `default` problem response too.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem.pop("$defs", {}))
        schemas["Problem"] = problem
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.setdefault("responses", {})
                if "422" in responses:
                    responses["422"] = _problem_content("Invalid request")
                responses.setdefault("default", _problem_content("Error"))
        for unused in ("HTTPValidationError", "ValidationError"):
            if f'/{unused}"' not in json.dumps(schema.get("paths", {})):
                schemas.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
