"""Wallet delivery answers whose shape a specification fixes."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from node.api.schemas.common import OpenModel


class CredentialOffer(OpenModel):
    """An OpenID4VCI 1.0 credential offer (section 4.1.1): the issuer, what it offers and the
    pre-authorized code grant."""

    credential_issuer: str
    credential_configuration_ids: list[str]
    grants: dict[str, dict[str, Any]] = Field(
        description="`urn:ietf:params:oauth:grant-type:pre-authorized_code` with the code and, "
        "when the institution set one, the `tx_code` the learner must enter."
    )
