"""Offers of issued credentials to learners' wallets: the institution's API, the learner's page
and the two public doors a wallet knocks on directly (DCC request, OpenID4VCI offer by
reference). The VC-API exchange and the OpenID4VCI endpoints have their own modules.

The institution's endpoints need its issuer key. The public ones are reachable by anyone who
holds the offer id, which is the capability the institution sent the learner; they are
rate-limited and reveal nothing about other offers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field

from node.api.deps import InstitutionDep, NodeDep
from node.api.limits import rate_limited
from node.api.schemas.delivery import CredentialOffer
from node.delivery import qr
from node.delivery.errors import OfferGone
from node.delivery.offers import MAX_OFFERS_PER_REQUEST
from node.errors import InvalidInput, LernodeError
from node.store.models import OfferState
from node.verification.summary import summarize

router = APIRouter(prefix="/v1", tags=["issuing institution"])
public = APIRouter(tags=["wallet"], dependencies=[Depends(rate_limited("public"))])
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")

OfferId = Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    # The page's links carry the offer's secrets: never pass them on to another site.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class OfferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credential_ids: list[str] = Field(min_length=1, max_length=MAX_OFFERS_PER_REQUEST)
    cohort: str | None = Field(
        None, min_length=1, max_length=200, description="Label grouping a cohort's offers"
    )
    ttl_seconds: int | None = Field(
        None, ge=60, le=366 * 24 * 3600, description="Default: LERNODE_OFFER_TTL"
    )
    tx_code: bool = Field(
        False,
        description="OpenID4VCI: also require a 6-digit transaction code, sent to the learner "
        "separately (returned as txCode)",
    )


class OfferLinksView(BaseModel):
    page: str
    lcw: str = Field(description="DCC credential request deep link (Learner Credential Wallet)")
    vcRequestUrl: str  # noqa: N815 - wire names
    exchange: str = Field(description="VC-API exchange URL")
    interaction: str = Field(description="VC-API interaction URL (?iuv=1)")
    openid4vci: str = Field(description="OpenID4VCI credential offer by reference")
    openid4vciByValue: str  # noqa: N815
    credentialOfferUri: str  # noqa: N815


class OfferView(BaseModel):
    id: str
    credentialId: str  # noqa: N815
    cohort: str | None
    state: OfferState
    learner: str | None = Field(description="The learner's name, when the credential gives one")
    createdAt: str  # noqa: N815
    expiresAt: str  # noqa: N815
    collectedAt: str | None  # noqa: N815
    protocol: str | None = Field(description="dcc | vcapi | oid4vci, once collected")
    holder: str | None = Field(description="The DID the collected copy is bound to")
    collectedCredentialId: str | None  # noqa: N815
    txCode: str | None  # noqa: N815
    links: OfferLinksView | None = Field(description="While the offer is open")


class OfferList(BaseModel):
    offers: list[OfferView]


@router.post(
    "/offers",
    status_code=status.HTTP_201_CREATED,
    response_model=OfferList,
    summary="Offer credentials to their learners' wallets",
)
def create_offers(body: OfferRequest, node: NodeDep, institution: InstitutionDep) -> Any:
    """One single-use, expiring offer per credential (a cohort: one per learner)."""
    offers = node.offers.create(
        institution,
        body.credential_ids,
        cohort=body.cohort,
        ttl=body.ttl_seconds,
        tx_code=body.tx_code,
    )
    return {"offers": [node.offers.view(offer) for offer in offers]}


@router.get("/offers", response_model=OfferList, summary="Offers of a credential or a cohort")
def list_offers(
    node: NodeDep,
    institution: InstitutionDep,
    credential_id: str | None = Query(None, max_length=200),
    cohort: str | None = Query(None, max_length=200),
    state: OfferState | None = None,
) -> Any:
    offers = node.offers.list(institution, credential_id=credential_id, cohort=cohort, state=state)
    return {"offers": [node.offers.view(offer) for offer in offers]}


@router.get("/offers/{offer_id}", response_model=OfferView, summary="An offer and its state")
def get_offer(offer_id: str, node: NodeDep, institution: InstitutionDep) -> Any:
    return node.offers.view(node.offers.get(offer_id, institution))


@router.delete("/offers/{offer_id}", response_model=OfferView, summary="Withdraw an open offer")
def cancel_offer(offer_id: str, node: NodeDep, institution: InstitutionDep) -> Any:
    return node.offers.view(node.offers.cancel(offer_id, institution))


# -- public: the learner and the wallet ---------------------------------------------------------


@public.get("/offers/{offer_id}", response_class=HTMLResponse, include_in_schema=False)
def offer_page(request: Request, offer_id: str, node: NodeDep) -> HTMLResponse:
    """The learner's page: what is offered, and the links and QR codes for their wallet."""
    try:
        offer = node.offers.get(offer_id)
    except LernodeError as error:
        return _page(request, error=error, status_code=error.status)
    context: dict[str, Any] = {"offer": offer, "state": offer.state.value}
    document = node.offers.offered_document(offer)
    context["credential"] = summarize(document, None) if document else None
    context["expires"] = node.offers.view(offer)["expiresAt"]
    try:
        node.offers.open_offer(offer.id)
    except OfferGone as error:
        context["state"], context["gone"] = "gone", error.detail
        return _page(request, **context)
    except LernodeError:
        return _page(request, **context)
    links = node.offers.links(offer)
    context["links"] = links
    context["lcw_qr"] = qr.svg(links.dcc_deep_link)
    context["oid4vci_qr"] = qr.svg(links.openid4vci_by_reference)
    return _page(request, **context)


def _page(request: Request, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "offer.html", context, status_code=status_code, headers=PAGE_HEADERS
    )


@public.post("/offers/{offer_id}/request", summary="DCC credential request (vc_request_url)")
async def dcc_request(request: Request, offer_id: str, node: NodeDep) -> dict[str, Any]:
    """The Learner Credential Wallet POSTs a DIDAuth presentation carrying the offer's
    challenge (signed by the holder's did:key); the answer is the credential bound to it."""
    presentation = await json_body(request)
    return await run_in_threadpool(
        node.offers.collect_with_presentation, offer_id, presentation, protocol="dcc"
    )


@public.get(
    "/offers/{offer_id}/openid-credential-offer",
    summary="OpenID4VCI credential offer (credential_offer_uri)",
    response_model=CredentialOffer,
)
def credential_offer(offer_id: str, node: NodeDep) -> dict[str, Any]:
    offer = node.offers.open_offer(offer_id)
    return node.offers.links(offer).credential_offer()


async def json_body(request: Request) -> Any:
    import json

    raw = await request.body()
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidInput("the request body must be JSON", code="malformed_json") from None
