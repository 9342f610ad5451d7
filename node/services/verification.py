"""Verifying a credential: one engine for the node's API, its /verify page and `lernode verify`.

`Verifier.verify(submission)` runs, in order, `format`, `proof`, `issuer_key`, `accreditation`,
`anchor`, `status` and `validity` (see the sibling `verification_*` modules) and returns a
`VerificationReport`; a CLR's embedded credentials are verified the same way and count towards
the verdict. The anchor is evaluated first internally because it dates the issuance: the issuer's
key and accreditation are judged as of the anchoring block.

What the verifier *cannot* evaluate at all is refused before any check with an `InvalidInput`
(`not_a_credential`, `unsupported_proof_type`, `unsupported_cryptosuite`,
`unsupported_did_method`, ...): a report full of `unknown`s would hide that the input is
simply out of scope.

The engine reads the chain through `ChainReader` and DID documents through `DidDocumentSource`;
`build_node_verifier` wires the node's versions (indexed DID resolution, database-backed receipt
lookup, its own status lists), the CLI wires RPC-only ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import select

from node.credentials.merkle import credential_hash
from node.credentials.proofs import PROOF_TYPE, Cryptosuite
from node.did.errors import MethodNotSupported
from node.did.identifier import EthrDid, parse_ethr_did
from node.errors import InvalidInput, LernodeError, NotFound
from node.services.chain_did_resolver import ChainDidResolver
from node.services.resolution import Resolver
from node.services.verification_anchor import check_anchor
from node.services.verification_chain import RegistryReader
from node.services.verification_checks import (
    check_document_format,
    check_issuer_key,
    check_proof,
    check_validity,
)
from node.services.verification_report import (
    AnchorLookup,
    ChainReader,
    Check,
    DidDocumentSource,
    StatusListLookup,
    Submission,
    VerificationReport,
    failed,
    unknown,
)
from node.services.verification_standing import check_accreditation, check_status
from node.services.verification_summary import summarize
from node.store.models import Credential

if TYPE_CHECKING:
    from node.runtime import Node

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
    ) -> None:
        self.chain = chain
        self.dids = dids
        self.anchor_lookup = anchor_lookup
        self.status_list_lookup = status_list_lookup
        self.clock = clock

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
    if not isinstance(subject, Mapping) or "ClrCredential" not in _types(credential):
        return []
    bundled = subject.get("verifiableCredential")
    return list(bundled) if isinstance(bundled, list) else []


def _types(document: Mapping[str, Any]) -> list[Any]:
    value = document.get("type")
    return value if isinstance(value, list) else [value]


# -- input ------------------------------------------------------------------------------------


def require_verifiable(credential: Any) -> EthrDid:
    """The issuer's parsed DID, if this verifier can evaluate `credential` at all."""
    if not isinstance(credential, Mapping) or "@context" not in credential:
        raise InvalidInput(
            "not a credential: expected a JSON object with @context and type",
            code="not_a_credential",
        )
    if "VerifiableCredential" not in _types(credential):
        raise InvalidInput(
            "not a credential: its type does not include VerifiableCredential",
            code="not_a_credential",
        )
    _require_supported_proofs(credential.get("proof"))
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if not isinstance(issuer_id, str) or not issuer_id.startswith("did:"):
        raise InvalidInput(
            f"the issuer {str(issuer_id)[:120]!r} is not a DID; this verifier checks did:ethr "
            "issuers",
            code="unsupported_issuer",
        )
    try:
        return parse_ethr_did(issuer_id)
    except MethodNotSupported as error:
        raise InvalidInput(
            f"issuer DID method {error.extra.get('method')!r} is not supported; this verifier "
            "checks did:ethr issuers",
            code="unsupported_did_method",
        ) from None
    except LernodeError as error:
        raise InvalidInput(f"issuer: {error.detail}", code="invalid_issuer") from None


def _require_supported_proofs(proof: Any) -> None:
    for item in proof if isinstance(proof, list) else [proof]:
        if item is None or not isinstance(item, Mapping):
            continue  # absent or malformed: the proof check reports it
        if item.get("type") != PROOF_TYPE:
            raise InvalidInput(
                f"proof type {str(item.get('type'))[:80]!r} is not supported (DataIntegrityProof "
                "with eddsa-rdfc-2022 or eddsa-jcs-2022)",
                code="unsupported_proof_type",
            )
        if not any(item.get("cryptosuite") == suite.value for suite in Cryptosuite):
            raise InvalidInput(
                f"cryptosuite {str(item.get('cryptosuite'))[:80]!r} is not supported "
                "(eddsa-rdfc-2022 or eddsa-jcs-2022)",
                code="unsupported_cryptosuite",
            )


def parse_submission(body: Any, *, at: str | datetime | None = None) -> Submission:
    """A credential, or a bundle `{credential, receipt, embeddedReceipts?,
    statusListCredentials?, at?}`, as a `Submission` (`at` in the body wins)."""
    if not isinstance(body, Mapping):
        raise InvalidInput(
            "expected a JSON object: a credential or a bundle {credential, receipt}",
            code="not_a_credential",
        )
    if "credential" in body and "@context" not in body:
        credential, receipt = body["credential"], body.get("receipt")
        embedded = _listed_or_empty(body.get("embeddedReceipts"))
        lists = _listed_or_empty(body.get("statusListCredentials"))
        at = body.get("at", at)
    else:
        credential, receipt, embedded, lists = body, None, [], []
    if not isinstance(credential, dict):
        raise InvalidInput("the credential must be a JSON object", code="not_a_credential")
    if receipt is not None and not isinstance(receipt, dict):
        raise InvalidInput("the receipt must be a JSON object", code="invalid_receipt")
    if not isinstance(embedded, list) or not all(isinstance(r, dict) for r in embedded):
        raise InvalidInput("embeddedReceipts must be a list of receipts", code="invalid_receipt")
    if not isinstance(lists, list) or not all(isinstance(c, dict) for c in lists):
        raise InvalidInput(
            "statusListCredentials must be a list of credentials", code="invalid_status_list"
        )
    return Submission(
        credential=credential,
        receipt=receipt,
        embedded_receipts=tuple(embedded),
        status_lists=tuple(lists),
        at=parse_instant(at),
    )


def _listed_or_empty(value: Any) -> Any:
    """An optional list member: absent or null is empty, anything else is checked as given."""
    return [] if value is None else value


def parse_instant(value: str | datetime | None) -> datetime | None:
    """An ISO 8601 instant with a time zone (`...Z` or `...+02:00`)."""
    if value is None or isinstance(value, datetime):
        if isinstance(value, datetime) and value.tzinfo is None:
            raise InvalidInput("`at` needs a time zone", code="invalid_datetime")
        return value
    try:
        instant = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise InvalidInput(
            f"`at` must be an ISO 8601 instant with a time zone, e.g. 2030-01-01T00:00:00Z; "
            f"got {str(value)[:80]!r}",
            code="invalid_datetime",
        )
    return instant


# -- the node's verifier ----------------------------------------------------------------------


class IndexedDidSource:
    """`DidDocumentSource` over the node's indexed `Resolver`, falling back to a chain walk
    while the indexer has not reached the block asked for (it polls, so it trails the chain by
    up to a poll interval, and not at all when background work is off)."""

    def __init__(
        self,
        resolver: Resolver,
        indexed_through: Callable[[], int | None],
        head: Callable[[], int],
        fallback: DidDocumentSource,
    ) -> None:
        self.resolver = resolver
        self.indexed_through = indexed_through
        self.head = head
        self.fallback = fallback

    def document_at(self, did: str, block: int | None) -> dict[str, Any]:
        position = self.indexed_through()
        wanted = self.head() if block is None else block
        if position is None or position < wanted:
            return self.fallback.document_at(did, block)
        return self.resolver.resolve(did, version_id=block).did_document


def build_node_verifier(node: Node) -> Verifier:
    """The verifier a node serves: indexed DID documents, receipts of its own credentials from
    its database, its own status lists (body of `Node.verifier`)."""
    chain = RegistryReader.from_contracts(node.contracts)
    dids = IndexedDidSource(
        node.resolver,
        node.indexer.position,
        node.chain.latest_block,
        ChainDidResolver(node.chain, node.contracts.did_registry),
    )
    return Verifier(
        chain,
        dids,
        anchor_lookup=lambda digest: _own_receipt(node, digest),
        status_list_lookup=lambda url: _own_status_list(node, url),
    )


def _own_receipt(node: Node, digest: bytes) -> dict[str, Any] | None:
    with node.db.session() as session:
        record = session.exec(
            select(Credential).where(Credential.credential_hash == "0x" + digest.hex())
        ).first()
    return None if record is None else node.issuance.receipt(record)


def _own_status_list(node: Node, url: str) -> dict[str, Any] | None:
    prefix = f"{node.settings.base_url}/v1/status-lists/"
    if not url.startswith(prefix):
        return None
    try:
        return node.status.list_credential(url.removeprefix(prefix))
    except NotFound:
        return None
