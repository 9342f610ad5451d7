"""EBSI Trusted Issuers Registry v5 shaped reads of the consortium's registry
(node/registry/ebsi.py): issuers, their attributes (one per accreditation decision, scoped to
credential types), and each attribute's signed Verifiable Accreditation.

`?evidence=true` on an attribute adds the chain evidence behind it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from node.api.deps import NodeDep
from node.registry.ebsi import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, TIR_PATH

router = APIRouter(prefix=TIR_PATH, tags=["registry: EBSI TIR"])

Did = Annotated[str, Path(max_length=512, description="Issuer DID")]
PageAfter = Annotated[int, Query(alias="page[after]", ge=1, le=10**6)]
PageSize = Annotated[int, Query(alias="page[size]", ge=1, le=MAX_PAGE_SIZE)]


class Links(BaseModel):
    first: str
    prev: str
    next: str
    last: str


class IssuerItem(BaseModel):
    did: str
    href: str


class AttributeItem(BaseModel):
    id: str
    href: str


class IssuersPage(BaseModel):
    self: str
    items: list[IssuerItem]
    total: int
    pageSize: int  # noqa: N815 (EBSI's member name)
    links: Links


class AttributesPage(BaseModel):
    self: str
    items: list[AttributeItem]
    total: int
    pageSize: int  # noqa: N815
    links: Links


class Issuer(BaseModel):
    did: str
    attributes: str = Field(description="URL of the issuer's attribute list")
    hasAttributes: bool  # noqa: N815


class AttributeBody(BaseModel):
    hash: str = Field(description="sha256 of body, hex")
    body: str = Field(description="Verifiable Accreditation as a signed JWT")
    issuerType: str = Field(examples=["TI", "Revoked"])  # noqa: N815
    tao: str
    rootTao: str  # noqa: N815
    status: str = Field(examples=["active", "suspended", "removed", "superseded"])


class IssuerAttribute(BaseModel):
    did: str
    attribute: AttributeBody
    evidence: dict[str, Any] | None = None


@router.get("/issuers", summary="Issuers of the registry", response_model=IssuersPage)
def issuers(
    node: NodeDep, page_after: PageAfter = 1, page_size: PageSize = DEFAULT_PAGE_SIZE
) -> dict[str, Any]:
    return node.registry.tir.issuers(page_after, page_size)


@router.get("/issuers/{did}", summary="One issuer", response_model=Issuer)
def issuer(did: Did, node: NodeDep) -> dict[str, Any]:
    return node.registry.tir.issuer(did)


@router.get(
    "/issuers/{did}/attributes",
    summary="An issuer's accreditations (one per consortium decision)",
    response_model=AttributesPage,
)
def attributes(
    did: Did, node: NodeDep, page_after: PageAfter = 1, page_size: PageSize = DEFAULT_PAGE_SIZE
) -> dict[str, Any]:
    return node.registry.tir.attributes(did, page_after, page_size)


@router.get(
    "/issuers/{did}/attributes/{attribute_id}",
    summary="One accreditation, as a signed Verifiable Accreditation",
    response_model=IssuerAttribute,
    response_model_exclude_unset=True,
)
def attribute(
    did: Did,
    node: NodeDep,
    attribute_id: Annotated[str, Path(pattern=r"^[0-9a-fA-F]{64}$")],
    evidence: Annotated[bool, Query()] = False,
) -> dict[str, Any]:
    return node.registry.tir.attribute(did, attribute_id, evidence=evidence)
