"""Verification for anyone: `POST /v1/verify` (JSON report) and the `/verify` page (HTML).

Both are public and metered by the `verify` rate limit: verifying costs the node CPU time, and
the caller needs no account. The JSON endpoint answers 200 with the report whether
the credential is valid or not (the *request* succeeded); input the verifier cannot evaluate is
an RFC 9457 problem. The page shows the same report as a person reads it; it takes pasted JSON, an
uploaded file, or a link `/verify?credential=<JSON or base64url JSON>` (what `lernode export`
prints), and has no script at all, so a strict Content-Security-Policy costs nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from node.api.deps import NodeDep, node_of
from node.api.inspection import body_depth_checked
from node.api.limits import rate_limited
from node.api.schemas.verification import (
    PresentationReportView,
    VerificationReportView,
    VerifyQuery,
    report_json,
)
from node.credentials.json_depth import loads_bounded
from node.errors import InvalidInput, LernodeError
from node.verification.presentations import PresentationReport, is_presentation
from node.verification.report import CHECK_NAMES, VerificationReport
from node.verification.submission import parse_instant, parse_submission

if TYPE_CHECKING:
    from node.wiring.runtime import Node

#: Submissions up to this size are verified on the event loop: a credential or a small bundle
#: takes a few milliseconds of CPU, and handing it to the thread pool cost about a fifth of
#: that again (queue, thread wake-up, GIL hand-offs). Larger ones (CLRs with many embedded
#: credentials, presentations) go to the pool, so one slow request never stalls the worker's
#: other connections.
INLINE_MAX_BYTES = 32 * 1024

#: The `verify` group's meter: a dependency of the pages' router, called by `verify_credential`
#: itself.
_METER = rate_limited("verify")
#: The pages; `POST /v1/verify` is added by `install_verification_api`.
router = APIRouter(tags=["verifier"], dependencies=[Depends(_METER)])
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")

#: What the page calls each check.
CHECK_LABELS = dict(
    zip(
        CHECK_NAMES,
        (
            "Format",
            "Signature",
            "Issuer's signing key",
            "Issuer accreditation",
            "Blockchain anchor",
            "Revocation and suspension",
            "Validity period",
        ),
        strict=True,
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    # The credential may sit in the URL: never pass it on to another site.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "A credential, a bundle {credential, receipt, "
                "embeddedReceipts?, statusListCredentials?, at?}, or a Verifiable "
                "Presentation.",
            }
        }
    },
}
_NO_QUERY = VerifyQuery()
#: The query as OpenAPI parameters, described by `VerifyQuery` as FastAPI would describe them.
_QUERY_PARAMETERS = [
    {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": schema["description"],
    }
    for name, schema in VerifyQuery.model_json_schema()["properties"].items()
]


def install_verification_api(app: FastAPI) -> None:
    """`POST /v1/verify` on the app's own router, ahead of every included router: FastAPI
    matches a route of an included router through a wrapper of its own on each request, which
    cost a verification about a tenth of a millisecond (scripts/bench.py, section 3)."""
    app.add_api_route(
        "/v1/verify",
        verify_credential,
        methods=["POST"],
        tags=["verifier"],
        summary="Verify a credential or bundle",
        openapi_extra={"requestBody": _REQUEST_BODY, "parameters": _QUERY_PARAMETERS},
        response_model=VerificationReportView | PresentationReportView,
        response_description="The verification report (also when the verdict is invalid)",
        # What FastAPI documents for a route with parameters (install_problem_handlers turns
        # it into the problem the node answers): a query or body the node cannot evaluate.
        responses={422: {"description": "Invalid request"}},
    )


async def verify_credential(request: Request) -> Response:
    """Every check, its status and reason code, the overall verdict, and what the credential
    says (achievement, issuer, learner, skills, dates). A holder's Verifiable Presentation is
    verified too: its own checks (proof, holder key, challenge, domain) and each credential's."""
    # Metered first, the node straight from the app and the query read by `_query`, none of
    # them through FastAPI's dependencies: on the node's busiest route each dependency and
    # parameter FastAPI solves cost every verification tens of microseconds.
    await _METER(request)
    node = node_of(request)
    query = _query(request)
    raw = await request.body()
    body = _json(raw, depth_checked=body_depth_checked(request.scope))
    if is_presentation(body):
        instant = parse_instant(query.at)
        presented: PresentationReport = await run_in_threadpool(
            lambda: node.presentations.verify(
                body, challenge=query.challenge, domain=query.domain, at=instant
            )
        )
        view = PresentationReportView.model_validate(presented.as_json())
        return _json_response(view.model_dump_json(by_alias=True))
    submission = parse_submission(body, at=query.at)
    report: VerificationReport
    if len(raw) <= INLINE_MAX_BYTES:
        report = node.verifier.verify(submission)
    else:
        report = await run_in_threadpool(node.verifier.verify, submission)
    return _json_response(report_json(report.as_json()))


def _query(request: Request) -> VerifyQuery:
    """The query, validated as FastAPI would validate it as parameters (the same 422 problem),
    at no cost when there is none, which is every verification of a credential: solved by
    FastAPI, the three optional parameters cost each request about 40 µs."""
    if not request.scope.get("query_string"):
        return _NO_QUERY
    params = request.query_params
    given = {name: params[name] for name in VerifyQuery.model_fields if name in params}
    try:
        return VerifyQuery.model_validate(given)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in error.errors(include_url=False)]
        ) from None


def _json_response(body: bytes | str) -> Response:
    """A report already serialized in its view's shape: a `Response` the route returns is sent
    as it is, so FastAPI does not validate and serialize the report again (`response_model`
    stays on the route for the OpenAPI description)."""
    return Response(body, media_type="application/json")


# The page is for people, not API clients: it answers errors with an HTML page (a problem
# document would be unreadable in a browser), so it stays out of the OpenAPI description.
@router.get("/verify", response_class=HTMLResponse, include_in_schema=False)
async def verify_page(
    request: Request,
    node: NodeDep,
    credential: str | None = Query(None, description="Credential or bundle: JSON or base64url."),
    at: str | None = Query(None),
) -> HTMLResponse:
    if credential is None:
        return _page(request)
    return await _verify_and_render(request, node, lambda: _decode_link(credential), at)


@router.post("/verify", response_class=HTMLResponse, include_in_schema=False)
async def verify_form(request: Request, node: NodeDep) -> HTMLResponse:
    async with request.form() as form:
        upload, pasted, at = form.get("file"), form.get("credential"), form.get("at")
        uploaded = await upload.read() if isinstance(upload, UploadFile) else b""
    text = uploaded or (pasted.encode() if isinstance(pasted, str) else b"")
    return await _verify_and_render(
        request, node, lambda: _json(text), at if isinstance(at, str) and at.strip() else None
    )


async def _verify_and_render(
    request: Request, node: Node, body: Callable[[], Any], at: str | None
) -> HTMLResponse:
    """The page with the report, or with the reason the input could not be verified."""
    try:
        submission = parse_submission(body(), at=at)
        report: VerificationReport = await run_in_threadpool(node.verifier.verify, submission)
    except LernodeError as error:
        return _page(request, error=error, status=error.status)
    return _page(request, report=report)


def _page(
    request: Request,
    *,
    report: VerificationReport | None = None,
    error: LernodeError | None = None,
    status: int = 200,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "verify.html",
        {
            "report": report.as_json() if report is not None else None,
            "error": error,
            "labels": CHECK_LABELS,
        },
        status_code=status,
        headers=PAGE_HEADERS,
    )


def _json(raw: bytes, *, depth_checked: bool = False) -> Any:
    """`raw` parsed; `depth_checked` when the request inspection already measured exactly these
    bytes as one JSON text (`body_depth_checked`: the whole body of a JSON request)."""
    if not raw.strip():
        raise InvalidInput(
            "no credential given: paste its JSON or choose a file", code="empty_body"
        )
    try:
        if depth_checked:
            return json.loads(raw)
        # Bounded: a link's base64 and an uploaded file were never seen as JSON by the
        # request inspection, and json.loads recurses (node/credentials/json_depth.py).
        return loads_bounded(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidInput(f"the input is not JSON: {error}", code="invalid_json") from None


def _decode_link(value: str) -> Any:
    """`?credential=` holds JSON (URL-encoded) or base64url of JSON, padded or not."""
    text = value.strip()
    if text.startswith("{"):
        return _json(text.encode())
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidInput(
            "the credential link is neither JSON nor base64url", code="invalid_link"
        ) from None
    return _json(raw)
