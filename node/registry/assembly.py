"""The registry's protocols assembled over one consortium registry, and the verifier's lookup.

`RegistryProtocols` is what the composition root builds once and the API routes use:
OpenID Federation (+ the DCC list), TRQP, the EBSI TIR read API, and `registered_issuers`, the
`IssuerRegistries` port of the verification engine (the consortium itself first, then the
OpenID Federation registries the operator trusts).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from node.registry.ebsi import TrustedIssuersRegistry
from node.registry.federation import (
    WELL_KNOWN_PATH,
    Federation,
    FederationProfile,
    NotListed,
    issuer_metadata,
)
from node.registry.foreign import Lookup, OidfRegistries
from node.registry.jose import JwsSigner
from node.registry.service import ConsortiumRegistry, IndexNotReady
from node.registry.trqp import Trqp
from node.store.cursors import IndexPositions


class RegisteredIssuers:
    """verifier-core's registry lookup, answered by the consortium and trusted registries."""

    def __init__(self, federation: Federation, foreign: OidfRegistries | None) -> None:
        self.federation = federation
        self.foreign = foreign

    def lookup(self, did: str, positions: IndexPositions | None = None) -> Lookup:
        matching: list[dict[str, Any]] = []
        unchecked: list[dict[str, Any]] = []
        try:
            entry = self.federation.listed_entry(did, positions)
            matching.append(
                {"issuer": issuer_metadata(entry), "registry": self.federation.registry_metadata()}
            )
        except NotListed:
            pass
        except IndexNotReady as error:
            unchecked.append(
                {
                    "type": "oidf",
                    "trustAnchorEC": self.federation.profile.entity_id + WELL_KNOWN_PATH,
                    "error": error.code,
                }
            )
        if self.foreign is not None:
            found = self.foreign.lookup(did)
            matching.extend(found.matching)
            unchecked.extend(found.unchecked)
        return Lookup(matching, unchecked)


@dataclass
class RegistryProtocols:
    consortium: ConsortiumRegistry
    federation: Federation
    trqp: Trqp
    tir: TrustedIssuersRegistry
    issuers: RegisteredIssuers


@dataclass
class LazySigner:
    """The federation key, decrypted on first use (scrypt costs ~50 ms) and then kept."""

    load: Callable[[], JwsSigner]
    _signer: JwsSigner | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self) -> JwsSigner:
        with self._lock:
            if self._signer is None:
                self._signer = self.load()
            return self._signer


def assemble(
    consortium: ConsortiumRegistry,
    signer: Callable[[], JwsSigner],
    profile: FederationProfile,
    trusted_registries: Sequence[str],
    fetch: Callable[[str], tuple[int, str, bytes]],
) -> RegistryProtocols:
    federation = Federation(consortium, signer, profile)
    foreign = OidfRegistries(trusted_registries, fetch) if trusted_registries else None
    return RegistryProtocols(
        consortium=consortium,
        federation=federation,
        trqp=Trqp(consortium, [profile.entity_id]),
        tir=TrustedIssuersRegistry(consortium, signer, profile.entity_id),
        issuers=RegisteredIssuers(federation, foreign),
    )
