"""Other registries the node's verifier consults: OpenID Federation trust anchors the operator
configured (`LERNODE_TRUSTED_REGISTRIES`), e.g. DCC's member registry or Credential Engine's.

For a credential from outside the consortium, the verifier asks each configured trust anchor
what verifier-core asks: fetch its entity configuration, then `GET <fetch endpoint>?sub=<DID>`.
Unlike verifier-core (which only decodes), statements are verified: the entity configuration
against its own `jwks` (self-signed, `iss` = `sub` = the configured entity), the subordinate
statement against that `jwks`, its `iss` = the anchor, `sub` = the DID asked, not expired.

The URLs come from the operator but the DID comes from a submitted credential, and a registry
answers over the network, so every fetch is guarded (`GuardedFetch`): HTTPS only (plain HTTP
only for origins explicitly allowed), public addresses only, the connection made to the address
that was checked (no second DNS lookup), TLS verified against the host name, no redirects, one
deadline and a size cap. Answers are cached (entity configurations ~10 min, lookups ~1 min,
"not listed" too) so a verification burst does not become a burst of outbound requests.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from node.errors import LernodeError
from node.net import guarded
from node.net.guarded import AddressLookup, FetchRefused, guarded_get, is_public_address
from node.registry.jose import MAX_JWS_BYTES, JwsInvalid, decode_unverified, verify_jws

__all__ = [
    "AddressLookup",
    "FetchPolicy",
    "GuardedFetch",
    "OidfRegistries",
    "RegistryUnavailable",
    "is_public_address",
    "system_lookup",
]

ENTITY_STATEMENT_TYP = "entity-statement+jwt"


class RegistryUnavailable(LernodeError):
    code = "registry_unavailable"
    title = "Registry unavailable"
    status = 502
    retryable = True


def system_lookup(host: str, port: int) -> list[str]:
    try:
        return guarded.system_lookup(host, port)
    except FetchRefused as refused:
        raise RegistryUnavailable(str(refused)) from None


@dataclass(frozen=True)
class FetchPolicy(guarded.FetchPolicy):
    max_bytes: int = MAX_JWS_BYTES


class GuardedFetch:
    """A GET that cannot be turned against the node's own network (node.net.guarded; a redirect
    is answered, not followed); every refusal is `registry_unavailable`."""

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        *,
        lookup: AddressLookup = system_lookup,
        verify: bool | ssl.SSLContext = True,
    ) -> None:
        self.policy = policy or FetchPolicy()
        self._lookup = lookup
        self._context = verify if isinstance(verify, ssl.SSLContext) else _context(verify)

    def __call__(self, url: str) -> tuple[int, str, bytes]:
        """(status, content type, body) of a GET of `url`."""
        try:
            answer = guarded_get(url, self.policy, lookup=self._lookup, ssl_context=self._context)
        except FetchRefused as refused:
            raise RegistryUnavailable(str(refused)) from None
        return answer.status, answer.content_type, answer.body


def _context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _TtlCache:
    def __init__(self, clock: Callable[[], float], size: int = 512) -> None:
        self._clock = clock
        self._size = size
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            found = self._items.get(key)
            if found is None or found[0] < self._clock():
                self._items.pop(key, None)
                return None
            self._items.move_to_end(key)
            return found[1]

    def put(self, key: str, value: Any, ttl: float) -> None:
        with self._lock:
            self._items[key] = (self._clock() + ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


@dataclass(frozen=True)
class Lookup:
    """verifier-core's `lookupIssuersFor` result: matches and registries that could not answer."""

    matching: list[dict[str, Any]]
    unchecked: list[dict[str, Any]]


_NOT_LISTED = object()


class OidfRegistries:
    """Looks a DID up in the configured OpenID Federation trust anchors (in order)."""

    def __init__(
        self,
        entity_configurations: Sequence[str],
        fetch: Callable[[str], tuple[int, str, bytes]],
        *,
        clock: Callable[[], float] = time.time,
        configuration_ttl: float = 600,
        answer_ttl: float = 60,
    ) -> None:
        self.urls = list(entity_configurations)
        self._fetch = fetch
        self._clock = clock
        self._configurations = _TtlCache(clock)
        self._answers = _TtlCache(clock, size=4096)
        self.configuration_ttl = configuration_ttl
        self.answer_ttl = answer_ttl

    def lookup(self, did: str) -> Lookup:
        matching, unchecked = [], []
        for url in self.urls:
            try:
                found = self._lookup_one(url, did)
            except (RegistryUnavailable, JwsInvalid) as error:
                unchecked.append({"type": "oidf", "trustAnchorEC": url, "error": error.code})
                continue
            if found is not None:
                matching.append(found)
        return Lookup(matching, unchecked)

    def _configuration(self, url: str) -> dict[str, Any]:
        cached = self._configurations.get(url)
        if cached is not None:
            return dict(cached)
        status, _, body = self._fetch(url)
        if status != 200:
            raise RegistryUnavailable(f"{url[:200]} answered HTTP {status}")
        token = body.decode("ascii", "replace").strip()
        _, claims = decode_unverified(token)
        jwks = claims.get("jwks")
        keys = jwks.get("keys") if isinstance(jwks, dict) else None
        if not isinstance(keys, list) or not keys:
            raise JwsInvalid(f"{url[:200]}: entity configuration without jwks")
        payload = verify_jws(token, keys, typ=ENTITY_STATEMENT_TYP)
        if payload.get("iss") != payload.get("sub") or not _fresh(payload, self._clock()):
            raise JwsInvalid(f"{url[:200]}: not a current self-signed entity configuration")
        self._configurations.put(url, payload, self.configuration_ttl)
        return payload

    def _lookup_one(self, url: str, did: str) -> dict[str, Any] | None:
        key = f"{url}\n{did}"
        cached = self._answers.get(key)
        if cached is _NOT_LISTED:
            return None
        if cached is not None:
            return dict(cached)
        configuration = self._configuration(url)
        metadata = configuration.get("metadata") or {}
        endpoint = (metadata.get("federation_entity") or {}).get("federation_fetch_endpoint")
        if not isinstance(endpoint, str):
            raise JwsInvalid(f"{url[:200]}: no federation_fetch_endpoint")
        status, _, body = self._fetch(f"{endpoint}?sub={quote(did, safe='')}")
        if status == 404:
            self._answers.put(key, _NOT_LISTED, self.answer_ttl)
            return None
        if status != 200:
            raise RegistryUnavailable(f"{endpoint[:200]} answered HTTP {status}")
        payload = verify_jws(
            body.decode("ascii", "replace").strip(),
            configuration["jwks"]["keys"],
            typ=ENTITY_STATEMENT_TYP,
        )
        if payload.get("iss") != configuration.get("sub") or payload.get("sub") != did:
            raise JwsInvalid(f"{endpoint[:200]}: statement about another subject or issuer")
        if not _fresh(payload, self._clock()):
            raise JwsInvalid(f"{endpoint[:200]}: expired statement")
        found = {"issuer": payload.get("metadata") or {}, "registry": metadata}
        self._answers.put(key, found, self.answer_ttl)
        return found


def _fresh(claims: dict[str, Any], now: float) -> bool:
    exp = claims.get("exp")
    return isinstance(exp, int | float) and exp > now
