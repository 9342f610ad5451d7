"""Why a collection or an offer request is refused, each with a stable code.

Wallet protocols speak two error dialects: VC-API and the DCC deep link take RFC 9457 problems
(the API's default), OpenID4VCI's token and credential endpoints answer OAuth-style
`{error, error_description}`. `OAuthError` carries both, so one problem document serves both
kinds of client.
"""

from __future__ import annotations

from typing import Any

from node.errors import LernodeError


class OfferNotFound(LernodeError):
    code = "offer_not_found"
    title = "No such offer"
    status = 404


class OfferGone(LernodeError):
    """The offer exists but can no longer be collected (expired, cancelled)."""

    code = "offer_expired"
    title = "Offer no longer available"
    status = 410


class OfferCollected(LernodeError):
    code = "offer_already_collected"
    title = "Offer already collected"
    status = 409


class HolderRefused(LernodeError):
    """The wallet's proof of control of its DID did not convince (challenge, signature, DID)."""

    code = "holder_proof_invalid"
    title = "Holder not authenticated"
    status = 403


class OAuthError(LernodeError):
    """An OAuth 2.0 / OpenID4VCI error: `code` is the spec's `error` value."""

    title = "OpenID4VCI request refused"
    status = 400

    def __init__(self, error: str, description: str, **extra: Any) -> None:
        super().__init__(
            description, code=error, error=error, error_description=description, **extra
        )


class InvalidToken(OAuthError):
    """RFC 6750 `invalid_token`: missing, unknown or expired access token (401)."""

    status = 401

    def __init__(self, description: str) -> None:
        super().__init__("invalid_token", description)
