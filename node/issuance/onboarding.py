"""Bringing an issuing institution onto the network.

An institution gets an Ethereum account (its DID is `did:ethr:<chain>:<account>`), an Ed25519
key that signs its credentials, published on the DID as an assertion key, a profile service on
the DID, and then asks the consortium for accreditation with a governance proposal.

It may also get a did:web served by this node (docs/did-web.md): the node mints it, the
institution links back to its origin with a `did/svc/LinkedDomains` attribute on its did:ethr,
and the did:web is one of the aliases its accreditation proposal asks the consortium to bind.
Which of the two DIDs it signs with is `Institution.signs_as` (default: the node's
`issuer_did_method` setting).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from eth_account.signers.local import LocalAccount
from pydantic import ValidationError
from sqlmodel import col, select

from node.chain.bindings import Contracts
from node.chain.client import ChainClient
from node.chain.contracts.types import KNOWN_CREDENTIAL_TYPES
from node.chain.sender import TransactionSender
from node.credentials.inputs import ImageInput
from node.credentials.multikey import base58btc_multibase
from node.did.attributes import Attribute, publish_ed25519_key, publish_service
from node.did.chain_history import fetch_did_history
from node.did.did_web import did_web_for, parse_web_did
from node.did.document import build_document
from node.did.hosting import SignsAs, check_signs_as, mint_did_web
from node.did.identifier import format_ethr_did, parse_ethr_did
from node.errors import ConfigurationError, Conflict, InvalidInput, NotFound
from node.governance.metadata import IssuerMetadata
from node.governance.service import GovernanceService
from node.keystore import KeyStore
from node.store.db import Database
from node.store.models import Institution

#: Validity of a published key or service: about 100 years, i.e. until rotated or revoked.
ATTRIBUTE_VALIDITY = 100 * 365 * 24 * 3600
#: Gas money an institution account needs on an external chain before it can act.
MIN_BALANCE = 10**17


class OnboardingService:
    def __init__(
        self,
        db: Database,
        chain: ChainClient,
        contracts: Contracts,
        keystore: KeyStore,
        sender_for: Callable[[LocalAccount], TransactionSender],
        fund: Callable[[str], None],
        base_url: str,
        default_signs_as: str = "ethr",
    ) -> None:
        self.db = db
        self.chain = chain
        self.contracts = contracts
        self.keystore = keystore
        self._sender_for = sender_for
        self._fund = fund
        self.base_url = base_url
        self.default_signs_as: SignsAs = check_signs_as(default_signs_as)
        self._accounts: dict[int, LocalAccount] = {}
        self._lock = threading.Lock()

    @staticmethod
    def account_name(institution_id: int) -> str:
        return f"institution-{institution_id}"

    def account(self, institution: Institution) -> LocalAccount:
        """The institution's account key, decrypted once (scrypt costs ~75 ms) per process."""
        assert institution.id is not None
        with self._lock:
            account = self._accounts.get(institution.id)
            if account is None:
                account = self.keystore.load_account(self.account_name(institution.id))
                self._accounts[institution.id] = account
            return account

    def create_institution(
        self,
        name: str,
        profile_url: str | None = None,
        image_url: str | None = None,
        *,
        signs_as: str | None = None,
    ) -> Institution:
        """Create the institution's keys and DID, and publish its signing key and profile.
        `image_url` (a logo URL or data: URI) becomes the issuer profile's OB 3.0 `image`;
        `signs_as="web"` (or the node's default) also gives it a did:web and signs under it."""
        if image_url is not None:
            try:
                ImageInput(id=image_url)
            except ValidationError as error:
                raise InvalidInput(
                    f"image_url: {error.errors()[0]['msg']}", code="invalid_input"
                ) from None
        chosen = check_signs_as(signs_as or self.default_signs_as)
        if chosen == "web":
            try:
                did_web_for(self.base_url)  # fail before creating anything
            except ConfigurationError as error:
                raise Conflict(error.detail, code=error.code) from None
        with self.db.session() as session:
            institution = Institution(
                name=name, address="pending", did="pending", image_url=image_url
            )
            session.add(institution)
            session.flush()
            assert institution.id is not None
            account = self.keystore.account(self.account_name(institution.id))
            institution.address = account.address.lower()
            institution.did = format_ethr_did(self.chain.chain_id, account.address)
            institution.profile_url = (
                profile_url or f"{self.base_url}/v1/issuers/{account.address.lower()}"
            )
            session.add(institution)
        self._fund(account.address)
        self.rotate_signing_key(institution)
        self._set_attribute(
            account,
            publish_service(
                "LinkedDomains" if profile_url else "IssuerProfile", institution.profile_url
            ),
        )
        if chosen == "web":
            self.link_did_web(institution)
            return self.sign_as(self.get(institution.id), "web")
        return self.get(institution.id)

    def link_did_web(self, institution: Institution) -> Institution:
        """Give the institution a did:web served by this node and link its did:ethr to the
        did:web's origin (`did/svc/LinkedDomains`), the institution's half of the binding.

        Idempotent for the DID; the consortium's half is the alias in its accreditation
        proposal (`accreditation_aliases`).
        """
        assert institution.id is not None
        did_web = institution.did_web
        if did_web is None:
            with self.db.session() as session:
                first = session.exec(select(Institution.id).order_by(col(Institution.id))).first()
            did_web = mint_did_web(self.base_url, institution.id, root=first == institution.id)
        self._set_attribute(
            self.account(institution),
            publish_service("LinkedDomains", parse_web_did(did_web).origin),
        )
        with self.db.session() as session:
            stored = session.get(Institution, institution.id)
            assert stored is not None
            stored.did_web = did_web
            session.add(stored)
        return self.get(institution.id)

    def sign_as(self, institution: Institution, method: str) -> Institution:
        """Sign the institution's credentials and status lists under its did:ethr or did:web
        from now on (what it signed before keeps verifying under the DID it names)."""
        chosen = check_signs_as(method)
        if chosen == "web" and not institution.did_web:
            raise Conflict(f"{institution.did} has no did:web yet", code="no_did_web")
        with self.db.session() as session:
            stored = session.get(Institution, institution.id)
            assert stored is not None
            stored.signs_as = chosen
            session.add(stored)
        return self.get(institution.id)  # type: ignore[arg-type]

    @staticmethod
    def accreditation_aliases(institution: Institution) -> list[str]:
        """DIDs the consortium binds to the institution's address with its accreditation
        (`proposeAccreditation(..., aliases)`, TEAM decision 1)."""
        return [institution.did_web] if institution.did_web else []

    def rotate_signing_key(self, institution: Institution) -> Institution:
        """Publish a new Ed25519 key on the DID and sign with it from now on.

        The old key stays on the DID (credentials it signed keep verifying); revoke it on chain
        separately if it was compromised.
        """
        assert institution.id is not None
        key = self.keystore.create_signing_key()
        account = self.account(institution)
        self._set_attribute(account, publish_ed25519_key(key.public_bytes))
        method = self.verification_method_for(institution.did, key.public_bytes)
        with self.db.session() as session:
            stored = session.get(Institution, institution.id)
            assert stored is not None
            stored.verification_method = method
            stored.signing_key_id = key.key_id
            session.add(stored)
        return self.get(institution.id)

    def verification_method_for(self, did: str, public_key: bytes) -> str:
        """The id the DID document gives the published `public_key` (e.g. `#delegate-1`)."""
        parsed = parse_ethr_did(did)
        history = fetch_did_history(self.chain, self.contracts.did_registry, parsed.address)
        latest = self.chain.block("latest")
        now = int(latest["timestamp"]) if latest else 0
        document = build_document(parsed, self.chain.chain_id, history, now=now).document
        wanted = base58btc_multibase(public_key)[1:]  # base58btc without the multibase 'z'
        for method in document.get("verificationMethod", []):
            if method.get("publicKeyBase58") == wanted:
                return str(method["id"])
        raise NotFound(f"key not found on {did} after publishing it", code="key_not_published")

    def request_accreditation(
        self,
        governance: GovernanceService,
        operator: LocalAccount,
        institution: Institution,
        credential_types: list[str],
        aliases: Sequence[str] = (),
    ) -> int:
        """Propose the institution's accreditation (the operator's approval is implied)."""
        return governance.propose_accreditation(
            operator,
            institution.address,
            credential_types,
            metadata=self.profile_metadata(institution),
            aliases=list(dict.fromkeys([*self.accreditation_aliases(institution), *aliases])),
        )

    def standing(
        self, institution: Institution, governance: GovernanceService, now: int
    ) -> dict[str, Any]:
        """What an institution (or its operator) wants to know: identity and accreditation."""
        record = governance.issuer(institution.address)
        return {
            "id": institution.id,
            "name": institution.name,
            "did": institution.did,
            "didWeb": institution.did_web,
            "signsAs": institution.signs_as,
            "address": institution.address,
            "verificationMethod": institution.verification_method,
            "profileUrl": institution.profile_url,
            "status": record.status,
            "accreditedNow": {
                name: governance.is_accredited(institution.address, name, now)
                for name in KNOWN_CREDENTIAL_TYPES
            },
        }

    @staticmethod
    def profile_metadata(institution: Institution) -> IssuerMetadata:
        """The institution's public profile as proposed for the vote (published on chain with
        the proposal; the registry serves it once the accreditation executes). Institution
        names and URLs are public facts, never personal data."""
        return IssuerMetadata.from_profile(institution.name, institution.profile_url)

    def get(self, institution_id: int) -> Institution:
        with self.db.session() as session:
            institution = session.get(Institution, institution_id)
        if institution is None:
            raise NotFound(f"no institution {institution_id}", code="institution_not_found")
        return institution

    def by_address(self, address: str) -> Institution | None:
        with self.db.session() as session:
            return session.exec(
                select(Institution).where(Institution.address == address.lower())
            ).first()

    def _set_attribute(self, account: LocalAccount, attribute: Attribute) -> None:
        call = self.contracts.did_registry.set_attribute(
            account.address, attribute.name, attribute.value, ATTRIBUTE_VALIDITY
        )
        self._sender_for(account).transact(call)
