"""Where a wallet finds an offer: the exact links and documents each protocol expects.

One offer, four doors (all on the node's public URL):
- the learner's page `/offers/{id}` (HTML; QR codes of the links below);
- the DCC credential request deep link (Learner Credential Wallet):
  `<wallet_request_url>?issuer=<host>&auth_type=bearer&challenge=<c>&vc_request_url=<url>`, where
  the wallet POSTs a DIDAuth presentation carrying the challenge to `vc_request_url`
  (`/offers/{id}/request`); with `auth_type=bearer` the challenge is the bearer secret and no
  Authorization header is sent;
- the VC-API exchange `/workflows/credential-offer/exchanges/{id}` and its interaction URL
  (the same URL with `?iuv=1`);
- the OpenID4VCI credential offer, by value (`openid-credential-offer://?credential_offer=...`)
  or by reference (`...?credential_offer_uri=<node>/offers/{id}/openid-credential-offer`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
OFFER_SCHEME = "openid-credential-offer://"
WORKFLOW = "credential-offer"
#: Credential configuration id per credential kind (`credential_configurations_supported`).
CONFIGURATIONS = {
    "OpenBadgeCredential": "OpenBadgeCredential_ldp_vc",
    "ClrCredential": "ClrCredential_ldp_vc",
}


@dataclass(frozen=True)
class OfferLinks:
    """Every link of one offer, built from the node's public base URL."""

    base_url: str
    wallet_request_url: str
    offer_id: str
    challenge: str
    pre_authorized_code: str
    configuration_id: str
    tx_code_length: int | None = None

    @property
    def page(self) -> str:
        return f"{self.base_url}/offers/{self.offer_id}"

    @property
    def vc_request_url(self) -> str:
        return f"{self.page}/request"

    @property
    def dcc_deep_link(self) -> str:
        params = {
            "issuer": urlsplit(self.base_url).netloc,
            "auth_type": "bearer",
            "challenge": self.challenge,
            "vc_request_url": self.vc_request_url,
        }
        return f"{self.wallet_request_url}?{urlencode(params)}"

    @property
    def exchange(self) -> str:
        return exchange_url(self.base_url, self.offer_id)

    @property
    def interaction(self) -> str:
        return f"{self.exchange}?iuv=1"

    @property
    def credential_offer_uri(self) -> str:
        return f"{self.page}/openid-credential-offer"

    def credential_offer(self) -> dict[str, Any]:
        """The OpenID4VCI 1.0 credential offer object (pre-authorized code grant)."""
        grant: dict[str, Any] = {"pre-authorized_code": self.pre_authorized_code}
        if self.tx_code_length is not None:
            grant["tx_code"] = {
                "input_mode": "numeric",
                "length": self.tx_code_length,
                "description": "The code your institution sent you with this offer",
            }
        return {
            "credential_issuer": self.base_url,
            "credential_configuration_ids": [self.configuration_id],
            "grants": {PRE_AUTHORIZED_GRANT: grant},
        }

    @property
    def openid4vci_by_value(self) -> str:
        compact = json.dumps(self.credential_offer(), separators=(",", ":"))
        return f"{OFFER_SCHEME}?credential_offer={quote(compact, safe='')}"

    @property
    def openid4vci_by_reference(self) -> str:
        return f"{OFFER_SCHEME}?credential_offer_uri={quote(self.credential_offer_uri, safe='')}"

    def as_json(self) -> dict[str, str]:
        return {
            "page": self.page,
            "lcw": self.dcc_deep_link,
            "vcRequestUrl": self.vc_request_url,
            "exchange": self.exchange,
            "interaction": self.interaction,
            "openid4vci": self.openid4vci_by_reference,
            "openid4vciByValue": self.openid4vci_by_value,
            "credentialOfferUri": self.credential_offer_uri,
        }


def exchange_url(base_url: str, offer_id: str) -> str:
    return f"{base_url}/workflows/{WORKFLOW}/exchanges/{offer_id}"


def exchange_domain(base_url: str) -> str:
    """The `domain` a VC-API DIDAuth presentation must be bound to: the node's host."""
    return urlsplit(base_url).netloc
