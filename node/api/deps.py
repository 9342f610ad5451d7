"""Shared route dependencies: the running node and the caller's institution."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from node.access.apikeys import Scope
from node.api.auth import Principal, require_scope
from node.errors import Forbidden, NotFound
from node.store.models import Institution

if TYPE_CHECKING:
    from node.wiring.runtime import Node


def node_of(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


async def get_node(request: Request) -> Node:
    """As a coroutine, because FastAPI runs a plain function dependency in its thread pool:
    a thread hop on every request for an attribute read (a fifth of a verification's HTTP
    cost)."""
    return node_of(request)


NodeDep = Annotated["Node", Depends(get_node)]


def acting_institution(
    request: Request,
    principal: Annotated[Principal, Depends(require_scope(Scope.ISSUER))],
) -> Institution:
    """The institution an issuer key acts for; an admin key acts for the node's own one."""
    node = node_of(request)
    if principal.institution_id is not None:
        return node.onboarding.get(principal.institution_id)
    institution = node.own_institution()
    if institution is None:
        raise NotFound("this node hosts no institution yet", code="institution_not_found")
    if not principal.may_act_for(institution.id or -1):
        raise Forbidden("this key is not bound to an institution", code="insufficient_scope")
    return institution


InstitutionDep = Annotated[Institution, Depends(acting_institution)]
