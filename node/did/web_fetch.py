"""Fetching `did:web` documents without becoming a tool for reaching the node's own network.

A verifier resolves whatever did:web a submitted credential names, so the DID is attacker input
and its document fetch is a server-side request, made through the node's one guarded GET
(node.net.guarded) under `WebPolicy`:

- HTTPS only; plain HTTP only for origins listed explicitly (tests, a local development node);
- every address the host name resolves to must be public (not loopback, private, link-local,
  CGNAT, multicast, reserved, IPv4-mapped private...) unless private addresses are explicitly
  allowed; the connection then goes to an address that was checked (no second DNS lookup a
  rebinding attacker could answer differently), with TLS still verified against the host name;
- at most `max_bytes` (64 KB) of body, one deadline for the whole exchange (a watchdog closes the
  socket, so a server dripping bytes cannot hold a worker), no proxies;
- redirects are followed only within the same origin, at most `max_redirects` times;
- the body must be a JSON object whose `id` is the DID asked for.

`WebDidResolver` adds a small TTL cache and is the engine's `DidDocumentSource` for did:web.
"""

from __future__ import annotations

import copy
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from node.did.did_web import parse_web_did
from node.did.errors import DidWebUnavailable
from node.net.guarded import (
    REDIRECTS,
    AddressLookup,
    FetchPolicy,
    FetchRefused,
    guarded_get,
    is_public_address,
    origin_of,
    url_origin,
)
from node.net.guarded import system_lookup as _guarded_lookup

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "AddressLookup",
    "WebDidResolver",
    "WebPolicy",
    "fetch_did_web",
    "is_public_address",
    "system_lookup",
]

MAX_DOCUMENT_BYTES = 64 * 1024
_ACCEPT = "application/did+json, application/did+ld+json, application/json;q=0.9"


@dataclass(frozen=True)
class WebPolicy(FetchPolicy):
    """What a did:web fetch may do. The defaults are the production guard."""

    max_bytes: int = MAX_DOCUMENT_BYTES
    max_redirects: int = 2


def system_lookup(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver (every family)."""
    try:
        return _guarded_lookup(host, port)
    except FetchRefused as refused:
        raise _unavailable(refused) from None


def fetch_did_web(
    did: str,
    policy: WebPolicy,
    *,
    lookup: AddressLookup = system_lookup,
    ssl_context: ssl.SSLContext | None = None,
) -> dict[str, Any]:
    """The DID document of `did` fetched under `policy`; `did_web_unavailable` family otherwise."""
    web = parse_web_did(did)
    scheme = "http" if origin_of("http", web.host, web.port) in policy.http_origins else "https"
    url = web.document_url(scheme)
    context = ssl_context or ssl.create_default_context()
    deadline = time.monotonic() + policy.timeout
    for _ in range(policy.max_redirects + 1):
        try:
            answer = guarded_get(
                url, policy, lookup=lookup, ssl_context=context, accept=_ACCEPT, deadline=deadline
            )
        except FetchRefused as refused:
            raise _unavailable(refused) from None
        if answer.status in REDIRECTS:
            target = urljoin(url, answer.location or "")
            if url_origin(target) != url_origin(url):
                raise DidWebUnavailable(
                    f"{url} redirects to another origin ({url_origin(target)}); not followed",
                    code="did_web_redirect_refused",
                )
            url = target
            continue
        if answer.status != 200:
            raise DidWebUnavailable(
                f"{url} answered HTTP {answer.status}",
                code="did_web_not_found" if answer.status in (404, 410) else "did_web_http_error",
            )
        return _document(did, url, answer.body)
    raise DidWebUnavailable(f"{did}: too many redirects", code="did_web_redirect_refused")


def _unavailable(refused: FetchRefused) -> DidWebUnavailable:
    """The guard's refusal as did:web's error: one code per reason (`did_web_timeout`, ...)."""
    return DidWebUnavailable(str(refused), code=f"did_web_{refused.reason}")


def _document(did: str, url: str, body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise DidWebUnavailable(f"{url} is not JSON", code="did_web_invalid_document") from None
    if not isinstance(document, dict):
        raise DidWebUnavailable(
            f"{url} is not a DID document (not a JSON object)", code="did_web_invalid_document"
        )
    if document.get("id") != did:
        raise DidWebUnavailable(
            f"{url} is the document of {str(document.get('id'))[:120]!r}, not of {did}",
            code="did_web_id_mismatch",
        )
    return document


@dataclass
class _Cached:
    expires: float
    document: dict[str, Any]


class WebDidResolver:
    """`DidDocumentSource` for `did:web` (`block` is ignored: a web document has no history).

    Documents are cached for `ttl` seconds (at most `max_entries` DIDs), so a verifier checking
    many credentials of one issuer fetches its document once.
    """

    def __init__(
        self,
        policy: WebPolicy | None = None,
        *,
        ttl: float = 60.0,
        max_entries: int = 256,
        lookup: AddressLookup = system_lookup,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or WebPolicy()
        self.ttl = ttl
        self.max_entries = max_entries
        self._lookup = lookup
        self._ssl_context = ssl_context
        self._clock = clock
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def document_at(self, did: str, block: int | None) -> dict[str, Any]:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(did)
        if cached is not None and cached.expires > now:
            return copy.deepcopy(cached.document)
        document = fetch_did_web(
            did, self.policy, lookup=self._lookup, ssl_context=self._ssl_context
        )
        with self._lock:
            if len(self._cache) >= self.max_entries:
                expired = [k for k, v in self._cache.items() if v.expires <= now]
                for key in expired or [next(iter(self._cache))]:
                    del self._cache[key]
            self._cache[did] = _Cached(now + self.ttl, document)
        return copy.deepcopy(document)
