"""An EBSI Trusted Issuers Registry (TIR v5) shaped read API over the consortium's registry.

EBSI verifiers walk `GET /issuers/{did}` -> its `attributes` list -> each attribute
`{did, attribute: {hash, body, issuerType, tao, rootTao}}`, where `body` is a signed
Verifiable Accreditation whose `credentialSubject.accreditedFor[].types` scopes the issuer to
credential types. Here one attribute is one executed accreditation decision of the consortium
(attribute id = the proposal id as 64 hex digits, so a credential can point at the very decision
that allowed it: see `issuance_certificate`), and:

- `body` is a JWT VC (`VerifiableAccreditationToAttest`) signed with this node's registry key
  (EdDSA, bound on chain, keys.py), deterministic for a decision (same bytes, same `hash`);
- `issuerType` is `TI` while the decision's grants are in force and the issuer is Active, else
  `Revoked` (`status` adds why: `suspended`, `removed` or `superseded`);
- `tao` and `rootTao` are the consortium (`eip155:<chain>:<IssuerRegistry>`).

Pages follow EBSI's `page[after]` (1-based page) / `page[size]` and `{self, items, total,
pageSize, links}`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from node.chain.contracts.types import IssuerStatus
from node.errors import NotFound
from node.governance.history import OPEN, EventRef, GrantEntry
from node.registry.jose import JwsSigner
from node.registry.service import ConsortiumRegistry, RegistryEntry, UnknownSubject, type_label
from node.registry.trqp import rfc3339

TIR_PATH = "/trusted-issuers-registry/v5"
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 50
#: JSON Schemas of the credential types the consortium accredits (`accreditedFor[].schemaId`).
SCHEMAS = {
    "OpenBadgeCredential": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
    "ob_v3p0_achievementcredential_schema.json",
    "ClrCredential": "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/"
    "clr_v2p0_clrcredential_schema.json",
}


#: `termsOfUse.type` of the pointer (EBSI names it IssuanceCertificate; ours is an IRI).
ISSUANCE_CERTIFICATE = "https://lernode.dev/ns#IssuanceCertificate"


class AttributeNotFound(NotFound):
    code = "attribute_not_found"


@dataclass(frozen=True)
class Attribute:
    id: str
    decision: EventRef
    grants: tuple[GrantEntry, ...]


def attribute_id(proposal_id: int) -> str:
    return f"{proposal_id:064x}"


class TrustedIssuersRegistry:
    """Renders the registry in EBSI TIR v5 shapes."""

    def __init__(
        self, registry: ConsortiumRegistry, signer: Callable[[], JwsSigner], base_url: str
    ) -> None:
        self.registry = registry
        self._signer = signer
        self.root = base_url.rstrip("/") + TIR_PATH

    # -- URLs ---------------------------------------------------------------------------------

    def issuer_url(self, did: str) -> str:
        return f"{self.root}/issuers/{quote(did, safe=':')}"

    def attribute_url(self, did: str, attribute: str) -> str:
        return f"{self.issuer_url(did)}/attributes/{attribute}"

    def issuance_certificate(self, did: str) -> dict[str, str] | None:
        """A credential's `termsOfUse` entry pointing at the decision that accredits `did` now
        (EBSI's `IssuanceCertificate` pattern), or None when none is in force.

        The type is an absolute IRI: no context the credential carries defines a terms-of-use
        type, and an extra (inline) context would cost every verifier a context to process.
        """
        try:
            entry = self.registry.entry(did)
        except UnknownSubject:
            return None
        if not entry.listed:
            return None
        proposal = entry.history.accreditation_proposal
        url = self.attribute_url(did, attribute_id(proposal))
        return {"id": url, "type": ISSUANCE_CERTIFICATE}

    # -- documents ------------------------------------------------------------------------------

    def issuers(self, page: int, size: int) -> dict[str, Any]:
        dids = [did for entry in self.registry.entries() for did in entry.dids]
        items = [{"did": did, "href": self.issuer_url(did)} for did in dids]
        return _page(f"{self.root}/issuers", items, page, size)

    def issuer(self, did: str) -> dict[str, Any]:
        entry = self._known(did)
        return {
            "did": did,
            "attributes": f"{self.issuer_url(did)}/attributes",
            "hasAttributes": bool(self._attributes(entry)),
        }

    def attributes(self, did: str, page: int, size: int) -> dict[str, Any]:
        entry = self._known(did)
        items = [
            {"id": a.id, "href": self.attribute_url(did, a.id)} for a in self._attributes(entry)
        ]
        return _page(f"{self.issuer_url(did)}/attributes", items, page, size)

    def attribute(self, did: str, attribute: str, evidence: bool = False) -> dict[str, Any]:
        entry = self._known(did)
        found = next((a for a in self._attributes(entry) if a.id == attribute.lower()), None)
        if found is None:
            raise AttributeNotFound(f"{did[:120]} has no attribute {attribute[:70]!r}")
        body = self._body(did, found)
        issuer_type, status = self._standing(entry, found)
        document: dict[str, Any] = {
            "did": did,
            "attribute": {
                "hash": hashlib.sha256(body.encode("ascii")).hexdigest(),
                "body": body,
                "issuerType": issuer_type,
                "tao": self.registry.authority_id,
                "rootTao": self.registry.authority_id,
                "status": status,
            },
        }
        if evidence:
            document["evidence"] = self.registry.evidence(entry).as_json()
        return document

    # -- helpers --------------------------------------------------------------------------------

    def _known(self, did: str) -> RegistryEntry:
        try:
            entry = self.registry.entry(did)
        except UnknownSubject as error:
            raise NotFound(error.detail, code="issuer_not_found") from None
        if not entry.history.events:
            raise NotFound(f"{did[:120]} is not in the registry", code="issuer_not_found")
        return entry

    @staticmethod
    def _attributes(entry: RegistryEntry) -> list[Attribute]:
        decisions = [ref for ref in entry.history.events if ref.kind == "accredited"]
        return [
            Attribute(
                attribute_id(ref.proposal_id),
                ref,
                tuple(g for g in entry.history.grants if g.granted_by == ref),
            )
            for ref in decisions
        ]

    @staticmethod
    def _standing(entry: RegistryEntry, attribute: Attribute) -> tuple[str, str]:
        status = entry.history.status
        if any(g.granted_until != OPEN for g in attribute.grants):
            return "Revoked", "removed" if status is IssuerStatus.REMOVED else "superseded"
        if status is IssuerStatus.SUSPENDED:
            return "Revoked", "suspended"
        return "TI", "active"

    def _body(self, did: str, attribute: Attribute) -> str:
        """The decision as a JWT Verifiable Accreditation (deterministic for a decision)."""
        decision = attribute.decision
        registry = self.registry
        accredited_for = []
        for grant in attribute.grants:
            name = type_label(grant.credential_type)
            item: dict[str, Any] = {"types": ["VerifiableCredential", name]}
            if name in SCHEMAS:
                item["schemaId"] = SCHEMAS[name]
            accredited_for.append(item)
        window = attribute.grants[0] if attribute.grants else None
        vc: dict[str, Any] = {
            "@context": ["https://www.w3.org/2018/credentials/v1"],
            "id": f"urn:lernode:accreditation:{registry.authority_id}:{decision.proposal_id}",
            "type": [
                "VerifiableCredential",
                "VerifiableAttestation",
                "VerifiableAccreditation",
                "VerifiableAccreditationToAttest",
            ],
            "issuer": registry.authority_id,
            "issuanceDate": rfc3339(decision.block_time),
            "validFrom": rfc3339(max(decision.block_time, window.valid_from if window else 0)),
            "credentialSubject": {"id": did, "accreditedFor": accredited_for},
            "evidence": [
                {
                    "type": ["LernodeChainEvent"],
                    "chainId": registry.chain_id,
                    "contract": registry.contract,
                    "proposalId": decision.proposal_id,
                    "transactionHash": decision.transaction_hash,
                    "blockNumber": decision.block_number,
                    "blockHash": decision.block_hash,
                }
            ],
        }
        if window is not None and window.valid_until:
            vc["expirationDate"] = rfc3339(window.valid_until)
        claims = {
            "iss": registry.authority_id,
            "sub": did,
            "iat": decision.block_time,
            "nbf": decision.block_time,
            "jti": vc["id"],
            "vc": vc,
        }
        return self._signer().sign(claims, "JWT")


def _page(base: str, items: list[dict[str, Any]], page: int, size: int) -> dict[str, Any]:
    size = max(1, min(size, MAX_PAGE_SIZE))
    last = max(1, -(-len(items) // size))
    page = max(1, min(page, last))

    def link(number: int) -> str:
        return f"{base}?page[after]={number}&page[size]={size}"

    return {
        "self": link(page),
        "items": items[(page - 1) * size : page * size],
        "total": len(items),
        "pageSize": size,
        "links": {
            "first": link(1),
            "prev": link(max(1, page - 1)),
            "next": link(min(last, page + 1)),
            "last": link(last),
        },
    }
