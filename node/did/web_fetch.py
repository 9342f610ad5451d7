"""Fetching `did:web` documents without becoming a tool for reaching the node's own network.

A verifier resolves whatever did:web a submitted credential names, so the DID is attacker input
and its document fetch is a server-side request. The guard (`WebPolicy`):

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

import contextlib
import copy
import http.client
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from node.did.did_web import origin_of, parse_web_did
from node.did.errors import DidWebUnavailable

MAX_DOCUMENT_BYTES = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_ACCEPT = "application/did+json, application/did+ld+json, application/json;q=0.9"

#: host, port -> the IP addresses it resolves to (tests substitute their own).
AddressLookup = Callable[[str, int], list[str]]
#: The system resolver has no deadline of its own; lookups run here so the fetch's deadline holds
#: (a lookup that overruns finishes in the background and is discarded).
_DNS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="did-web-dns")


@dataclass(frozen=True)
class WebPolicy:
    """What a did:web fetch may do. The defaults are the production guard."""

    allow_private: bool = False
    http_origins: frozenset[str] = field(default_factory=frozenset)
    max_bytes: int = MAX_DOCUMENT_BYTES
    timeout: float = 5.0
    max_redirects: int = 2

    def __post_init__(self) -> None:
        normalized = set()
        for origin in self.http_origins:
            parts = urlsplit(origin)
            normalized.add(origin_of(parts.scheme, parts.hostname or "", parts.port))
        object.__setattr__(self, "http_origins", frozenset(normalized))


def system_lookup(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver (every family)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise DidWebUnavailable(
            f"cannot resolve {host}: {error}", code="did_web_host_not_found"
        ) from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public_address(text: str) -> bool:
    """True only for globally routable unicast addresses (what the public internet is)."""
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
        status, location, body = _get(url, policy, lookup, context, deadline)
        if status in _REDIRECTS:
            target = urljoin(url, location or "")
            if _origin(target) != _origin(url):
                raise DidWebUnavailable(
                    f"{url} redirects to another origin ({_origin(target)}); not followed",
                    code="did_web_redirect_refused",
                )
            url = target
            continue
        if status != 200:
            raise DidWebUnavailable(
                f"{url} answered HTTP {status}",
                code="did_web_not_found" if status in (404, 410) else "did_web_http_error",
            )
        return _document(did, url, body)
    raise DidWebUnavailable(f"{did}: too many redirects", code="did_web_redirect_refused")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return origin_of(parts.scheme, parts.hostname or "", parts.port)


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


def _get(
    url: str,
    policy: WebPolicy,
    lookup: AddressLookup,
    context: ssl.SSLContext,
    deadline: float,
) -> tuple[int, str | None, bytes]:
    """One guarded GET: (status, Location, body of at most `max_bytes`)."""
    parts = urlsplit(url)
    host, scheme = parts.hostname or "", parts.scheme
    port = parts.port or (443 if scheme == "https" else 80)
    if scheme == "http" and _origin(url) not in policy.http_origins:
        raise DidWebUnavailable(
            f"{url}: did:web documents are fetched over HTTPS only", code="did_web_insecure"
        )
    if scheme not in ("http", "https"):
        raise DidWebUnavailable(f"{url}: unsupported scheme", code="did_web_insecure")
    addresses = _lookup_in_time(lookup, host, port, deadline, policy)
    refused = [a for a in addresses if not is_public_address(a)]
    if not addresses or (refused and not policy.allow_private):
        raise DidWebUnavailable(
            f"{host} resolves to a non-public address ({', '.join(refused[:3]) or 'none'}); "
            "refused",
            code="did_web_address_refused",
        )
    connection = _connect(scheme, host, port, addresses, context, deadline, policy.timeout)
    watchdog = threading.Timer(max(deadline - time.monotonic(), 0), _abort, (connection,))
    watchdog.daemon = True
    watchdog.start()
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request(
            "GET",
            target,
            headers={"Accept": _ACCEPT, "Accept-Encoding": "identity", "User-Agent": "lernode"},
        )
        response = connection.getresponse()
        if response.status in _REDIRECTS:
            return response.status, response.getheader("Location"), b""
        declared = response.getheader("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > policy.max_bytes:
            raise _too_large(url, policy)
        body = bytearray()
        while chunk := response.read1(16_384):
            body += chunk
            if len(body) > policy.max_bytes:
                raise _too_large(url, policy)
            if time.monotonic() > deadline:
                raise TimeoutError
        if time.monotonic() >= deadline:  # the watchdog cut the body short
            raise TimeoutError
        return response.status, None, bytes(body)
    except DidWebUnavailable:
        raise
    except (OSError, http.client.HTTPException, ValueError) as error:
        if time.monotonic() >= deadline or isinstance(error, TimeoutError):
            raise DidWebUnavailable(
                f"{url}: no complete answer within {policy.timeout:g} s", code="did_web_timeout"
            ) from None
        raise DidWebUnavailable(
            f"{url}: {type(error).__name__}: {error}", code="did_web_unreachable"
        ) from None
    finally:
        watchdog.cancel()
        connection.close()


def _lookup_in_time(
    lookup: AddressLookup, host: str, port: int, deadline: float, policy: WebPolicy
) -> list[str]:
    future = _DNS.submit(lookup, host, port)
    try:
        return future.result(timeout=max(deadline - time.monotonic(), 0))
    except FutureTimeout:
        future.cancel()
        raise DidWebUnavailable(
            f"{host}: no DNS answer within {policy.timeout:g} s", code="did_web_timeout"
        ) from None


def _too_large(url: str, policy: WebPolicy) -> DidWebUnavailable:
    return DidWebUnavailable(
        f"{url} is larger than {policy.max_bytes} bytes", code="did_web_too_large"
    )


def _connect(
    scheme: str,
    host: str,
    port: int,
    addresses: list[str],
    context: ssl.SSLContext,
    deadline: float,
    timeout: float,
) -> http.client.HTTPConnection:
    """A connection to the first checked address that answers (TLS verified for `host`)."""
    last: Exception | None = None
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        connection: http.client.HTTPConnection
        if scheme == "https":
            connection = _PinnedHTTPS(host, port, address, min(timeout, remaining), context)
        else:
            connection = _PinnedHTTP(host, port, address, min(timeout, remaining))
        try:
            connection.connect()
            return connection
        except (OSError, ssl.SSLError) as error:
            connection.close()
            last = error
            if isinstance(error, ssl.SSLCertVerificationError):
                break
    code = "did_web_tls_error" if isinstance(last, ssl.SSLError) else "did_web_unreachable"
    raise DidWebUnavailable(f"cannot connect to {host}:{port}: {last}", code=code)


def _abort(connection: http.client.HTTPConnection) -> None:
    """Wake a read blocked past the deadline (shutdown interrupts a recv in another thread)."""
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP to a pre-checked address (the Host header still names the host)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a pre-checked address, certificate and SNI checked against the host name."""

    def __init__(
        self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        try:
            self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


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
