"""The did:web identities this node hosts for its institutions, and which DID each signs with.

An institution always has its `did:ethr` (its chain identity). It may also have a did:web that
this node serves (`Institution.did_web`) and sign credentials and status lists under it
(`Institution.signs_as == "web"`); both DIDs stay verifiable, because the did:web document is
derived from the did:ethr document at request time and carries the same keys (did_web.py).

Naming: the node's own (first) institution is `did:web:<host>` (served at
`/.well-known/did.json`); every other one is `did:web:<host>:institutions:<id>` (served at
`/institutions/<id>/did.json`). A base URL with a path (behind a reverse proxy) prefixes the
path segments, and then every institution uses the path form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlmodel import select

from node.did.did_web import did_web_at_path, did_web_document, did_web_for, web_method_id
from node.did.sources import DidDocumentSource
from node.errors import Conflict, InvalidInput
from node.store.db import Database
from node.store.models import Institution

SignsAs = Literal["ethr", "web"]
SIGNS_AS: tuple[SignsAs, ...] = ("ethr", "web")
INSTITUTIONS_SEGMENT = "institutions"


@dataclass(frozen=True)
class SigningIdentity:
    """The issuer `id` and proof `verificationMethod` an institution signs with right now."""

    did: str
    verification_method: str | None


def signing_identity(institution: Institution, as_did: str | None = None) -> SigningIdentity:
    """What goes into `issuer.id` and `proof.verificationMethod` of what the institution signs:
    under `as_did` if given (one of its DIDs), else under the DID it signs as now.

    Under did:web the method is the did:web twin of the current did:ethr key (same fragment).
    """
    if as_did is None:
        web = institution.signs_as == "web" and institution.did_web
        as_did = institution.did_web if web else institution.did
    method = institution.verification_method
    if as_did == institution.did:
        return SigningIdentity(institution.did, method)
    if as_did is not None and as_did == institution.did_web:
        twin = None if method is None else web_method_id(method, as_did)
        return SigningIdentity(as_did, twin)
    raise Conflict(f"{as_did} is not a DID of {institution.did}", code="not_institution_did")


def institution_dids(institution: Institution) -> tuple[str, ...]:
    """Every DID the institution may issue as (its did:ethr, and its did:web if any)."""
    return (institution.did,) if not institution.did_web else (institution.did, institution.did_web)


def check_signs_as(value: str) -> SignsAs:
    if value not in SIGNS_AS:
        raise InvalidInput(
            f"an institution signs as one of {', '.join(SIGNS_AS)}, not {value!r}",
            code="invalid_did_method",
        )
    return value


def mint_did_web(base_url: str, institution_id: int, *, root: bool) -> str:
    """The did:web of institution `institution_id` on the node at `base_url` (see module doc)."""
    if root and not [s for s in urlsplit(base_url).path.split("/") if s]:
        return did_web_for(base_url)
    return did_web_for(base_url, (INSTITUTIONS_SEGMENT, str(institution_id)))


class DidWebHosting:
    """Serves the did:web documents of this node's institutions.

    `ethr_documents` gives the current did:ethr document (the node passes its indexed source,
    which falls back to the chain while the indexer catches up, so a key published a moment ago
    is already in the did:web document).
    """

    def __init__(self, db: Database, base_url: str, ethr_documents: DidDocumentSource) -> None:
        self.db = db
        self.base_url = base_url
        self.ethr_documents = ethr_documents

    def institution_of(self, did_web: str) -> Institution | None:
        with self.db.session() as session:
            return session.exec(select(Institution).where(Institution.did_web == did_web)).first()

    def hosted_document(self, did: str) -> dict[str, Any] | None:
        """The document of `did` if this node hosts it, else None (`HostedDocuments`)."""
        institution = self.institution_of(did)
        if institution is None:
            return None
        ethr = self.ethr_documents.document_at(institution.did, None)
        return did_web_document(did, institution.did, ethr)

    def document_at_path(self, request_path: str) -> dict[str, Any] | None:
        """The document served at `request_path` (e.g. `/.well-known/did.json`), or None."""
        did = did_web_at_path(self.base_url, request_path)
        return None if did is None else self.hosted_document(did)

    def require_did_web(self, institution: Institution) -> str:
        if not institution.did_web:
            raise Conflict(f"{institution.did} has no did:web on this node", code="no_did_web")
        return institution.did_web
