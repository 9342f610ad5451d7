"""OpenID Federation 1.0 in the Digital Credentials Consortium's profile, and DCC's legacy list.

This node is a Trust Anchor whose Immediate Subordinates are the consortium's listed issuers,
each under its `did:ethr` and every alias the consortium bound (a wallet verifies a credential
under the DID it names, usually the `did:web`):

- the entity configuration (`/.well-known/openid-federation`): a JWT `typ: entity-statement+jwt`,
  `iss` = `sub` = this node's entity id (its public URL), `jwks` = the key that signs (bound on
  chain, see keys.py), `metadata.federation_entity` naming the fetch and list endpoints, and a
  `chain_binding` claim telling a verifier where on chain to check the key and the registry;
- subordinate statements (`fetch?sub=<DID>`): the issuer's profile as voted on, in the DCC
  shape (`federation_entity.organization_name/homepage_uri/logo_uri/location`,
  `institution_additional_information.legal_name`, `credential_registry_entity.ctid`,
  `ror_entity.rorid`), its accredited credential types, and an `evidence` claim with the chain
  events behind it; not listed = `NotListed` (404 `not_found`);
- the subordinate listing and the DCC legacy list `{meta, registry: {did: {name, location,
  url}}}`.

Statements expire after `ttl` seconds, so a removal reaches clients that cache them within it.
DCC's profile omits `jwks` from subordinate statements (its subjects are DIDs, whose keys live
in their DID documents, not OpenID Federation entities); so do we.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from node.errors import NotFound
from node.governance.metadata import IssuerMetadata
from node.registry.jose import JwsSigner
from node.registry.keys import BINDING_ATTRIBUTE
from node.registry.service import ConsortiumRegistry, RegistryEntry, UnknownSubject
from node.store.cursors import IndexPositions

ENTITY_STATEMENT_TYP = "entity-statement+jwt"
ENTITY_STATEMENT_MEDIA_TYPE = "application/entity-statement+jwt"
WELL_KNOWN_PATH = "/.well-known/openid-federation"
FETCH_PATH = "/federation/fetch"
LIST_PATH = "/federation/list"
DCC_LIST_PATH = "/federation/registry.json"


class NotListed(NotFound):
    """The DID is not a listed subordinate (never accredited, suspended, removed, unknown)."""

    code = "not_listed"


@dataclass(frozen=True)
class FederationProfile:
    """Who this registry says it is (settings) and who signs for it."""

    entity_id: str
    organization_name: str
    homepage_uri: str | None
    ttl: int
    member: str  # the operator address whose DID the signing key is bound to
    member_did: str


def issuer_metadata(entry: RegistryEntry) -> dict[str, Any]:
    """The subordinate's metadata in the DCC profile (what verifier-core shows a user)."""
    profile = entry.metadata or IssuerMetadata(organization_name=entry.subject.did)
    federation_entity = {
        "organization_name": profile.organization_name,
        "homepage_uri": profile.homepage_uri,
        "logo_uri": profile.logo_uri,
        "location": profile.location,
    }
    metadata: dict[str, Any] = {
        "federation_entity": {k: v for k, v in federation_entity.items() if v is not None}
    }
    if profile.legal_name:
        metadata["institution_additional_information"] = {"legal_name": profile.legal_name}
    if profile.ctid:
        metadata["credential_registry_entity"] = {"ctid": profile.ctid, "ce_url": profile.ctid_url}
    if profile.rorid:
        metadata["ror_entity"] = {"rorid": profile.rorid, "ror_url": profile.ror_url}
    return metadata


class Federation:
    """Builds and signs this node's OpenID Federation documents from the registry."""

    def __init__(
        self,
        registry: ConsortiumRegistry,
        signer: Callable[[], JwsSigner],
        profile: FederationProfile,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry
        self._signer = signer
        self.profile = profile
        self._clock = clock

    @property
    def fetch_endpoint(self) -> str:
        return self.profile.entity_id + FETCH_PATH

    @property
    def list_endpoint(self) -> str:
        return self.profile.entity_id + LIST_PATH

    def registry_metadata(self) -> dict[str, Any]:
        """The entity configuration's `metadata` (also what a `registered_issuer` match names
        as its registry)."""
        entity = {
            "organization_name": self.profile.organization_name,
            "homepage_uri": self.profile.homepage_uri,
            "federation_fetch_endpoint": self.fetch_endpoint,
            "federation_list_endpoint": self.list_endpoint,
        }
        return {"federation_entity": {k: v for k, v in entity.items() if v is not None}}

    def _times(self) -> dict[str, Any]:
        now = int(self._clock())
        return {"iat": now, "exp": now + self.profile.ttl, "jti": secrets.token_urlsafe(12)}

    def entity_configuration(self) -> str:
        signer = self._signer()
        registry = self.registry
        claims = {
            "iss": self.profile.entity_id,
            "sub": self.profile.entity_id,
            **self._times(),
            "jwks": {"keys": [signer.public_jwk]},
            "metadata": self.registry_metadata(),
            "chain_binding": {
                "chain_id": registry.chain_id,
                "authority_id": registry.authority_id,
                "issuer_registry": registry.contract,
                "did_registry": registry.did_registry,
                "member": self.profile.member,
                "member_did": self.profile.member_did,
                "key_attribute": BINDING_ATTRIBUTE,
            },
        }
        return signer.sign(claims, ENTITY_STATEMENT_TYP)

    def listed_entry(self, sub: str, positions: IndexPositions | None = None) -> RegistryEntry:
        try:
            entry = self.registry.entry(sub, positions=positions)
        except UnknownSubject as error:
            raise NotListed(error.detail) from None
        if not entry.listed:
            raise NotListed(f"{sub[:120]} is not listed by the consortium now")
        return entry

    def subordinate_statement(self, sub: str) -> str:
        entry = self.listed_entry(sub)
        claims = {
            "iss": self.profile.entity_id,
            "sub": sub,
            **self._times(),
            "metadata": issuer_metadata(entry),
            "accredited_for": entry.credential_types,
            "evidence": self.registry.evidence(entry).as_json(),
        }
        return self._signer().sign(claims, ENTITY_STATEMENT_TYP)

    def subordinates(self) -> list[str]:
        return [did for entry in self.registry.listed_entries() for did in entry.dids]

    def legacy_list(self) -> dict[str, Any]:
        """DCC's legacy registry JSON: every listed DID with its name, location and URL."""
        registry: dict[str, dict[str, str]] = {}
        for entry in self.registry.listed_entries():
            profile = issuer_metadata(entry)["federation_entity"]
            item = {
                "name": profile["organization_name"],
                "location": profile.get("location"),
                "url": profile.get("homepage_uri"),
            }
            for did in entry.dids:
                registry[did] = {k: v for k, v in item.items() if v is not None}
        times = self.registry.change_times() or (int(self._clock()),) * 2
        return {
            "meta": {"created": _iso(times[0]), "updated": _iso(times[1])},
            "registry": registry,
        }


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
