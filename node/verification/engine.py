"""Verifying a credential: one engine for the node's API, its /verify page, the VC-API,
presentations and `lernode verify`.

`Verifier.verify(submission)` runs, in order, `format`, `proof`, `issuer_key`, `accreditation`,
`anchor`, `status` and `validity` and returns a `VerificationReport` (one module per check in
`checks/`); a CLR's embedded credentials are verified the same way and count towards the verdict.
The anchor is evaluated first internally because it dates the issuance: the issuer's key and
accreditation are judged as of the anchoring block. Input the engine cannot evaluate is refused
first (`submission.py`).

The chain is read once per verification: the engine first works out everything it will ask
(`readers/plan.py`), asks its `ChainSource` for those facts as of one block, and judges every
credential against that answer (`readers/facts.py`); the report names the block and the source.
On a node the source is its event index (no JSON-RPC), in `lernode verify --rpc` the chain (two
round trips).

Issuers: a `did:ethr` of this chain, or a `did:web` the consortium bound to an issuer address,
is checked against the chain; a `did:ethr` of another chain is the wrong chain; a `did:key` or an
unbound `did:web` is checked off chain (its key from the `DidDocumentSource`), and the checks that
only the chain can answer (accreditation, anchor, status) say `not_applicable_off_chain`.

Work is bounded (`VerificationLimits`): how many credentials one submission may hold, and a CPU
time budget checked between credentials and checks; exceeding either is a problem
(`too_many_credentials`, `verification_budget_exceeded`), not a partial report.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from node import metrics
from node.credentials.merkle import credential_hash
from node.did.identifier import format_ethr_did
from node.did.sources import DidDocumentSource
from node.errors import InvalidInput
from node.verification.checks.accreditation import check_accreditation
from node.verification.checks.anchor import AnchorOutcome, check_anchor, wrong_chain
from node.verification.checks.format import check_document_format
from node.verification.checks.issuer_key import KeyDocuments, KeyOutcome, check_issuer_key
from node.verification.checks.proof import check_proof
from node.verification.checks.registered_issuer import IssuerRegistries, check_registered_issuer
from node.verification.checks.status import check_status
from node.verification.checks.validity import check_validity
from node.verification.readers.facts import ChainFacts, ChainSource
from node.verification.readers.plan import PlannedCredential, plan_reads
from node.verification.report import (
    AnchorLookup,
    Check,
    StatusListLookup,
    Submission,
    VerificationReport,
    failed,
    passed,
    unknown,
)
from node.verification.submission import IssuerRef, credential_types, require_verifiable
from node.verification.summary import summarize

#: How deep credentials may nest (a CLR bundles credentials; nothing bundles a CLR).
MAX_NESTING = 1
OFF_CHAIN = "not_applicable_off_chain"


class VerificationBudgetExceeded(InvalidInput):
    """The verification needed more CPU time than one request may use."""

    code = "verification_budget_exceeded"
    title = "Verification budget exceeded"


@dataclass(frozen=True)
class VerificationLimits:
    """Bounds on one verification's work.

    `max_credentials`: credentials in one submission, embedded ones included; the default admits
    a CLR with 500 achievements, the largest transcript the node issues. `cpu_seconds`: CPU time
    of the verifying thread (None: unbounded, as in the CLI).
    """

    max_credentials: int = 501
    cpu_seconds: float | None = 30.0


class Budget:
    """A CPU time budget, checked between units of work (`check`)."""

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.thread_time):
        self.clock = clock
        self.deadline = None if seconds is None else clock() + seconds
        self.seconds = seconds

    def check(self) -> None:
        if self.deadline is not None and self.clock() > self.deadline:
            raise VerificationBudgetExceeded(
                f"the verification needed more than {self.seconds:g} s of CPU time, the limit "
                "for one request"
            )


@dataclass
class _Node:
    """One credential of the submission, prepared: what the plan needs and the checks use."""

    credential: Any
    issuer: IssuerRef | None = None
    error: InvalidInput | None = None
    digest: bytes = b""
    receipt: Mapping[str, Any] | None = None
    looked_up: Mapping[str, Any] | None = None
    children: list[_Node] = field(default_factory=list)

    def planned(self) -> list[PlannedCredential]:
        own = []
        if self.issuer is not None:
            # With a receipt only its root is read; without one, the credential's own leaf (a
            # batch of one) and the root of the receipt the node may hold for it.
            receipts = [self.receipt] if self.receipt is not None else [None, self.looked_up]
            own = [
                PlannedCredential(self.credential, self.issuer, self.digest, receipt)
                for receipt in receipts
            ]
        return own + [p for child in self.children for p in child.planned()]


class Verifier:
    """Verifies credentials against one chain; see the module docstring."""

    def __init__(
        self,
        chain: ChainSource,
        dids: DidDocumentSource | None = None,
        *,
        anchor_lookup: AnchorLookup | None = None,
        status_list_lookup: StatusListLookup | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        limits: VerificationLimits | None = None,
        registries: IssuerRegistries | None = None,
    ) -> None:
        self.chain = chain
        self.dids = dids
        self.anchor_lookup = anchor_lookup
        self.status_list_lookup = status_list_lookup
        self.clock = clock
        self.limits = limits or VerificationLimits()
        #: Optional: trust registries for the informative `registered_issuer` check.
        self.registries = registries

    def verify(self, submission: Submission) -> VerificationReport:
        """The report for the submitted credential (raises `InvalidInput` for input the
        verifier cannot evaluate or that exceeds its limits, `ChainError` when the chain does
        not answer)."""
        try:
            report = self._verify(submission)
        except InvalidInput:
            metrics.verification("refused")
            raise
        metrics.verification(report.verdict.value)
        return report

    def _verify(self, submission: Submission) -> VerificationReport:
        budget = Budget(self.limits.cpu_seconds)
        at = submission.at or self.clock()
        issuer = require_verifiable(submission.credential)
        receipts = {
            str(item.get("credentialHash", "")).lower(): item
            for item in submission.embedded_receipts
        }
        root = self._prepare(submission.credential, issuer, submission.receipt, receipts)
        facts = self.chain.facts_for(plan_reads(root.planned()))
        budget.check()
        lists = {
            str(item.get("id")): item
            for item in submission.status_lists
            if isinstance(item.get("id"), str)
        }
        return self._report(root, facts, at, lists, budget, facts.state.as_json())

    # -- preparing ----------------------------------------------------------------------------

    def _prepare(
        self,
        credential: dict[str, Any],
        issuer: IssuerRef,
        receipt: Mapping[str, Any] | None,
        receipts: Mapping[str, Mapping[str, Any]],
    ) -> _Node:
        embedded = _embedded_credentials(credential)
        nested = sum(len(_embedded_credentials(item)) for item in embedded)
        total = 1 + len(embedded) + nested
        if total > self.limits.max_credentials:
            raise InvalidInput(
                f"the submission holds {total} credentials; at most "
                f"{self.limits.max_credentials} are verified in one request",
                code="too_many_credentials",
                limit=self.limits.max_credentials,
            )
        root = self._node(credential, issuer, receipt)
        root.children = [self._embedded_node(item, receipts, 1) for item in embedded]
        return root

    def _node(
        self, credential: dict[str, Any], issuer: IssuerRef, receipt: Mapping[str, Any] | None
    ) -> _Node:
        digest = credential_hash(credential)
        looked_up = None
        if receipt is None and self.anchor_lookup is not None:
            looked_up = self.anchor_lookup(digest)
        return _Node(credential, issuer, None, digest, receipt, looked_up)

    def _embedded_node(
        self, item: Any, receipts: Mapping[str, Mapping[str, Any]], depth: int
    ) -> _Node:
        try:
            if depth > MAX_NESTING:
                raise InvalidInput("credentials nest too deeply", code="nesting_too_deep")
            issuer = require_verifiable(item)
        except InvalidInput as error:
            return _Node(item, error=error)
        node = self._node(item, issuer, receipts.get("0x" + credential_hash(item).hex()))
        node.children = [
            self._embedded_node(inner, receipts, depth + 1) for inner in _embedded_credentials(item)
        ]
        return node

    # -- judging ------------------------------------------------------------------------------

    def _report(
        self,
        node: _Node,
        facts: ChainFacts,
        at: datetime,
        lists: Mapping[str, Mapping[str, Any]],
        budget: Budget,
        chain_state: Mapping[str, Any] | None = None,
    ) -> VerificationReport:
        """The report of `node` and its embedded credentials (`chain_state`: the top level's)."""
        verified_at = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if node.issuer is None:
            error = node.error or InvalidInput("not verifiable", code="not_a_credential")
            credential = node.credential if isinstance(node.credential, Mapping) else {}
            return VerificationReport(
                checks=(failed("format", error.code, f"{error.detail}."),),
                credential=summarize(credential, None),
                verified_at=verified_at,
                chain_id=facts.chain_id,
                chain_state=chain_state,
            )
        credential = node.credential
        anchor, key, accreditation, status = self._chain_checks(node, facts, lists)
        proof = check_proof(credential, key.public_key)
        budget.check()
        checks = (
            check_document_format(credential),
            proof,
            key.check,
            accreditation,
            anchor.check,
            status,
            check_validity(credential, at),
        )
        embedded = [self._report(child, facts, at, lists, budget) for child in node.children]
        return VerificationReport(
            checks=checks,
            credential=summarize(credential, anchor.time),
            verified_at=verified_at,
            chain_id=facts.chain_id,
            embedded=tuple(embedded),
            chain_state=chain_state,
            registered_issuer=(
                check_registered_issuer(credential, self.registries, facts.state.positions)
                if self.registries
                else None
            ),
        )

    def _chain_checks(
        self, node: _Node, facts: ChainFacts, lists: Mapping[str, Mapping[str, Any]]
    ) -> tuple[AnchorOutcome, KeyOutcome, Check, Check]:
        """anchor, issuer_key, accreditation and status, by where the issuer stands."""
        credential, issuer = node.credential, node.issuer
        assert issuer is not None
        address, ethr_did = self._chain_identity(issuer, facts)
        if address is not None and ethr_did is not None:
            anchor = check_anchor(
                node.digest, address, facts, node.receipt, lambda _digest: node.looked_up
            )
            keys = _chain_keys(facts, issuer.did, ethr_did, anchor.time)
            key = check_issuer_key(credential, issuer.did, keys, anchor.block)
            return (
                anchor,
                key,
                check_accreditation(credential, address, facts, anchor.time),
                check_status(credential, address, facts, self._status_list(lists)),
            )
        if issuer.ethr is not None:  # a did:ethr of another chain
            ethr = issuer.ethr
            other = unknown(
                "issuer_key", "wrong_chain", f"{issuer.did} is not a DID of chain "
                f"{hex(facts.chain_id)}."
            )  # fmt: skip
            return (
                wrong_chain(ethr.chain_id, ethr.network, facts.chain_id),
                check_issuer_key(credential, issuer.did, other, None),
                _other_chain("accreditation", issuer),
                _other_chain("status", issuer),
            )
        return (
            AnchorOutcome(_off_chain("anchor", issuer, "anchors")),
            check_issuer_key(credential, issuer.did, self._off_chain_keys(issuer), None),
            _off_chain("accreditation", issuer, "accreditations"),
            _off_chain_status(credential, issuer),
        )

    @staticmethod
    def _chain_identity(issuer: IssuerRef, facts: ChainFacts) -> tuple[str | None, str | None]:
        """(address, did:ethr whose document holds the keys) of an issuer on this chain."""
        if issuer.ethr is not None:
            if issuer.ethr.chain_id == facts.chain_id:
                return issuer.ethr.address, issuer.did
            return None, None
        if issuer.on_chain_alias:
            address = facts.issuer_of_alias(issuer.did)
            if address is not None:
                return address, format_ethr_did(facts.chain_id, address)
        return None, None

    def _off_chain_keys(self, issuer: IssuerRef) -> KeyDocuments:
        dids = self.dids

        def document(_block: int | None) -> Mapping[str, Any]:
            if dids is None:
                raise InvalidInput(
                    f"this verifier resolves no did:{issuer.method} DIDs", code="did_unresolvable"
                )
            return dids.document_at(issuer.did, None)

        return KeyDocuments(document, historical=False)

    def _status_list(
        self, supplied: Mapping[str, Mapping[str, Any]]
    ) -> Callable[[str], Mapping[str, Any] | None]:
        def find(url: str) -> Mapping[str, Any] | None:
            if url in supplied:
                return supplied[url]
            return self.status_list_lookup(url) if self.status_list_lookup else None

        return find


def _chain_keys(
    facts: ChainFacts, did: str, ethr_did: str, anchor_time: int | None
) -> KeyDocuments:
    """Keys of a chain issuer: its did:ethr document as of a block (a did:web alias's methods
    are its did:ethr's, under the same fragment)."""

    def document(block: int | None) -> Mapping[str, Any]:
        return facts.did_document(ethr_did, block, anchor_time if block is not None else None)

    def method_id(method: str) -> str:
        return ethr_did + method[len(did) :] if method.startswith(did + "#") else method

    return KeyDocuments(document, method_id)


def _other_chain(name: str, issuer: IssuerRef) -> Check:
    return unknown(
        name, "wrong_chain", f"{issuer.did} is not a DID of the chain this verifier reads."
    )


def _off_chain(name: str, issuer: IssuerRef, what: str) -> Check:
    return unknown(
        name,
        OFF_CHAIN,
        f"{issuer.did} is not an issuer of this chain's consortium, so the chain holds no "
        f"{what} of it: not checked.",
    )


def _off_chain_status(credential: Mapping[str, Any], issuer: IssuerRef) -> Check:
    if not credential.get("credentialStatus"):
        return passed(
            "status", "no_status", "The credential has no status entries: it cannot be revoked."
        )
    return unknown(
        "status",
        OFF_CHAIN,
        f"The status lists of {issuer.did} are not on this chain, and the verifier does not "
        "fetch URLs found in credentials: not checked.",
    )


def _embedded_credentials(credential: Any) -> list[Any]:
    if not isinstance(credential, Mapping):
        return []
    subject = credential.get("credentialSubject")
    if not isinstance(subject, Mapping) or "ClrCredential" not in credential_types(credential):
        return []
    bundled = subject.get("verifiableCredential")
    return list(bundled) if isinstance(bundled, list) else []
