"""What issuing institutions get back: issued credentials, records, bundles, status changes."""

from __future__ import annotations

from pydantic import Field

from node.api.schemas.common import CamelModel, JsonDocument, OpenCamelModel


class IssuedCredential(CamelModel):
    id: str = Field(examples=["urn:uuid:7c1f..."])
    state: str = Field(description="Lifecycle state: `pending` until anchored.")
    credential: JsonDocument = Field(description="The signed credential (VC 2.0).")


class IssueResponse(CamelModel):
    credentials: list[IssuedCredential]


class AnchorReceipt(OpenCamelModel):
    """Where and how the credential's hash is anchored: enough to verify with only the chain."""

    type: str = Field(examples=["LernodeAnchorReceipt"])
    chain_id: int
    contract: str = Field(description="CredentialRegistry address.")
    issuer: str = Field(description="Address that anchored the root.")
    credential_hash: str
    leaf: str
    root: str = Field(description="Merkle root anchored on chain.")
    proof: list[str] = Field(description="Merkle siblings from the leaf to the root.")
    transaction_hash: str | None
    block_number: int | None
    block_time: str | None
    count: int | None = Field(description="Credentials anchored under the root.")


class CredentialRecord(OpenCamelModel):
    """A credential's lifecycle as the node keeps it, with the document and its receipt."""

    id: str
    kind: str
    state: str
    revoked: bool
    suspended: bool
    erased: bool
    credential_hash: str
    status_list: int | str | None = None
    status_index: int | None = None
    credential: JsonDocument | None = Field(description="Null once erased.")
    receipt: AnchorReceipt | None = Field(description="Null until anchored.")


class Bundle(OpenCamelModel):
    """What the holder keeps: the credential and its anchor receipt."""

    credential: JsonDocument | None
    receipt: AnchorReceipt | None


class StatusChange(CamelModel):
    id: str
    changed: bool = Field(description="False when the credential already had that status.")


class StatusChangeResult(CamelModel):
    action: str = Field(examples=["revoke"])
    on_chain: str = Field(description="`confirmed` or `pending` (not mined within `wait`).")
    changes: list[StatusChange]
