"""A JSON-RPC proxy for the verifier's specifications: counts what a verifier asks the chain, and
can behave like a pruned node (no state older than the latest block) or a broken one.

It forwards every HTTP request to the real chain (anvil) and records, per HTTP request (one
round trip), the JSON-RPC methods it carried (a batch carries several). With `pruned=True`, state
reads at any block other than `latest`/`pending` are refused the way a Besu node with default
pruning refuses them ("missing trie node"). With `broken=True` every request fails with 502.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

#: State reads and the position of their block parameter.
STATE_READS = {
    "eth_call": 1,
    "eth_getBalance": 1,
    "eth_getCode": 1,
    "eth_getStorageAt": 2,
    "eth_getTransactionCount": 1,
    "eth_getProof": 2,
}


@dataclass
class RpcLog:
    """Round trips (HTTP requests) and the JSON-RPC methods each carried."""

    round_trips: list[list[str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.round_trips.clear()
            self.refused.clear()

    @property
    def methods(self) -> list[str]:
        return [m for trip in self.round_trips for m in trip]


class _Handler(BaseHTTPRequestHandler):
    server: _ProxyServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        proxy = self.server
        if proxy.broken:
            self.send_response(502)
            self.end_headers()
            return
        payload = json.loads(body)
        calls = payload if isinstance(payload, list) else [payload]
        with proxy.log.lock:
            proxy.log.round_trips.append([str(c.get("method")) for c in calls])
        refusals = {i: proxy.refusal(call) for i, call in enumerate(calls)}
        forward = [call for i, call in enumerate(calls) if refusals[i] is None]
        upstream: list[Any] = []
        if forward:
            answered = httpx.post(proxy.upstream, json=forward, timeout=30).json()
            upstream = answered if isinstance(answered, list) else [answered]
        by_id = {json.dumps(a.get("id")): a for a in upstream}
        answers = [refusals[i] or by_id[json.dumps(call.get("id"))] for i, call in enumerate(calls)]
        out = json.dumps(answers if isinstance(payload, list) else answers[0]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, *, pruned: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.pruned = pruned
        self.broken = False
        self.log = RpcLog()

    def refusal(self, call: dict[str, Any]) -> dict[str, Any] | None:
        method, params = call.get("method"), call.get("params") or []
        position = STATE_READS.get(str(method))
        if not self.pruned or position is None:
            return None
        tag = params[position] if len(params) > position else "latest"
        if tag in ("latest", "pending"):
            return None
        with self.log.lock:
            self.log.refused.append(f"{method}@{tag}")
        return {
            "jsonrpc": "2.0",
            "id": call.get("id"),
            "error": {"code": -32000, "message": f"missing trie node (state at {tag} pruned)"},
        }


@dataclass
class RpcProxy:
    url: str
    log: RpcLog
    server: _ProxyServer

    def break_(self) -> None:
        self.server.broken = True


@contextmanager
def rpc_proxy(upstream: str, *, pruned: bool = False) -> Iterator[RpcProxy]:
    server = _ProxyServer(upstream, pruned=pruned)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield RpcProxy(f"http://{host!s}:{port}", server.log, server)
    finally:
        server.shutdown()
        server.server_close()
