"""Who the client is behind a reverse proxy: `X-Forwarded-For` / `Forwarded` from trusted hops only.

Rate limits are keyed by the client's address, so the address must be one a client cannot pick.
The TCP peer is that address unless the peer is a proxy the operator listed in
`LERNODE_TRUSTED_PROXIES`; only then are the forwarding headers read, and only as far as they
were written by trusted hops: the list is walked from the right (the entry the nearest proxy
appended) and the first address that is not itself a trusted proxy is the client. Entries a
client wrote to the left of it are never reached. With no trusted proxy (the default) the
headers are ignored outright, and uvicorn is told not to apply them either
(`proxy_headers=False` in wiring/server.py; its own default trusts loopback).

When a trusted proxy sends both headers and they name different clients, one of them was
passed through from the client unchecked; neither is believed and the proxy's own address
keys the request, so forging either header buys no fresh rate-limit bucket.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ForwardedClientMiddleware:
    """Replace `scope["client"]` by the forwarded client when the peer is a trusted proxy."""

    def __init__(self, app: ASGIApp, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.trusted and scope["type"] in ("http", "websocket") and scope.get("client"):
            client = forwarded_client(scope["client"][0], Headers(scope=scope), self.trusted)
            if client != scope["client"][0]:
                scope["client"] = (client, 0)
        await self.app(scope, receive, send)


def forwarded_client(peer: str, headers: Headers, trusted: Sequence[Network]) -> str:
    """The client address a request stands for (the peer itself unless it is trusted)."""
    if not _is_trusted(peer, trusted):
        return peer
    claims = []
    forwarded_for = headers.getlist("x-forwarded-for")
    if forwarded_for:
        claims.append(_walk([_host(e) for e in _split(forwarded_for)], peer, trusted))
    forwarded = headers.getlist("forwarded")
    if forwarded:
        claims.append(_walk(_forwarded_for(forwarded), peer, trusted))
    if len(set(claims)) != 1:
        return peer
    return claims[0]


def _walk(hops: list[str], peer: str, trusted: Sequence[Network]) -> str:
    """The rightmost hop not a trusted proxy (the leftmost hop if every one is trusted)."""
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in trusted)


def _split(values: list[str]) -> list[str]:
    return [entry.strip() for value in values for entry in value.split(",") if entry.strip()]


def _forwarded_for(values: list[str]) -> list[str]:
    """The `for=` node of each element of RFC 7239 `Forwarded` headers, in order."""
    hops = []
    for element in _split(values):
        node = "unknown"
        for pair in element.split(";"):
            name, _, value = pair.partition("=")
            if name.strip().lower() == "for":
                node = value.strip().strip('"')
        hops.append(_host(node))
    return hops


def _host(node: str) -> str:
    """The address of `1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]:80` or `2001:db8::1`; other
    tokens (`unknown`, `_hidden`) unchanged, so they key a bucket of their own."""
    if node.startswith("["):
        return node[1 : node.find("]")] if "]" in node else node
    if node.count(":") == 1:
        return node.split(":", 1)[0]
    return node
