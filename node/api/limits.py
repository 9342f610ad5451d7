"""Request body size limit and per-client rate limits for the public endpoints.

Both protect a node that anyone can reach: a verifier needs no account, so the only defences
against a flood are refusing oversized bodies before they are buffered and metering each client.

- The body limit is ASGI middleware: a declared `Content-Length` above the limit is refused
  before the app runs, and a chunked body is counted as it streams and refused the moment it
  crosses the limit, so the node never holds more than `max_body_bytes` of one request. The
  verification routes (`VERIFY_PATHS`) take up to `max_verify_body_bytes`: a CLR transcript of
  500 achievements, the most the node issues, must be verifiable; their work is bounded by the
  verifier itself (count of credentials, CPU budget).
- The rate limiter is a token bucket per (endpoint group, client address), applied with the
  `rate_limited("verify")` dependency on the routes the API declares public. Clients are keyed
  by the address the ASGI server reports; behind a reverse proxy, run uvicorn with
  `--proxy-headers --forwarded-allow-ips=<proxy>` so that address is the real client's (trusting
  `X-Forwarded-For` here would let any client pick its own bucket). IPv6 clients are keyed by
  their /64, the block one subscriber usually controls.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache

from fastapi import FastAPI, Request
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node.api.inspection import INSPECTOR_SCOPE_KEY, BodyInspector, inspect_request
from node.api.problems import problem_response
from node.api.proxies import ForwardedClientMiddleware
from node.config import Settings
from node.errors import ConfigurationError, LernodeError

#: Buckets kept at most; beyond this the least recently used are forgotten.
MAX_TRACKED_CLIENTS = 50_000
#: Routes that verify what they are sent, and so take the larger verification body limit.
VERIFY_PATHS = frozenset({"/v1/verify", "/verify", "/credentials/verify", "/presentations/verify"})


class RateLimited(LernodeError):
    code = "rate_limited"
    title = "Too many requests"
    status = 429
    retryable = True

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        #: Whole seconds until the next request would be admitted (the `Retry-After` header).
        self.retry_after = retry_after


class PayloadTooLarge(HTTPException):
    """Raised from `receive` when a streamed body crosses the limit.

    An `HTTPException` rather than a `LernodeError` because FastAPI passes HTTP exceptions raised
    while reading the body through unchanged, but turns any other into a generic 400.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class BodyRefused(HTTPException):
    """Raised from `receive` when a body chunk breaks an inspection rule (inspection.py)."""

    def __init__(self, error: LernodeError) -> None:
        super().__init__(error.status, error.detail)
        self.error = error


def install_limits(app: FastAPI, settings: Settings) -> None:
    """Limit every request body to `settings.max_body_bytes` (`max_verify_body_bytes` on the
    verification routes), inspect every request before it is parsed (inspection.py), and meter
    the public endpoints at `settings.verify_rate_limit` requests per minute per client (behind
    `settings.trusted_proxies`, the forwarded client)."""
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        larger={path: settings.max_verify_body_bytes for path in VERIFY_PATHS},
    )
    app.add_middleware(ForwardedClientMiddleware, trusted=settings.trusted_proxy_networks)
    app.state.rate_limiter = RateLimiter(per_minute=settings.verify_rate_limit)


# -- body limit and inspection --------------------------------------------------------------


class BodyLimitMiddleware:
    """Refuse request bodies larger than `max_bytes` with a 413 problem, without buffering them,
    and requests that fail inspection (nesting, NUL) with a 422 problem, before any parse."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = dict(larger or {})

    def limit_for(self, scope: Scope) -> int:
        """The body limit of the route `scope` asks for."""
        return self.larger.get(str(scope.get("path", "")), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, receive, send, limit, bad_length=not declared.isdigit())
            return
        try:
            inspector = inspect_request(scope)
        except LernodeError as error:
            await _problem(scope, error)(scope, receive, send)
            return
        scope[INSPECTOR_SCOPE_KEY] = inspector  # for `body_depth_checked`
        await _LimitedExchange(self, inspector, scope, receive, send).run()

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, limit: int, *, bad_length: bool = False
    ) -> None:
        if bad_length:
            response = problem_response(
                400,
                "invalid_content_length",
                "Content-Length is not a byte count",
                instance=scope["path"],
            )
        else:
            response = problem_response(
                413,
                "payload_too_large",
                f"the request body is larger than {limit} bytes",
                instance=scope["path"],
                title="Payload too large",
                extra={"max_bytes": limit},
            )
        await response(scope, receive, send)


def _problem(scope: Scope, error: LernodeError) -> Response:
    return problem_response(
        error.status, error.code, error.detail, instance=scope["path"], title=error.title,
        extra=error.extra,
    )  # fmt: skip


class _LimitedExchange:
    """One request passing through the limit: counts and inspects body bytes and owns the
    refusal (413 or 422).

    Whatever the app does with the error raised from `receive` (handle it, swallow it, let it
    escape), the client gets the refusal: a different response the app starts afterwards is
    dropped and replaced.
    """

    def __init__(
        self,
        limit: BodyLimitMiddleware,
        inspector: BodyInspector,
        scope: Scope,
        receive: Receive,
        send: Send,
    ):
        self.limit = limit
        self.max_bytes = limit.limit_for(scope)
        self.inspector = inspector
        self.scope = scope
        self.receive = receive
        self.send = send
        self.received = 0
        self.exceeded = False
        self.refusal: LernodeError | None = None
        self.started = False
        self.replaced = False

    @property
    def refused(self) -> bool:
        return self.exceeded or self.refusal is not None

    async def run(self) -> None:
        try:
            await self.limit.app(self.scope, self._receive, self._send)
        except Exception:
            if not self.refused or self.started:
                raise
            await self._replace()

    async def _receive(self) -> Message:
        message = await self.receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            self.received += len(chunk)
            if self.received > self.max_bytes:
                self.exceeded = True
                raise PayloadTooLarge(self.max_bytes)
            try:
                self.inspector.feed(chunk, last=not message.get("more_body", False))
            except LernodeError as error:
                self.refusal = error
                raise BodyRefused(error) from None
        return message

    async def _send(self, message: Message) -> None:
        if self.replaced:
            return
        if self.refused and message["type"] == "http.response.start" and not self.started:
            await self._replace()
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)

    async def _replace(self) -> None:
        self.replaced = True
        self.started = True
        if self.refusal is not None:
            await _problem(self.scope, self.refusal)(self.scope, self.receive, self.send)
        else:
            await self.limit._refuse(self.scope, self.receive, self.send, self.max_bytes)


# -- rate limit -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets per key: `per_minute` requests a minute, bursts up to `per_minute`.

    Thread-safe (one lock; each decision is a few float operations) and bounded: at most
    `max_keys` buckets are kept, least recently used dropped first. Every request, admitted or
    not, makes its bucket the most recent, so a client being throttled keeps its empty bucket
    as long as it keeps asking; a dropped bucket belongs to a client that has been quiet while
    `max_keys` others were not, and has mostly refilled anyway.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        max_keys: int = MAX_TRACKED_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[tuple[str, str], _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def acquire(self, group: str, client: str) -> float:
        """Take one token for `client` in `group`: 0.0 if admitted, else seconds to wait."""
        key = (group, client)
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(self.capacity, now)
                self._evict()
            else:
                self._buckets.move_to_end(key)
                bucket.tokens = min(
                    self.capacity, bucket.tokens + (now - bucket.updated) * self.rate
                )
                bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)

    def _evict(self) -> None:
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)


def client_key(request: Request) -> str:
    """The address a client is metered by (IPv6: its /64 network)."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@cache
def rate_limited(group: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency metering the route per client, shared by every route of `group`.

    Use as `dependencies=[Depends(rate_limited("verify"))]`; raises `RateLimited` (429 +
    Retry-After). One function per group, so FastAPI runs it once per request.
    An app that forgot `install_limits` fails closed (500) rather than serving unmetered.
    """

    async def meter(request: Request) -> None:
        limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
        if limiter is None:
            raise ConfigurationError(
                "rate limiter not installed (call install_limits)", code="rate_limiter_missing"
            )
        wait = limiter.acquire(group, client_key(request))
        if wait > 0:
            raise RateLimited(
                f"too many {group} requests from this client; retry in {math.ceil(wait)} s",
                retry_after=math.ceil(wait),
            )

    meter.__name__ = f"rate_limited_{group}"
    return meter
