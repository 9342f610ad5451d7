"""VC-API exchanges (W3C CCG VC API, "Workflows and Exchanges") for collecting an offer.

`POST /workflows/credential-offer/exchanges/{offer id}` with `{}` answers a
`verifiablePresentationRequest` for `DIDAuthentication` (did:key) with the offer's challenge and
the node's domain; POSTing `{verifiablePresentation}` (the signed DIDAuth presentation) answers
`{verifiablePresentation}` whose `verifiableCredential` is the credential bound to the holder.
`GET` of the same URL with `?iuv=1` is the interaction URL: `{"protocols": {...}}` for a wallet
(`Accept: application/json`), the learner's offer page for a browser.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from node.api.deps import NodeDep
from node.api.limits import rate_limited
from node.api.routes.offers import json_body
from node.credentials.model import VC_V2_CONTEXT
from node.delivery.links import WORKFLOW
from node.errors import InvalidInput

router = APIRouter(tags=["wallet"], dependencies=[Depends(rate_limited("public"))])
PATH = f"/workflows/{WORKFLOW}/exchanges/{{offer_id}}"


class ExchangeStep(BaseModel):
    """One VC-API exchange response: a request for more, or the result."""

    model_config = ConfigDict(extra="allow")

    verifiablePresentationRequest: dict[str, Any] | None = None  # noqa: N815 - wire name
    verifiablePresentation: dict[str, Any] | None = None  # noqa: N815


class Protocols(BaseModel):
    protocols: dict[str, str] = Field(description="Protocol name -> where to continue")


class ExchangeState(BaseModel):
    exchange: dict[str, str]


@router.post(
    PATH,
    response_model=ExchangeStep,
    response_model_exclude_none=True,
    summary="Participate in a credential-offer exchange",
)
async def participate(request: Request, offer_id: str, node: NodeDep) -> Any:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidInput("an exchange message is a JSON object", code="invalid_exchange_message")
    presentation = body.get("verifiablePresentation")
    if presentation is None:
        return await run_in_threadpool(node.offers.presentation_request, offer_id)
    credential = await run_in_threadpool(
        node.offers.collect_with_presentation, offer_id, presentation, protocol="vcapi"
    )
    return {
        "verifiablePresentation": {
            "@context": [VC_V2_CONTEXT],
            "type": ["VerifiablePresentation"],
            "verifiableCredential": [credential],
        }
    }


@router.get(
    PATH,
    response_model=Protocols | ExchangeState,
    summary="Interaction URL (?iuv=1) or the exchange's state",
)
def interaction(
    request: Request, offer_id: str, node: NodeDep, iuv: str | None = Query(None)
) -> Any:
    if iuv != "1":
        offer = node.offers.get(offer_id)
        view = node.offers.view(offer)
        return {"exchange": {"id": offer.id, "state": view["state"], "expires": view["expiresAt"]}}
    offer = node.offers.open_offer(offer_id)
    links = node.offers.links(offer)
    if _prefers_html(request):
        return RedirectResponse(links.page, status_code=303)
    return {"protocols": {"vcapi": links.exchange, "OID4VCI": links.openid4vci_by_reference}}


def _prefers_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept
