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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
    "the proof (~2.5 ms) plus about five sequential JSON-RPC calls through web3 (anchorOf, the "
    "Anchored event, isAccredited, two isStatusSet), each a few ms with web3's ABI handling. "
    "Under 8 concurrent clients in the same Python process the GIL serializes all of it, so "
    "latency is queueing. The node's own status-list bitmap is now read once per block (it was "
    "two 16 KB reads per verification). Next: one JSON-RPC batch (or Multicall) for the chain "
    "reads, and per-block caching of anchor and accreditation facts."
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
        _measure_service(section, node, service, bundles, sizes, plots_dir)
    return section


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
