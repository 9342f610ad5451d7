"""Forwarding headers name the client only when a configured proxy sent them
(`LERNODE_TRUSTED_PROXIES`); otherwise a client could pick its own rate-limit bucket."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.datastructures import Headers

from node.api.limits import install_limits, rate_limited
from node.api.problems import install_problem_handlers
from node.api.proxies import forwarded_client
from node.config import Settings

PROXY = "10.0.0.5"
TRUSTED = Settings(data_dir=Path("."), trusted_proxies="10.0.0.0/24, 2001:db8::1")


def app_with(tmp_path: Path, *, trusted: str = "", per_minute: int = 5) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    settings = Settings(data_dir=tmp_path, verify_rate_limit=per_minute, trusted_proxies=trusted)
    install_limits(app, settings)

    @app.get("/verify", dependencies=[Depends(rate_limited("verify"))])
    def verify(request: Request) -> dict[str, str]:
        assert request.client is not None
        return {"client": request.client.host}

    return app


def admitted(client: TestClient, headers: list[dict[str, str]]) -> int:
    return sum(client.get("/verify", headers=h).status_code == 200 for h in headers)


def spoofed(count: int) -> list[dict[str, str]]:
    return [{"X-Forwarded-For": f"198.51.100.{n}"} for n in range(count)]


def test_spoofed_forwarded_for_is_limited_like_plain_requests_by_default(tmp_path: Path) -> None:
    plain = TestClient(app_with(tmp_path), client=("127.0.0.1", 1000))
    assert admitted(plain, [{}] * 20) == 5
    spoofing = TestClient(app_with(tmp_path), client=("127.0.0.1", 1000))
    assert admitted(spoofing, spoofed(20)) == 5
    forwarded = TestClient(app_with(tmp_path), client=("127.0.0.1", 1000))
    assert admitted(forwarded, [{"Forwarded": f"for=198.51.100.{n}"} for n in range(20)]) == 5


def test_a_spoofed_header_through_an_untrusted_peer_is_ignored(tmp_path: Path) -> None:
    client = TestClient(app_with(tmp_path, trusted=PROXY), client=("203.0.113.9", 1000))
    assert admitted(client, spoofed(20)) == 5
    assert client.get("/verify").status_code == 429


def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(tmp_path: Path) -> None:
    client = TestClient(app_with(tmp_path, trusted="10.0.0.0/24"), client=(PROXY, 1000))
    assert admitted(client, spoofed(20)) == 20
    assert client.get("/verify", headers=spoofed(1)[0]).json() == {"client": "198.51.100.0"}


@pytest.mark.parametrize(
    ("peer", "headers", "client"),
    [
        # Only the hop the trusted proxy appended counts; what the client wrote is left of it.
        (PROXY, {"X-Forwarded-For": "6.6.6.6, 203.0.113.7"}, "203.0.113.7"),
        # A chain of trusted proxies is walked through.
        (PROXY, {"X-Forwarded-For": "203.0.113.7, 10.0.0.9"}, "203.0.113.7"),
        (PROXY, {"Forwarded": 'for="[2001:db8:cafe::17]:4711";proto=https'}, "2001:db8:cafe::17"),
        (PROXY, {"Forwarded": "for=6.6.6.6, for=203.0.113.7:8080"}, "203.0.113.7"),
        (PROXY, {"Forwarded": "for=unknown"}, "unknown"),
        # Both headers naming different clients: one was passed through unchecked.
        (PROXY, {"X-Forwarded-For": "203.0.113.7", "Forwarded": "for=6.6.6.6"}, PROXY),
        (PROXY, {"X-Forwarded-For": "203.0.113.7", "Forwarded": "for=203.0.113.7"}, "203.0.113.7"),
        (PROXY, {}, PROXY),
        ("::ffff:10.0.0.5", {"X-Forwarded-For": "203.0.113.7"}, "203.0.113.7"),
        ("2001:db8::1", {"X-Forwarded-For": "203.0.113.7"}, "203.0.113.7"),
        ("203.0.113.50", {"X-Forwarded-For": "6.6.6.6"}, "203.0.113.50"),
    ],
)
def test_the_client_is_the_rightmost_hop_that_is_not_a_trusted_proxy(
    peer: str, headers: dict[str, str], client: str
) -> None:
    found = forwarded_client(peer, Headers(headers), TRUSTED.trusted_proxy_networks)
    assert found == client


def test_a_malformed_trusted_proxy_setting_is_refused() -> None:
    with pytest.raises(ValidationError, match="not an IP address or CIDR block"):
        Settings(data_dir=Path("."), trusted_proxies="10.0.0.1, proxy.example")
