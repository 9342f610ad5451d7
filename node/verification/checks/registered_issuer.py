"""The `registered_issuer` check: is the credential's issuer listed in a trusted registry?

Shape: what `@digitalcredentials/verifier-core` puts in its log, so a wallet or verifier that
shows verifier-core results shows ours the same way:
`{id: "registered_issuer", valid, matchingIssuers: [{issuer: <registry metadata of the issuer>,
registry: <the registry's own metadata>}], uncheckedRegistries: [...]}`.

Why it is reported beside the checks rather than among them: it says whether the issuer is
listed *now*, while the verdict is about the credential (its issuer's accreditation is judged
at issuance by the `accreditation` check). A university removed from the registry today did not
un-issue last year's diplomas, so this check informs and never changes the verdict.

The registries are a port (`IssuerRegistries`): the composition root plugs in the consortium's
own registry (from the chain index) and the OpenID Federation registries the operator trusts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from node.errors import LernodeError
from node.store.cursors import IndexPositions

CHECK_ID = "registered_issuer"


class RegistryMatches(Protocol):
    @property
    def matching(self) -> list[dict[str, Any]]: ...

    @property
    def unchecked(self) -> list[dict[str, Any]]: ...


class IssuerRegistries(Protocol):
    def lookup(self, did: str, positions: IndexPositions | None = None) -> RegistryMatches:
        """Matches for `did` and the registries that could not be asked (`positions`: where
        this node's indexers stood when the verification read its facts, if it read them from
        the index)."""
        ...


def issuer_id(credential: Mapping[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def check_registered_issuer(
    credential: Mapping[str, Any],
    registries: IssuerRegistries,
    positions: IndexPositions | None = None,
) -> dict[str, Any]:
    did = issuer_id(credential)
    if did is None:
        return {"id": CHECK_ID, "valid": False, "matchingIssuers": [], "uncheckedRegistries": []}
    try:
        found = registries.lookup(did, positions)
    except LernodeError as error:
        return {
            "id": CHECK_ID,
            "valid": False,
            "matchingIssuers": [],
            "uncheckedRegistries": [{"error": error.code}],
        }
    return {
        "id": CHECK_ID,
        "valid": bool(found.matching),
        "matchingIssuers": list(found.matching),
        "uncheckedRegistries": list(found.unchecked),
    }
