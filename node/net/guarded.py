"""One GET that cannot be turned against the node's own network.

Both outbound fetches of the node go through it: `did:web` documents (the DID is attacker input,
node.did.web_fetch) and the trust registries an operator configured (node.registry.foreign). The
guard (`FetchPolicy`):

- HTTPS only; plain HTTP only for origins listed explicitly (tests, a local development node);
  no user or password in the URL;
- every address the host name resolves to must be public (not loopback, private, link-local,
  CGNAT, multicast, reserved, IPv4-mapped private...) unless private addresses are explicitly
  allowed; the connection then goes to an address that was checked (no second DNS lookup a
  rebinding attacker could answer differently), with TLS still verified against the host name;
- at most `max_bytes` of body, one deadline for the whole exchange including DNS (a watchdog
  closes the socket, so a server dripping bytes cannot hold a worker), no proxies;
- redirects are never followed here: the answer is returned with its `Location`, and the caller
  decides (did:web follows same-origin ones).

A refusal is a `FetchRefused` whose `reason` names what failed; callers turn it into their own
error (did:web keeps one code per reason, a registry has one code for all).
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

#: What stopped a guarded fetch (did:web's codes are `did_web_<reason>`).
Reason = Literal[
    "insecure",
    "host_not_found",
    "address_refused",
    "timeout",
    "too_large",
    "unreachable",
    "tls_error",
]
REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: host, port -> the IP addresses it resolves to (tests substitute their own).
AddressLookup = Callable[[str, int], list[str]]
#: The system resolver has no deadline of its own; lookups run here so the fetch's deadline holds
#: (a lookup that overruns finishes in the background and is discarded).
_DNS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="guarded-dns")


class FetchRefused(Exception):
    """A guarded fetch that was refused or failed; `reason` says which way."""

    def __init__(self, message: str, reason: Reason) -> None:
        super().__init__(message)
        self.reason: Reason = reason


def origin_of(scheme: str, host: str, port: int | None) -> str:
    """`scheme://host[:port]` with the scheme's default port left out (RFC 6454 serialization)."""
    default = {"https": 443, "http": 80}.get(scheme)
    return f"{scheme}://{host.lower()}" + ("" if port in (None, default) else f":{port}")


def url_origin(url: str) -> str:
    parts = urlsplit(url)
    return origin_of(parts.scheme, parts.hostname or "", parts.port)


@dataclass(frozen=True)
class FetchPolicy:
    """What a guarded fetch may do. The defaults are the production guard."""

    allow_private: bool = False
    http_origins: frozenset[str] = field(default_factory=frozenset)
    max_bytes: int = 64 * 1024
    timeout: float = 5.0

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "http_origins", frozenset(url_origin(origin) for origin in self.http_origins)
        )


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    location: str | None
    body: bytes


def system_lookup(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver (every family)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise FetchRefused(f"cannot resolve {host}: {error}", "host_not_found") from None
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


def guarded_get(
    url: str,
    policy: FetchPolicy,
    *,
    lookup: AddressLookup = system_lookup,
    ssl_context: ssl.SSLContext | None = None,
    accept: str = "*/*",
    deadline: float | None = None,
) -> Answer:
    """One GET of `url` under `policy` (a redirect is returned, not followed), finished by
    `deadline` (monotonic; `policy.timeout` from now by default)."""
    deadline = time.monotonic() + policy.timeout if deadline is None else deadline
    parts = urlsplit(url)
    host, scheme = parts.hostname or "", parts.scheme
    port = parts.port or (443 if scheme == "https" else 80)
    if parts.username or parts.password:
        raise FetchRefused(f"{url[:200]}: credentials in URLs are refused", "insecure")
    if scheme == "http" and url_origin(url) not in policy.http_origins:
        raise FetchRefused(f"{url[:200]}: fetched over HTTPS only", "insecure")
    if scheme not in ("http", "https"):
        raise FetchRefused(f"{url[:200]}: unsupported scheme", "insecure")
    addresses = _lookup_in_time(lookup, host, port, deadline, policy)
    refused = [a for a in addresses if not is_public_address(a)]
    if not addresses or (refused and not policy.allow_private):
        raise FetchRefused(
            f"{host} resolves to a non-public address ({', '.join(refused[:3]) or 'none'}); "
            "refused",
            "address_refused",
        )
    context = ssl_context or ssl.create_default_context()
    connection = _connect(scheme, host, port, addresses, context, deadline, policy.timeout)
    watchdog = threading.Timer(max(deadline - time.monotonic(), 0), _abort, (connection,))
    watchdog.daemon = True
    watchdog.start()
    try:
        return _exchange(connection, url, policy, accept, deadline)
    except FetchRefused:
        raise
    except (OSError, http.client.HTTPException, ValueError) as error:
        if time.monotonic() >= deadline or isinstance(error, TimeoutError):
            raise FetchRefused(
                f"{url}: no complete answer within {policy.timeout:g} s", "timeout"
            ) from None
        raise FetchRefused(f"{url}: {type(error).__name__}: {error}", "unreachable") from None
    finally:
        watchdog.cancel()
        connection.close()


def _exchange(
    connection: http.client.HTTPConnection,
    url: str,
    policy: FetchPolicy,
    accept: str,
    deadline: float,
) -> Answer:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection.request(
        "GET",
        target,
        headers={"Accept": accept, "Accept-Encoding": "identity", "User-Agent": "lernode"},
    )
    response = connection.getresponse()
    content_type = response.getheader("Content-Type") or ""
    if response.status in REDIRECTS:
        return Answer(response.status, content_type, response.getheader("Location"), b"")
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
    return Answer(response.status, content_type, None, bytes(body))


def _lookup_in_time(
    lookup: AddressLookup, host: str, port: int, deadline: float, policy: FetchPolicy
) -> list[str]:
    future = _DNS.submit(lookup, host, port)
    try:
        return future.result(timeout=max(deadline - time.monotonic(), 0))
    except FutureTimeout:
        future.cancel()
        raise FetchRefused(
            f"{host}: no DNS answer within {policy.timeout:g} s", "timeout"
        ) from None


def _too_large(url: str, policy: FetchPolicy) -> FetchRefused:
    return FetchRefused(f"{url} is larger than {policy.max_bytes} bytes", "too_large")


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
    reason: Reason = "tls_error" if isinstance(last, ssl.SSLError) else "unreachable"
    raise FetchRefused(f"cannot connect to {host}:{port}: {last}", reason)


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
