"""The W3C CCG Verifiable Credentials API (VC-API) on every node, beside `/v1/...`.

- `POST /credentials/issue` `{credential, options}` -> 201 `{verifiableCredential}`: signs the
  caller's VC 2.0 credential as given (plus an id if it has none and the node's status entry),
  stored and anchored like any other. Needs an issuer API key; the issuer must be the calling
  institution's DID.
- `POST /credentials/verify` `{verifiableCredential, options}` -> 200 `{verified, checks,
  warnings, errors}` when verified, 400 with the same structure when not.
- `POST /presentations/verify` `{verifiablePresentation, options: {challenge, domain}}`: the
  presentation's proof (holder binding, challenge, domain) and every credential in it; 200 or
  400 as above.
- `POST /credentials/status` `{credentialId, credentialStatus: {type, statusPurpose}, status}`:
  sets (`true`) or clears (`false`) the credential's revocation or suspension; 200, or 404 for a
  credential the caller did not issue.

The VC-API's authorization (network, OAuth2 or zcap) maps onto the node's API keys: the issuer
endpoints need a key with the `issuer` scope (`Authorization: Bearer lk_...`), the verifier
endpoints are public and rate-limited like `/v1/verify`. A request the node cannot process at all
(not JSON, not an object, missing members, not a credential) is an RFC 9457 problem.
"""

# The VC-API's members are camelCase; the models spell them as the specification does.
# ruff: noqa: N815

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from node.api.deps import InstitutionDep, NodeDep
from node.api.limits import rate_limited
from node.credentials.proofs import Cryptosuite
from node.errors import Conflict, InvalidInput
from node.issuance.status import StatusAction
from node.verification.report import Submission
from node.verification.results import credential_result, presentation_result

router = APIRouter(tags=["VC-API"])
#: The verifier endpoints are public, metered like `/v1/verify`.
_METERED = [Depends(rate_limited("verify"))]

STATUS_TYPES = frozenset({"BitstringStatusList", "BitstringStatusListEntry"})


class IssueCredentialOptions(BaseModel):
    """Options of `/credentials/issue` (extensions the node understands)."""

    model_config = ConfigDict(extra="allow")

    cryptosuite: Cryptosuite = Field(
        Cryptosuite.EDDSA_RDFC_2022, description="Data Integrity cryptosuite of the proof."
    )


class IssueCredentialRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credential: dict[str, Any] = Field(description="An unsecured VC 2.0 credential.")
    options: IssueCredentialOptions | None = None


class IssueCredentialResponse(BaseModel):
    verifiableCredential: dict[str, Any]


class VerifyCredentialRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verifiableCredential: dict[str, Any]
    options: dict[str, Any] | None = None


class VerifyPresentationOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    challenge: str | None = Field(None, max_length=1024)
    domain: str | None = Field(None, max_length=1024)


class VerifyPresentationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verifiablePresentation: dict[str, Any]
    options: VerifyPresentationOptions | None = None


class ProblemDetail(BaseModel):
    type: str
    title: str
    detail: str
    code: str


class VerificationResult(BaseModel):
    """The VC-API verification result (with VCALM's `problemDetails`)."""

    verified: bool
    checks: list[str]
    warnings: list[str]
    errors: list[str]
    problemDetails: list[ProblemDetail]


class CredentialStatusEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    type: str
    statusPurpose: str
    statusListIndex: str | None = None
    statusListCredential: str | None = None


class UpdateCredentialStatusRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credentialId: str = Field(min_length=1, max_length=512)
    credentialStatus: CredentialStatusEntry
    status: bool
    indexAllocator: str | None = None


class UpdateCredentialStatusResponse(BaseModel):
    credentialId: str
    statusPurpose: str
    status: bool
    changed: bool = Field(description="False when the credential already had this status.")


_NOT_VERIFIED: dict[int | str, dict[str, Any]] = {
    400: {"model": VerificationResult, "description": "Not verified"}
}


@router.post(
    "/credentials/issue",
    status_code=status.HTTP_201_CREATED,
    response_model=IssueCredentialResponse,
    summary="Issue a credential (VC-API)",
)
def issue_credential(
    body: IssueCredentialRequest, node: NodeDep, institution: InstitutionDep
) -> IssueCredentialResponse:
    """Signs the credential as given for the calling institution, with the node's status entry;
    it is anchored by the next batch."""
    options = body.options or IssueCredentialOptions()
    signed = node.issuance.issue_document(
        institution, body.credential, cryptosuite=options.cryptosuite
    )
    return IssueCredentialResponse(verifiableCredential=signed)


@router.post(
    "/credentials/verify",
    dependencies=_METERED,
    response_model=VerificationResult,
    responses=_NOT_VERIFIED,
    summary="Verify a credential (VC-API)",
)
async def verify_credential(body: VerifyCredentialRequest, node: NodeDep) -> Any:
    report = await run_in_threadpool(node.verifier.verify, Submission(body.verifiableCredential))
    return _answer(credential_result(report))


@router.post(
    "/presentations/verify",
    dependencies=_METERED,
    response_model=VerificationResult,
    responses=_NOT_VERIFIED,
    summary="Verify a presentation and its credentials (VC-API)",
)
async def verify_presentation(body: VerifyPresentationRequest, node: NodeDep) -> Any:
    options = body.options or VerifyPresentationOptions()
    report = await run_in_threadpool(
        lambda: node.presentations.verify(
            body.verifiablePresentation, challenge=options.challenge, domain=options.domain
        )
    )
    return _answer(presentation_result(report))


@router.post(
    "/credentials/status",
    response_model=UpdateCredentialStatusResponse,
    summary="Update a credential's status (VC-API)",
)
def update_status(
    body: UpdateCredentialStatusRequest, node: NodeDep, institution: InstitutionDep
) -> UpdateCredentialStatusResponse:
    """`revocation` + `true` revokes (permanently), `suspension` + `true` suspends,
    `suspension` + `false` reinstates; the chain follows within the anchoring interval."""
    entry = body.credentialStatus
    if entry.type not in STATUS_TYPES:
        raise InvalidInput(
            f"credentialStatus.type {entry.type[:80]!r} is not a Bitstring Status List type",
            code="unsupported_status_type",
        )
    action = _action(entry.statusPurpose, body.status)
    (change,) = node.status.apply(institution, [body.credentialId], action)
    return UpdateCredentialStatusResponse(
        credentialId=body.credentialId,
        statusPurpose=entry.statusPurpose,
        status=body.status,
        changed=change.changed,
    )


def _action(purpose: str, value: bool) -> StatusAction:
    if purpose == "revocation":
        if not value:
            raise Conflict(
                "a revocation is permanent: it cannot be cleared", code="revocation_is_permanent"
            )
        return StatusAction.REVOKE
    if purpose == "suspension":
        return StatusAction.SUSPEND if value else StatusAction.REINSTATE
    raise InvalidInput(
        f"statusPurpose {purpose[:80]!r} is not one of revocation, suspension",
        code="unsupported_status_purpose",
    )


def _answer(result: dict[str, Any]) -> JSONResponse:
    return JSONResponse(result, status_code=200 if result["verified"] else 400)
