"""Resolving a did:web the credential names cannot be turned against the verifier's network:
HTTPS to public addresses only (DNS answers included), bounded size and time, no redirects to
other hosts, and the document must be the DID's own. Plain HTTP and loopback are opt-in
(a local test server here)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from node.did.errors import DidWebUnavailable
from node.did.web_fetch import WebDidResolver, WebPolicy, fetch_did_web, is_public_address

LOOPBACK = "127.0.0.1"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1%eth0", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("not-an-ip", False),
    ],
)
def test_only_globally_routable_addresses_count_as_public(address: str, public: bool) -> None:
    assert is_public_address(address) is public


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    attempts: list[Any] = []

    def refuse(address: Any, *args: Any, **kwargs: Any) -> Any:
        attempts.append(address)
        raise AssertionError(f"a connection to {address} was attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


@pytest.mark.parametrize(
    "answers",
    [
        ["10.0.0.5"],
        ["127.0.0.1"],
        ["169.254.169.254"],
        ["::1"],
        ["93.184.216.34", "192.168.0.10"],  # one private answer is enough to refuse
        [],
    ],
)
def test_a_dns_name_resolving_to_a_private_address_is_refused_before_connecting(
    answers: list[str], no_connections: list[Any]
) -> None:
    with pytest.raises(DidWebUnavailable) as refused:
        fetch_did_web("did:web:issuer.example", WebPolicy(), lookup=lambda host, port: answers)
    assert refused.value.code == "did_web_address_refused"
    assert refused.value.extra["error"] == "notFound"
    assert no_connections == []


def test_a_dns_lookup_that_hangs_runs_into_the_same_deadline(no_connections: list[Any]) -> None:
    def hanging(host: str, port: int) -> list[str]:
        time.sleep(2.0)
        return ["93.184.216.34"]

    started = time.monotonic()
    with pytest.raises(DidWebUnavailable) as refused:
        fetch_did_web("did:web:issuer.example", WebPolicy(timeout=0.2), lookup=hanging)
    assert refused.value.code == "did_web_timeout"
    assert time.monotonic() - started < 0.9


def test_plain_http_is_never_used_unless_the_origin_is_configured(
    no_connections: list[Any],
) -> None:
    # A resolver told to allow http for one origin still uses https for every other.
    policy = WebPolicy(http_origins=frozenset({"http://other.example:8080"}))
    with pytest.raises(AssertionError):
        fetch_did_web(
            "did:web:issuer.example%3A8080", policy, lookup=lambda host, port: ["93.184.216.34"]
        )
    assert no_connections == [("93.184.216.34", 8080)]


# -- against a local server (loopback and http explicitly allowed) -------------------------------


class Site:
    """A tiny did:web host: path -> handler behaviour; counts requests."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.server = ThreadingHTTPServer((LOOPBACK, 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.did = f"did:web:localhost%3A{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def document(self, path: str = "") -> dict[str, Any]:
        did = self.did + (":" + path.replace("/", ":") if path else "")
        return {"@context": ["https://www.w3.org/ns/did/v1"], "id": did}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                site.requests.append(self.path)
                route = self.path.removesuffix("/did.json").strip("/")
                if route == ".well-known":
                    self._json(site.document())
                elif route == "big":
                    self._json({**site.document("big"), "padding": "x" * 70_000})
                elif route == "big-chunked":
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    try:
                        for _ in range(20):
                            self.wfile.write(b"1000\r\n" + b"x" * 4096 + b"\r\n")
                        self.wfile.write(b"0\r\n\r\n")
                    except OSError:
                        pass
                elif route == "away":
                    self._redirect("http://elsewhere.example/away/did.json")
                elif route == "moved":
                    self._redirect("/moved-here/did.json")
                elif route == "moved-here":
                    self._json(site.document("moved"))
                elif route == "loop":
                    self._redirect("/loop/did.json")
                elif route == "other":
                    self._json({"id": "did:web:attacker.example"})
                elif route == "list":
                    self._json([site.document("list")])
                elif route == "garbage":
                    self._raw(b"<html>not json</html>")
                elif route == "deep":
                    self._raw(b"[" * 30_000 + b"]" * 30_000)
                elif route == "slow":
                    time.sleep(4)
                    self._json(site.document("slow"))
                elif route == "drip":
                    self.send_response(200)
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    try:
                        for _ in range(100):
                            self.wfile.write(b" ")
                            self.wfile.flush()
                            time.sleep(0.05)
                    except OSError:
                        pass  # the client gave up, as it should
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def _json(self, value: Any) -> None:
                self._raw(json.dumps(value).encode())

            def _raw(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/did+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _redirect(self, location: str) -> None:
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    served = Site()
    served.thread.start()
    yield served
    served.server.shutdown()
    served.server.server_close()


def local_policy(site: Site, **changes: Any) -> WebPolicy:
    values: dict[str, Any] = {
        "allow_private": True,
        "http_origins": frozenset({f"http://localhost:{site.port}"}),
        "timeout": 0.6,
    }
    return WebPolicy(**{**values, **changes})


def fetch(site: Site, path: str = "", **changes: Any) -> dict[str, Any]:
    did = site.did + (":" + path if path else "")
    return fetch_did_web(did, local_policy(site, **changes), lookup=lambda host, port: [LOOPBACK])


def test_an_allowed_local_origin_serves_its_document(site: Site) -> None:
    assert fetch(site) == site.document()
    assert fetch(site, "moved") == site.document("moved")  # a same-origin redirect is followed


def test_loopback_is_refused_unless_explicitly_allowed(site: Site) -> None:
    with pytest.raises(DidWebUnavailable) as refused:
        fetch(site, allow_private=False)
    assert refused.value.code == "did_web_address_refused"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("away", "did_web_redirect_refused"),
        ("loop", "did_web_redirect_refused"),
        ("big", "did_web_too_large"),
        ("big-chunked", "did_web_too_large"),
        ("other", "did_web_id_mismatch"),
        ("list", "did_web_invalid_document"),
        ("garbage", "did_web_invalid_document"),
        ("deep", "did_web_invalid_document"),
        ("missing", "did_web_not_found"),
        ("slow", "did_web_timeout"),
        ("drip", "did_web_timeout"),
    ],
)
def test_unsafe_or_wrong_answers_are_refused_with_their_reason(
    site: Site, path: str, code: str
) -> None:
    started = time.monotonic()
    with pytest.raises(DidWebUnavailable) as refused:
        fetch(site, path)
    assert refused.value.code == code
    if code == "did_web_timeout":  # the servers take 4-5 s; the deadline is 0.6 s in all
        assert time.monotonic() - started < 3


def test_https_is_required_where_http_was_not_allowed(site: Site) -> None:
    with pytest.raises(DidWebUnavailable) as refused:
        fetch(site, http_origins=frozenset())
    assert refused.value.code in ("did_web_tls_error", "did_web_unreachable")


def test_documents_are_cached_for_a_short_while(site: Site) -> None:
    now = [1000.0]
    resolver = WebDidResolver(
        local_policy(site), ttl=30, lookup=lambda host, port: [LOOPBACK], clock=lambda: now[0]
    )
    before = len(site.requests)
    first = resolver.document_at(site.did, None)
    first["tampered"] = True  # callers get copies
    assert resolver.document_at(site.did, 5) == site.document()
    assert len(site.requests) == before + 1
    now[0] += 31
    resolver.document_at(site.did, None)
    assert len(site.requests) == before + 2
