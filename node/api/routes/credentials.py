"""Issuing institutions: issue, read, bundle, revoke/suspend/reinstate and erase credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Self

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from node.api.deps import InstitutionDep, NodeDep
from node.api.schemas.common import SingleLine
from node.api.schemas.credentials import (
    Bundle,
    CredentialRecord,
    IssuedCredential,
    IssueResponse,
    StatusChange,
    StatusChangeResult,
)
from node.credentials.inputs import CredentialInput, LearnerInput
from node.credentials.proofs import Cryptosuite
from node.issuance.service import MAX_PER_REQUEST
from node.issuance.status import StatusAction
from node.store.models import Institution

if TYPE_CHECKING:
    from node.wiring.runtime import Node

router = APIRouter(prefix="/v1", tags=["issuing institution"])

#: How long a status change request waits for its transaction by default.
DEFAULT_WAIT = 30.0
#: Longest credential id accepted: far above `urn:uuid:...` or any URL an issuer would use.
MAX_ID_LENGTH = 2048
CredentialId = Annotated[
    SingleLine, Path(max_length=MAX_ID_LENGTH, description="Credential id, e.g. urn:uuid:...")
]


class IssueRequest(BaseModel):
    """One credential (`credential`) or many (`credentials`)."""

    model_config = ConfigDict(extra="forbid")

    credential: CredentialInput | None = None
    credentials: list[CredentialInput] | None = Field(default=None, max_length=MAX_PER_REQUEST)
    cryptosuite: Cryptosuite = Cryptosuite.EDDSA_RDFC_2022
    anchor_now: StrictBool = Field(
        False, description="Anchor at once instead of waiting for the batch to fill."
    )

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if (self.credential is None) == (self.credentials is None):
            raise ValueError("give exactly one of 'credential' or 'credentials'")
        return self

    @property
    def inputs(self) -> list[CredentialInput]:
        return [self.credential] if self.credential is not None else list(self.credentials or [])


class TranscriptRequest(BaseModel):
    """A CLR 2.0 transcript: the achievements are issued and bundled into one ClrCredential."""

    model_config = ConfigDict(extra="forbid")

    name: SingleLine = Field(min_length=1, max_length=512)
    description: str | None = None
    learner: LearnerInput
    achievements: list[CredentialInput] = Field(min_length=1, max_length=500)
    cryptosuite: Cryptosuite = Cryptosuite.EDDSA_RDFC_2022
    anchor_now: StrictBool = False


class StatusRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: StatusAction
    ids: list[Annotated[SingleLine, Field(max_length=MAX_ID_LENGTH)]] = Field(
        min_length=1, max_length=10_000
    )
    reason: str = Field("", max_length=1000)
    wait: float = Field(DEFAULT_WAIT, ge=0, le=300, description="Seconds to wait for the chain.")


class SingleStatusRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=1000)
    wait: float = Field(DEFAULT_WAIT, ge=0, le=300)


@router.post(
    "/credentials",
    status_code=status.HTTP_201_CREATED,
    response_model=IssueResponse,
    summary="Issue credentials",
)
def issue(body: IssueRequest, node: NodeDep, institution: InstitutionDep) -> IssueResponse:
    """Sign and store the credentials now; they are anchored by the next batch (`pending`
    until then). The response carries the signed credentials."""
    signed = node.issuance.issue(
        institution, body.inputs, cryptosuite=body.cryptosuite, anchor_now=body.anchor_now
    )
    return IssueResponse(credentials=[_pending(c) for c in signed])


def _pending(credential: dict[str, Any]) -> IssuedCredential:
    return IssuedCredential(id=credential["id"], state="pending", credential=credential)


@router.post(
    "/transcripts",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedCredential,
    summary="Issue a CLR transcript",
)
def issue_transcript(
    body: TranscriptRequest, node: NodeDep, institution: InstitutionDep
) -> IssuedCredential:
    clr = node.issuance.issue_clr(
        institution,
        body.learner,
        body.achievements,
        name=body.name,
        description=body.description,
        cryptosuite=body.cryptosuite,
        anchor_now=body.anchor_now,
    )
    return _pending(clr)


@router.get(
    "/credentials/{credential_id}",
    response_model=CredentialRecord,
    summary="A credential and its lifecycle state",
)
def get_credential(
    credential_id: CredentialId, node: NodeDep, institution: InstitutionDep
) -> CredentialRecord:
    record = node.issuance.record(credential_id, institution)
    body = node.issuance.summary(record)
    body["credential"] = None if record.document is None else node.issuance.document(record)
    body["receipt"] = node.issuance.receipt(record)
    body["boundFrom"] = record.bound_from
    body["events"] = node.issuance.events(record.id)
    return CredentialRecord.model_validate(body)


@router.get(
    "/credentials/{credential_id}/bundle", response_model=Bundle, summary="What the holder keeps"
)
def get_bundle(credential_id: CredentialId, node: NodeDep, institution: InstitutionDep) -> Bundle:
    """The credential with its anchor receipt: enough to verify it with nothing but the chain."""
    return Bundle.model_validate(
        node.issuance.bundle(node.issuance.record(credential_id, institution))
    )


@router.post(
    "/credentials/status",
    response_model=StatusChangeResult,
    summary="Revoke, suspend or reinstate many credentials",
)
def change_status_batch(
    body: StatusRequest, node: NodeDep, institution: InstitutionDep
) -> StatusChangeResult:
    """All credentials change in one chain transaction per list (all or none are recorded)."""
    return _change(node, institution, body.ids, body.action, body.reason, body.wait)


def _single(action: StatusAction) -> Any:
    def endpoint(
        credential_id: CredentialId,
        node: NodeDep,
        institution: InstitutionDep,
        body: SingleStatusRequest | None = None,
    ) -> StatusChangeResult:
        options = body or SingleStatusRequest()
        return _change(node, institution, [credential_id], action, options.reason, options.wait)

    endpoint.__name__ = f"{action.value}_credential"
    endpoint.__doc__ = f"{action.value.capitalize()} one credential (recorded on chain)."
    return endpoint


for _action in StatusAction:
    router.add_api_route(
        f"/credentials/{{credential_id}}/{_action.value}",
        _single(_action),
        methods=["POST"],
        response_model=StatusChangeResult,
        summary=f"{_action.value.capitalize()} a credential",
    )


def _change(
    node: Node,
    institution: Institution,
    ids: list[str],
    action: StatusAction,
    reason: str,
    wait: float,
) -> StatusChangeResult:
    changes = node.status.apply(institution, ids, action, reason=reason)
    confirmed = node.status.wait_on_chain(ids, wait) if wait else False
    return StatusChangeResult(
        action=action.value,
        on_chain="confirmed" if confirmed else "pending",
        changes=[StatusChange(id=c.credential_id, changed=c.changed) for c in changes],
    )


@router.delete(
    "/credentials/{credential_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Erase a credential's content",
)
def erase(credential_id: CredentialId, node: NodeDep, institution: InstitutionDep) -> Response:
    """Erases the learner's data (an erasure request): the credential's content, reasons and
    data key, with its wallet copies, a CLR's achievements and every CLR embedding it; id, hash,
    status and lifecycle stay. The chain never held personal data."""
    node.issuance.erase(credential_id, institution)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
