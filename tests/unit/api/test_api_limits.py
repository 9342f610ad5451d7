"""Oversized bodies are refused before they are buffered; public endpoints are metered."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from starlette.types import Scope

from node.api.limits import RateLimiter, client_key, install_limits, rate_limited
from node.api.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from node.config import Settings

LIMIT = 2048


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_app(tmp_path: Path, *, per_minute: int = 600) -> tuple[FastAPI, list[int]]:
    """An app with the limits installed; returns it and the sizes of the bodies it read."""
    app = FastAPI()
    install_problem_handlers(app)
    install_limits(
        app, Settings(data_dir=tmp_path, max_body_bytes=LIMIT, verify_rate_limit=per_minute)
    )
    read: list[int] = []

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        body = await request.body()
        read.append(len(body))
        return {"size": len(body)}

    @app.post("/json")
    def json_body(payload: dict[str, Any]) -> dict[str, int]:
        read.append(len(payload))
        return {"keys": len(payload)}

    @app.post("/swallow")
    async def swallow(request: Request) -> dict[str, str]:
        try:
            await request.body()
        except Exception:
            return {"outcome": "swallowed"}
        return {"outcome": "read"}

    @app.get("/verify", dependencies=[Depends(rate_limited("verify"))])
    def verify() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/resolve", dependencies=[Depends(rate_limited("resolve"))])
    def resolve() -> dict[str, bool]:
        return {"ok": True}

    return app, read


def chunks(total: int, size: int = 512) -> Iterator[bytes]:
    """A body without Content-Length: httpx sends it chunked."""
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


def assert_too_large(response: Any) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["code"] == "payload_too_large"
    assert response.json()["max_bytes"] == LIMIT


# -- body limit -----------------------------------------------------------------------------


def test_body_at_the_limit_is_accepted(tmp_path: Path) -> None:
    app, read = make_app(tmp_path)
    response = TestClient(app).post("/echo", content=b"x" * LIMIT)
    assert response.json() == {"size": LIMIT}
    assert read == [LIMIT]


def test_declared_oversized_body_is_refused_before_the_app_runs(tmp_path: Path) -> None:
    app, read = make_app(tmp_path)
    assert_too_large(TestClient(app).post("/echo", content=b"x" * (LIMIT + 1)))
    assert read == []


def test_chunked_oversized_body_is_refused_while_streaming(tmp_path: Path) -> None:
    app, read = make_app(tmp_path)
    response = TestClient(app).post("/echo", content=chunks(LIMIT * 50))
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert_too_large(response)
    assert read == []


def test_chunked_oversized_json_body_is_refused_not_reported_as_a_parse_error(
    tmp_path: Path,
) -> None:
    app, read = make_app(tmp_path)
    response = TestClient(app).post(
        "/json", content=chunks(LIMIT * 2), headers={"content-type": "application/json"}
    )
    assert_too_large(response)
    assert read == []


def test_an_app_swallowing_the_error_still_answers_413(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    assert_too_large(TestClient(app).post("/swallow", content=chunks(LIMIT * 2)))


def test_small_chunked_body_passes(tmp_path: Path) -> None:
    app, read = make_app(tmp_path)
    assert TestClient(app).post("/echo", content=chunks(LIMIT)).json() == {"size": LIMIT}
    assert read == [LIMIT]


def test_unparseable_content_length_is_a_bad_request(tmp_path: Path) -> None:
    app, read = make_app(tmp_path)
    response = TestClient(app).post("/echo", content=b"x", headers={"content-length": "1e9"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_content_length"
    assert read == []


# -- rate limit: the bucket -----------------------------------------------------------------


def test_bucket_admits_a_burst_then_refuses_with_the_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, clock=clock)  # 1 token a second, burst 60
    assert all(limiter.acquire("verify", "1.2.3.4") == 0.0 for _ in range(60))
    assert limiter.acquire("verify", "1.2.3.4") == pytest.approx(1.0)
    clock.now += 0.5
    assert limiter.acquire("verify", "1.2.3.4") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.acquire("verify", "1.2.3.4") == 0.0


def test_refused_requests_do_not_consume_tokens() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, clock=clock)
    for _ in range(60):
        limiter.acquire("verify", "a")
    for _ in range(100):
        limiter.acquire("verify", "a")  # hammering while throttled
    clock.now += 1.0
    assert limiter.acquire("verify", "a") == 0.0


def test_bucket_refills_to_capacity_and_no_further() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=6, clock=clock)
    for _ in range(6):
        limiter.acquire("verify", "a")
    clock.now += 3600
    admitted = sum(limiter.acquire("verify", "a") == 0.0 for _ in range(10))
    assert admitted == 6


def test_clients_and_groups_have_separate_buckets() -> None:
    limiter = RateLimiter(per_minute=1, clock=FakeClock())
    assert limiter.acquire("verify", "a") == 0.0
    assert limiter.acquire("verify", "a") > 0
    assert limiter.acquire("verify", "b") == 0.0
    assert limiter.acquire("resolve", "a") == 0.0


def test_memory_is_bounded_however_many_clients_come() -> None:
    limiter = RateLimiter(per_minute=2, max_keys=100, clock=FakeClock())
    for n in range(5000):
        limiter.acquire("verify", f"client-{n}")
    assert len(limiter) == 100


def test_a_throttled_client_that_keeps_asking_is_never_forgotten() -> None:
    limiter = RateLimiter(per_minute=1, max_keys=3, clock=FakeClock())
    limiter.acquire("verify", "abuser")
    for n in range(100):
        assert limiter.acquire("verify", "abuser") > 0
        limiter.acquire("verify", f"passer-by-{n}")
        limiter.acquire("verify", f"other-{n}")


def test_concurrent_acquires_admit_exactly_the_capacity() -> None:
    limiter = RateLimiter(per_minute=500, clock=FakeClock())
    admitted: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(100):
            ok = limiter.acquire("verify", "a") == 0.0
            with lock:
                admitted.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(admitted) == 500


# -- rate limit: the dependency -------------------------------------------------------------


def test_public_endpoint_answers_429_problem_with_retry_after(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, per_minute=3)
    client = TestClient(app)
    assert [client.get("/verify").status_code for _ in range(3)] == [200, 200, 200]
    response = client.get("/verify")
    assert response.status_code == 429
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["code"] == "rate_limited"
    assert response.json()["retryable"] is True
    assert 1 <= int(response.headers["retry-after"]) <= 20
    assert client.get("/resolve").status_code == 200  # another group, another bucket


def test_rate_limited_without_install_limits_fails_closed() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/verify", dependencies=[Depends(rate_limited("verify"))])
    def verify() -> None: ...

    response = TestClient(app).get("/verify")
    assert response.status_code == 500
    assert response.json()["code"] == "rate_limiter_missing"


def request_from(host: str) -> Request:
    scope: Scope = {"type": "http", "client": (host, 1234), "headers": [], "app": None}
    return Request(scope)


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("testclient", "testclient"),
    ],
)
def test_clients_are_keyed_by_address_and_ipv6_by_its_64(host: str, key: str) -> None:
    assert client_key(request_from(host)) == key
