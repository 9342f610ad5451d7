"""Issuing institutions: issue, read, bundle, revoke/suspend/reinstate and erase credentials."""

from __future__ import annotations

from typing import Any, Self

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from node.api.deps import InstitutionDep, NodeDep
from node.credentials.inputs import CredentialInput, LearnerInput
from node.credentials.proofs import Cryptosuite
from node.issuance.service import MAX_PER_REQUEST
from node.issuance.status import StatusAction

router = APIRouter(prefix="/v1", tags=["issuing institution"])

#: How long a status change request waits for its transaction by default.
DEFAULT_WAIT = 30.0


class IssueRequest(BaseModel):
    """One credential (`credential`) or many (`credentials`)."""

    model_config = ConfigDict(extra="forbid")

    credential: CredentialInput | None = None
    credentials: list[CredentialInput] | None = Field(default=None, max_length=MAX_PER_REQUEST)
    cryptosuite: Cryptosuite = Cryptosuite.EDDSA_RDFC_2022
    anchor_now: bool = Field(
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

    name: str = Field(min_length=1, max_length=512)
    description: str | None = None
    learner: LearnerInput
    achievements: list[CredentialInput] = Field(min_length=1, max_length=500)
    cryptosuite: Cryptosuite = Cryptosuite.EDDSA_RDFC_2022
    anchor_now: bool = False


class StatusRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: StatusAction
    ids: list[str] = Field(min_length=1, max_length=10_000)
    reason: str = Field("", max_length=1000)
    wait: float = Field(DEFAULT_WAIT, ge=0, le=300, description="Seconds to wait for the chain.")


class SingleStatusRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=1000)
    wait: float = Field(DEFAULT_WAIT, ge=0, le=300)


@router.post("/credentials", status_code=status.HTTP_201_CREATED, summary="Issue credentials")
def issue(body: IssueRequest, node: NodeDep, institution: InstitutionDep) -> dict[str, Any]:
    """Sign and store the credentials now; they are anchored by the next batch (`pending`
    until then). The response carries the signed credentials."""
    signed = node.issuance.issue(
        institution, body.inputs, cryptosuite=body.cryptosuite, anchor_now=body.anchor_now
    )
    return {"credentials": [{"id": c["id"], "state": "pending", "credential": c} for c in signed]}


@router.post("/transcripts", status_code=status.HTTP_201_CREATED, summary="Issue a CLR transcript")
def issue_transcript(
    body: TranscriptRequest, node: NodeDep, institution: InstitutionDep
) -> dict[str, Any]:
    clr = node.issuance.issue_clr(
        institution,
        body.learner,
        body.achievements,
        name=body.name,
        description=body.description,
        cryptosuite=body.cryptosuite,
        anchor_now=body.anchor_now,
    )
    return {"id": clr["id"], "state": "pending", "credential": clr}


@router.get("/credentials/{credential_id}", summary="A credential and its lifecycle state")
def get_credential(
    credential_id: str, node: NodeDep, institution: InstitutionDep
) -> dict[str, Any]:
    record = node.issuance.record(credential_id, institution)
    body = node.issuance.summary(record)
    body["credential"] = None if record.document is None else node.issuance.document(record)
    body["receipt"] = node.issuance.receipt(record)
    body["boundFrom"] = record.bound_from
    body["events"] = node.issuance.events(record.id)
    return body


@router.get("/credentials/{credential_id}/bundle", summary="What the holder keeps")
def get_bundle(credential_id: str, node: NodeDep, institution: InstitutionDep) -> dict[str, Any]:
    """The credential with its anchor receipt: enough to verify it with nothing but the chain."""
    return node.issuance.bundle(node.issuance.record(credential_id, institution))


@router.post("/credentials/status", summary="Revoke, suspend or reinstate many credentials")
def change_status_batch(
    body: StatusRequest, node: NodeDep, institution: InstitutionDep
) -> dict[str, Any]:
    """All credentials change in one chain transaction per list (all or none are recorded)."""
    return _change(node, institution, body.ids, body.action, body.reason, body.wait)


def _single(action: StatusAction) -> Any:
    def endpoint(
        credential_id: str,
        node: NodeDep,
        institution: InstitutionDep,
        body: SingleStatusRequest | None = None,
    ) -> dict[str, Any]:
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
        summary=f"{_action.value.capitalize()} a credential",
    )


def _change(
    node: Any, institution: Any, ids: list[str], action: StatusAction, reason: str, wait: float
) -> dict[str, Any]:
    changes = node.status.apply(institution, ids, action, reason=reason)
    confirmed = node.status.wait_on_chain(ids, wait) if wait else False
    return {
        "action": action.value,
        "onChain": "confirmed" if confirmed else "pending",
        "changes": [{"id": c.credential_id, "changed": c.changed} for c in changes],
    }


@router.delete(
    "/credentials/{credential_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Erase a credential's content",
)
def erase(credential_id: str, node: NodeDep, institution: InstitutionDep) -> Response:
    """Deletes the stored credential (an erasure request); the chain never held personal data."""
    node.issuance.erase(credential_id, institution)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
