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

import ipaddress
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from node.errors import LernodeError
from node.registry.jose import MAX_JWS_BYTES, JwsInvalid, decode_unverified, verify_jws

ENTITY_STATEMENT_TYP = "entity-statement+jwt"
#: host, port -> its addresses (tests substitute their own resolver).
AddressLookup = Callable[[str, int], list[str]]


class RegistryUnavailable(LernodeError):
    code = "registry_unavailable"
    title = "Registry unavailable"
    status = 502
    retryable = True


def system_lookup(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise RegistryUnavailable(f"cannot resolve {host}: {error}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public_address(text: str) -> bool:
    """Globally routable unicast only (no loopback, private, link-local, CGNAT, reserved...)."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return is_public_address(str(mapped))
        if address.teredo is not None:
            return False
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified
    )


@dataclass(frozen=True)
class FetchPolicy:
    allow_private: bool = False
    http_origins: frozenset[str] = field(default_factory=frozenset)
    max_bytes: int = MAX_JWS_BYTES
    timeout: float = 5.0


class GuardedFetch:
    """A GET that cannot be turned against the node's own network; see the module docstring."""

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        *,
        lookup: AddressLookup = system_lookup,
        verify: Any = True,
    ) -> None:
        self.policy = policy or FetchPolicy()
        self._lookup = lookup
        self._verify = verify

    def __call__(self, url: str) -> tuple[int, str, bytes]:
        """(status, content type, body) of a GET of `url`."""
        parts = urlsplit(url)
        host, scheme = parts.hostname or "", parts.scheme
        origin = f"{scheme}://{parts.netloc}".lower()
        if parts.username or parts.password:
            raise RegistryUnavailable(f"{url[:200]}: credentials in registry URLs are refused")
        if scheme != "https" and not (scheme == "http" and origin in self.policy.http_origins):
            raise RegistryUnavailable(f"{url[:200]}: registries are fetched over HTTPS only")
        port = parts.port or (443 if scheme == "https" else 80)
        addresses = self._lookup(host, port)
        refused = [a for a in addresses if not is_public_address(a)]
        if not addresses or (refused and not self.policy.allow_private):
            raise RegistryUnavailable(f"{host} resolves to a non-public address; refused")
        pinned = addresses[0]
        literal = f"[{pinned}]" if ":" in pinned else pinned
        target = parts._replace(netloc=f"{literal}:{port}").geturl()
        deadline = time.monotonic() + self.policy.timeout
        try:
            with (
                httpx.Client(
                    timeout=self.policy.timeout,
                    follow_redirects=False,
                    trust_env=False,
                    verify=self._verify,
                ) as client,
                client.stream(
                    "GET",
                    target,
                    headers={
                        "Host": parts.netloc.rsplit("@", 1)[-1],
                        "Accept-Encoding": "identity",
                    },
                    extensions={"sni_hostname": host},
                ) as response,
            ):
                body = bytearray()
                for chunk in response.iter_raw():
                    body += chunk
                    if len(body) > self.policy.max_bytes:
                        raise RegistryUnavailable(f"{url[:200]}: answer too large")
                    if time.monotonic() > deadline:
                        raise RegistryUnavailable(f"{url[:200]}: too slow")
                return response.status_code, response.headers.get("content-type", ""), bytes(body)
        except httpx.HTTPError as error:
            raise RegistryUnavailable(f"{url[:200]}: {type(error).__name__}") from None


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
