"""Verifying a credential: one engine for the node's API, its /verify page and `lernode verify`.

`Verifier.verify(submission)` runs, in order, `format`, `proof`, `issuer_key`, `accreditation`,
`anchor`, `status` and `validity` and returns a
`VerificationReport` (one module per check in `checks/`); a CLR's embedded credentials are
verified the same way and count towards the verdict. The anchor is evaluated first internally
because it dates the issuance: the issuer's key and accreditation are judged as of the anchoring
block. Input the engine cannot evaluate at all is refused first (`submission.py`).

The engine reads the chain through `ChainReader` and DID documents through `DidDocumentSource`;
the composition root (`node.wiring.runtime`) wires the node's versions (indexed DID resolution,
database-backed receipt lookup, its own status lists), the CLI wires RPC-only ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from node.credentials.merkle import credential_hash
from node.did.identifier import EthrDid
from node.did.sources import DidDocumentSource
from node.errors import InvalidInput
from node.verification.checks.accreditation import check_accreditation
from node.verification.checks.anchor import check_anchor
from node.verification.checks.format import check_document_format
from node.verification.checks.issuer_key import check_issuer_key
from node.verification.checks.proof import check_proof
from node.verification.checks.registered_issuer import IssuerRegistries, check_registered_issuer
from node.verification.checks.status import check_status
from node.verification.checks.validity import check_validity
from node.verification.report import (
    AnchorLookup,
    ChainReader,
    Check,
    StatusListLookup,
    Submission,
    VerificationReport,
    failed,
    unknown,
)
from node.verification.submission import credential_types, require_verifiable
from node.verification.summary import summarize

#: How deep credentials may nest (a CLR bundles credentials; nothing bundles a CLR).
MAX_NESTING = 1


class Verifier:
    """Verifies credentials against one chain; see the module docstring."""

    def __init__(
        self,
        chain: ChainReader,
        dids: DidDocumentSource,
        *,
        anchor_lookup: AnchorLookup | None = None,
        status_list_lookup: StatusListLookup | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        registries: IssuerRegistries | None = None,
    ) -> None:
        self.chain = chain
        self.dids = dids
        self.anchor_lookup = anchor_lookup
        self.status_list_lookup = status_list_lookup
        self.clock = clock
        #: Optional: trust registries for the informative `registered_issuer` check.
        self.registries = registries

    def verify(self, submission: Submission) -> VerificationReport:
        """The report for the submitted credential (raises `InvalidInput` for input the
        verifier cannot evaluate, `ChainError` when the chain does not answer)."""
        at = submission.at or self.clock()
        issuer = require_verifiable(submission.credential)
        lists = {
            str(item.get("id")): item
            for item in submission.status_lists
            if isinstance(item.get("id"), str)
        }
        receipts = {
            str(item.get("credentialHash", "")).lower(): item
            for item in submission.embedded_receipts
        }
        return self._verify_one(
            submission.credential, issuer, submission.receipt, at, lists, receipts, depth=0
        )

    def _verify_one(
        self,
        credential: dict[str, Any],
        issuer: EthrDid,
        receipt: Mapping[str, Any] | None,
        at: datetime,
        lists: Mapping[str, Mapping[str, Any]],
        receipts: Mapping[str, Mapping[str, Any]],
        *,
        depth: int,
    ) -> VerificationReport:
        chain = self.chain
        own_hash = credential_hash(credential)
        anchor = check_anchor(own_hash, issuer, chain, receipt, self.anchor_lookup)
        key = check_issuer_key(credential, issuer, chain.chain_id, self.dids, anchor.block)
        if issuer.chain_id == chain.chain_id:
            accreditation = check_accreditation(credential, issuer.address, chain, anchor.time)
            status = check_status(credential, issuer.address, chain, self._status_list(lists))
        else:
            accreditation = _other_chain("accreditation", issuer)
            status = _other_chain("status", issuer)
        checks = (
            check_document_format(credential),
            check_proof(credential, key.public_key),
            key.check,
            accreditation,
            anchor.check,
            status,
            check_validity(credential, at),
        )
        embedded = tuple(
            self._verify_embedded(item, at, lists, receipts, depth=depth + 1)
            for item in _embedded_credentials(credential)
        )
        return VerificationReport(
            checks=checks,
            credential=summarize(credential, anchor.time),
            verified_at=at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            chain_id=chain.chain_id,
            embedded=embedded,
            registered_issuer=(
                check_registered_issuer(credential, self.registries) if self.registries else None
            ),
        )

    def _verify_embedded(
        self,
        item: Any,
        at: datetime,
        lists: Mapping[str, Mapping[str, Any]],
        receipts: Mapping[str, Mapping[str, Any]],
        *,
        depth: int,
    ) -> VerificationReport:
        """An embedded credential's report; one the verifier cannot evaluate fails `format`."""
        try:
            if depth > MAX_NESTING:
                raise InvalidInput("credentials nest too deeply", code="nesting_too_deep")
            issuer = require_verifiable(item)
        except InvalidInput as error:
            return VerificationReport(
                checks=(failed("format", error.code, f"{error.detail}."),),
                credential=summarize(item if isinstance(item, Mapping) else {}, None),
                verified_at=at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                chain_id=self.chain.chain_id,
            )
        receipt = receipts.get("0x" + credential_hash(item).hex())
        return self._verify_one(item, issuer, receipt, at, lists, receipts, depth=depth)

    def _status_list(
        self, supplied: Mapping[str, Mapping[str, Any]]
    ) -> Callable[[str], Mapping[str, Any] | None]:
        def find(url: str) -> Mapping[str, Any] | None:
            if url in supplied:
                return supplied[url]
            return self.status_list_lookup(url) if self.status_list_lookup else None

        return find


def _other_chain(name: str, issuer: EthrDid) -> Check:
    return unknown(
        name, "wrong_chain", f"{issuer.did} is not a DID of the chain this verifier reads."
    )


def _embedded_credentials(credential: Mapping[str, Any]) -> list[Any]:
    subject = credential.get("credentialSubject")
    if not isinstance(subject, Mapping) or "ClrCredential" not in credential_types(credential):
        return []
    bundled = subject.get("verifiableCredential")
    return list(bundled) if isinstance(bundled, list) else []
