"""OpenID for Verifiable Credential Issuance 1.0 (pre-authorized code flow): issuer and
authorization server metadata, token, nonce and credential endpoints (node/delivery/oid4vci.py
holds the rules). Responses to the token, nonce and credential requests are `no-store`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict

from node.api.deps import NodeDep
from node.api.limits import rate_limited
from node.api.routes.offers import json_body
from node.errors import InvalidInput

router = APIRouter(tags=["wallet"], dependencies=[Depends(rate_limited("public"))])
NO_STORE = {"Cache-Control": "no-store"}


class Document(BaseModel):
    """A protocol-defined JSON document (its shape is the specification's)."""

    model_config = ConfigDict(extra="allow")


@router.get(
    "/.well-known/openid-credential-issuer",
    response_model=Document,
    summary="OpenID4VCI credential issuer metadata",
)
def issuer_metadata(node: NodeDep) -> Any:
    return node.oid4vci.issuer_metadata()


@router.get(
    "/.well-known/oauth-authorization-server",
    response_model=Document,
    summary="OAuth 2.0 authorization server metadata (RFC 8414)",
)
def authorization_server_metadata(node: NodeDep) -> Any:
    return node.oid4vci.authorization_server_metadata()


@router.post("/oid4vci/token", response_model=Document, summary="Token (pre-authorized code)")
async def token(request: Request, response: Response, node: NodeDep) -> Any:
    async with request.form() as form:
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
    response.headers.update(NO_STORE)
    return await run_in_threadpool(node.oid4vci.token, fields)


@router.post("/oid4vci/nonce", response_model=Document, summary="A fresh c_nonce")
def nonce(response: Response, node: NodeDep) -> Any:
    response.headers.update(NO_STORE)
    return node.oid4vci.nonce()


@router.post("/oid4vci/credential", response_model=Document, summary="Credential (ldp_vc)")
async def credential(request: Request, response: Response, node: NodeDep) -> Any:
    try:
        body = await json_body(request)
    except InvalidInput:
        body = None
    response.headers.update(NO_STORE)
    return await run_in_threadpool(
        node.oid4vci.credential, request.headers.get("authorization"), body
    )
