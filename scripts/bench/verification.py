"""Section 3: verification through the HTTP API under concurrency, next to in-process.

The verification service (node/services/verification.py, `POST /v1/verify`) belongs to another
engineer and may not exist yet in the tree this runs on. When it exists, the same bundles
`{credential, receipt}` are verified in-process through the service and over HTTP (uvicorn in
this process, keep-alive clients in threads). When it does not, the section says so and measures
what exists: the building blocks a verification is made of (Data Integrity proof, issuer key from
the indexed DID, Merkle inclusion, `anchorOf`, `isStatusSet`), in-process.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from node.chain.anvil import free_port
from node.chain.contracts.types import StatusPurpose
from node.credentials.merkle import credential_hash, leaf, verify_proof
from node.credentials.multikey import public_key_from_verification_method
from node.credentials.proofs import get_proof, verify
from node.wiring.runtime import Node

from .common import Section, Sizes, Table, Target, fmt, summary_ms, time_each
from .nodes import ready_node, sample_inputs

VERIFY_PATH = "/v1/verify"
#: What profiling showed (cProfile over 20 verifications of one bundle).
LIMITS = (
    "One verification is CPU- and round-trip-bound: RDFC canonicalization of the credential for "
    "the proof (~2.5 ms); the chain facts come from the node's event index (no JSON-RPC call, "
    "see the JSON-RPC table) and a few SQL queries. "
    "Under 8 concurrent clients in the same Python process the GIL serializes all of it, so "
    "latency is queueing. The node's own status-list bitmap is now read once per block (it was "
    "two 16 KB reads per verification); it is no longer re-read to compare with chain bits."
)
CREDENTIALS = 50


def _in_process_call(service: Any) -> Callable[[dict[str, Any]], Any]:
    """What the route does minus HTTP: parse the body into a `Submission`, then `verify`."""
    from node.verification.submission import parse_submission

    return lambda bundle: service.verify(parse_submission(bundle))


def _building_blocks(node: Node) -> Callable[[dict[str, Any]], None]:
    registry = node.contracts.credential_registry

    def check(bundle: dict[str, Any]) -> None:
        credential, receipt = bundle["credential"], bundle["receipt"]
        proof = get_proof(credential)
        created = datetime.fromisoformat(proof["created"].replace("Z", "+00:00"))
        key = node.resolver.resolve_key(proof["verificationMethod"], created)
        verify(credential, public_key_from_verification_method(key.method))
        hashed = credential_hash(credential)
        proof_path = [bytes.fromhex(p[2:]) for p in receipt["proof"]]
        root = bytes.fromhex(receipt["root"][2:])
        assert verify_proof(root, proof_path, leaf(hashed))
        assert registry.anchor_of(receipt["issuer"], root) is not None
        index = int(credential["credentialStatus"]["statusListIndex"])
        registry.is_status_set(receipt["issuer"], 0, StatusPurpose.REVOCATION, index)

    return check


def run(sizes: Sizes, plots_dir: Path, **_: Any) -> Section:
    section = Section(
        key="verification",
        title="Verification",
        method=(
            f"{CREDENTIALS} eddsa-rdfc-2022 credentials issued and anchored (final) on a node from "
            "`bootstrap.prepare`; their bundles `{credential, receipt}` are verified round-robin. "
            f"In-process: sequential calls ({sizes.verify_requests} timed). HTTP: uvicorn serving "
            f"`create_app(node)` in this process, {sizes.verify_concurrency} client threads with "
            f"keep-alive connections, {sizes.verify_requests} `POST {VERIFY_PATH}` requests; "
            "throughput = requests / wall time. Rate limiting is raised out of the way."
        ),
    )
    with ready_node(verify_rate_limit=10**9) as (node, institution):
        node.issuance.issue(institution, sample_inputs(CREDENTIALS))
        node.worker.drain(timeout=120)
        while node.indexer.poll_once():  # the issuer's key publication, for resolve_key
            pass
        with node.db.session() as session:
            from sqlmodel import select

            from node.store.models import Credential

            records = list(session.exec(select(Credential)).all())
        bundles = [node.issuance.bundle(r) for r in records]
        service = node.verifier
        counter = iter(range(10**9))

        def pick() -> dict[str, Any]:
            return bundles[next(counter) % len(bundles)]

        blocks = _building_blocks(node)
        block_samples = time_each(lambda: blocks(pick()), sizes.verify_requests)
        section.figures["building_blocks_in_process"] = {
            **summary_ms(block_samples),
            "throughput_per_s": len(block_samples) / sum(block_samples),
        }
        section.tables.append(
            Table(
                "In-process building blocks (proof + DID key + Merkle + anchorOf + isStatusSet)",
                ["p50 ms", "p95 ms", "p99 ms", "verifications/s (1 thread)"],
                [
                    [
                        fmt(section.figures["building_blocks_in_process"]["p50_ms"]),
                        fmt(section.figures["building_blocks_in_process"]["p95_ms"]),
                        fmt(section.figures["building_blocks_in_process"]["p99_ms"]),
                        fmt(section.figures["building_blocks_in_process"]["throughput_per_s"], 0),
                    ]
                ],
            )
        )
        _count_json_rpc(section, node, bundles)
        _measure_service(section, node, service, bundles, sizes, plots_dir)
    return section


@contextmanager
def _counting_provider() -> Iterator[list[int]]:
    """Count JSON-RPC round trips (HTTP requests, a batch is one) and calls of every web3
    HTTPProvider in this process: [round trips, calls]."""
    from web3 import HTTPProvider

    counts = [0, 0]
    single, batch = HTTPProvider.make_request, HTTPProvider.make_batch_request

    def make_request(self: Any, method: Any, params: Any) -> Any:
        counts[0] += 1
        counts[1] += 1
        return single(self, method, params)

    def make_batch_request(self: Any, requests: Any) -> Any:
        counts[0] += 1
        counts[1] += len(requests)
        return batch(self, requests)

    HTTPProvider.make_request = make_request  # type: ignore[method-assign]
    HTTPProvider.make_batch_request = make_batch_request  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        HTTPProvider.make_request = single  # type: ignore[method-assign]
        HTTPProvider.make_batch_request = batch  # type: ignore[method-assign]


def _count_json_rpc(section: Section, node: Node, bundles: list[dict[str, Any]]) -> None:
    """JSON-RPC per verification, counted: the node at the chain head (its event index), and
    `lernode verify --rpc` (in-process `run_verify`, a fresh chain client each time)."""
    import io
    import json
    import tempfile

    from node.cli.verify import run_verify
    from node.verification.submission import parse_submission

    node.indexer.poll_once()
    node.registry_indexer.poll_once()
    sample = bundles[: min(20, len(bundles))]
    with _counting_provider() as counts:
        for bundle in sample:
            node.verifier.verify(parse_submission(bundle))
    node_trips, node_calls = counts[0] / len(sample), counts[1] / len(sample)
    cli: list[tuple[int, int]] = []
    with tempfile.TemporaryDirectory() as directory:
        for number, bundle in enumerate(sample[:5]):
            path = Path(directory) / f"bundle-{number}.json"
            path.write_text(json.dumps(bundle))
            with _counting_provider() as counts:
                code = run_verify(
                    path,
                    node.chain.rpc_url,
                    node.deployment.credential_registry,
                    out=io.StringIO(),
                )
            assert code == 0, "the CLI did not verify a valid bundle"
            cli.append((counts[0], counts[1]))
    cli_trips = max(trips for trips, _ in cli)
    cli_calls = max(calls for _, calls in cli)
    section.figures["json_rpc_per_verification"] = {
        "node_round_trips": node_trips,
        "node_calls": node_calls,
        "cli_round_trips": cli_trips,
        "cli_calls": cli_calls,
    }
    section.tables.append(
        Table(
            "JSON-RPC per verification (counted through a counting provider)",
            ["verifier", "round trips", "JSON-RPC calls"],
            [
                ["node at the chain head (event index)", fmt(node_trips), fmt(node_calls)],
                ["lernode verify --rpc (most over 5 bundles)", str(cli_trips), str(cli_calls)],
            ],
        )
    )
    section.targets.append(
        Target(
            "JSON-RPC round trips per verification, node / CLI",
            "0 / <= 2",
            f"{node_trips:g} / {cli_trips}",
            node_trips == 0 and cli_trips <= 2,
            "The node answers from its event index (anchors, issuer histories, status words, DID "
            "changes) as of the block its cursor names; the CLI reads all state with one eth_call "
            "of the VerificationLens and the logs with one eth_getLogs batch.",
        )
    )


def _measure_service(
    section: Section,
    node: Node,
    service: Any,
    bundles: list[dict[str, Any]],
    sizes: Sizes,
    plots_dir: Path,
) -> None:
    import httpx
    import uvicorn

    from node.api.app import create_app

    call = _in_process_call(service)
    counter = iter(range(10**9))
    in_process = time_each(
        lambda: call(bundles[next(counter) % len(bundles)]), sizes.verify_requests
    )
    in_rate = len(in_process) / sum(in_process)

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(node), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    try:
        local = threading.local()

        def request(i: int) -> tuple[float, int]:
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx.Client(base_url=base, timeout=60)
            start = time.perf_counter()
            reply = client.post(VERIFY_PATH, json=bundles[i % len(bundles)])
            return time.perf_counter() - start, reply.status_code

        with ThreadPoolExecutor(sizes.verify_concurrency) as pool:
            list(pool.map(request, range(sizes.verify_concurrency * 4)))  # warm connections
            start = time.perf_counter()
            results = list(pool.map(request, range(sizes.verify_requests)))
            wall = time.perf_counter() - start
    finally:
        server.should_exit = True
        thread.join(10)
    latencies = [r[0] for r in results]
    statuses = sorted({r[1] for r in results})
    http_rate = len(results) / wall
    section.figures["service"] = {
        "in_process": {**summary_ms(in_process), "throughput_per_s": in_rate},
        "http": {
            **summary_ms(latencies),
            "throughput_per_s": http_rate,
            "concurrency": sizes.verify_concurrency,
            "status_codes": statuses,
        },
        "http_vs_in_process": http_rate / in_rate,
    }
    http = section.figures["service"]["http"]
    section.tables.append(
        Table(
            "Verification service: in-process vs HTTP",
            ["path", "p50 ms", "p95 ms", "p99 ms", "verifications/s"],
            [
                [
                    "in-process (1 thread)",
                    fmt(statistics.median(in_process) * 1000),
                    "",
                    "",
                    fmt(in_rate, 0),
                ],
                [
                    f"HTTP ({sizes.verify_concurrency} clients)",
                    fmt(http["p50_ms"]),
                    fmt(http["p95_ms"]),
                    fmt(http["p99_ms"]),
                    fmt(http_rate, 0),
                ],
            ],
        )
    )
    if statuses != [200]:
        section.notes.append(f"HTTP status codes seen: {statuses} (expected only 200).")
    ratio = http_rate / in_rate
    section.targets += [
        Target(
            "verification over HTTP p50",
            "<= 10 ms",
            f"{http['p50_ms']:.1f} ms",
            http["p50_ms"] <= 10,
            LIMITS,
        ),
        Target("HTTP throughput vs in-process", ">= 70%", f"{ratio:.0%}", ratio >= 0.7, LIMITS),
    ]
    del plots_dir
