"""The HTTP face of a node: thin routers over the services of a running `Node`.

Routes translate HTTP to service calls and back; they hold no business rules. Every error leaves
as an RFC 9457 problem (see problems.py), every request body is size-limited and public endpoints
are rate-limited (limits.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI

from node import __version__
from node.api.access_log import install_access_log_redaction
from node.api.docs import install_docs
from node.api.limits import install_limits, rate_limited
from node.api.problems import install_problem_handlers
from node.api.routes import (
    admin,
    credentials,
    did_web,
    ebsi_tir,
    exchanges,
    federation,
    governance,
    health,
    institutions,
    metrics,
    offers,
    oid4vci,
    resolver,
    status_lists,
    trqp,
    vcapi,
    verify,
)

if TYPE_CHECKING:
    from node.wiring.runtime import Node

DESCRIPTION = """\
Issue, anchor, revoke and verify Learning and Employment Records (W3C Verifiable Credentials 2.0
shaped as Open Badges 3.0 / CLR 2.0), resolve `did:ethr` issuer DIDs, and govern which
institutions may issue. Write endpoints need an API key (`Authorization: Bearer lk_...`).
Errors are RFC 9457 problem documents with a stable `code`.
"""


def create_app(node: Node) -> FastAPI:
    """Build the app around a started node; `app.state.node` is how routes reach its services."""
    app = FastAPI(
        title="lernode",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # served by install_docs, without a CDN
        redoc_url=None,
    )
    app.state.node = node
    # Verification first: it is what the node serves most, and a request is matched against
    # the routes in order (every route before it costs each verification a match).
    verify.install_verification_api(app)
    install_access_log_redaction()
    install_docs(app)
    install_problem_handlers(app)
    install_limits(app, node.settings)
    app.add_middleware(metrics.MetricsMiddleware)
    app.include_router(verify.router)
    app.include_router(metrics.router)
    for module in (health, credentials, institutions, admin):
        app.include_router(module.router)
    # Public reads of chain facts are metered per client, like verification.
    app.include_router(resolver.router, dependencies=[Depends(rate_limited("resolve"))])
    for module in (status_lists, governance):
        app.include_router(module.router, dependencies=[Depends(rate_limited("public"))])
    app.include_router(vcapi.router)
    app.include_router(did_web.router, dependencies=[Depends(rate_limited("public"))])
    # Wallet delivery: the institution's offers API, the learner's page, the wallet protocols.
    for router in (offers.router, offers.public, exchanges.router, oid4vci.router):
        app.include_router(router)
    # The consortium registry in the ecosystem's trust-registry protocols (public, metered).
    for module in (federation, trqp, ebsi_tir):
        app.include_router(module.router, dependencies=[Depends(rate_limited("registry"))])
    return app
