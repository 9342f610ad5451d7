"""Section 3: verification, counted and timed side by side in one run.

JSON-RPC calls per verification are counted through a counting provider (the node at the chain
head and `lernode verify --rpc`); the building blocks of a verification and the proof alone are
timed in-process; the API is served by one worker process per core (`lernode up`'s default,
node/wiring/workers.py) and driven by 1 and 32 keep-alive clients, then loaded for a minute
(verify_http.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from node.chain.contracts.types import StatusPurpose
from node.credentials.merkle import credential_hash, leaf, verify_proof
from node.credentials.multikey import public_key_from_verification_method
from node.credentials.proofs import get_proof, verify
from node.wiring.runtime import Node

from . import verify_http
from .common import Section, Sizes, Table, Target, fmt, summary_ms, time_each
from .nodes import ready_node, sample_inputs

CREDENTIALS = 50


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
            f"In-process: sequential calls ({sizes.verify_requests:,} timed each): the building "
            "blocks; then `proofs.verify` alone and `Verifier.verify` (what the route calls) in "
            "alternating blocks of 50 with the bench's own objects frozen out of the garbage "
            "collector, so their ratio comes from the same stretch of time. HTTP: "
            "one uvicorn worker process per core serving `node.wiring.workers:worker_app` (what "
            "`lernode up` starts), attached to the bench's node, which runs the anchoring worker "
            f"and indexers; 1 client for {min(300, sizes.verify_requests)} requests, then "
            f"{sizes.verify_concurrency} concurrent clients (keep-alive connections; "
            "scripts/js/verify_load.mjs writes each request, built once, to a raw socket and "
            "reads the answer with a minimal HTTP/1.1 parser, every verdict parsed and checked, "
            "so the load generator takes little of the machine): "
            f"{sizes.verify_requests // 2:,} untimed requests so every worker has met every "
            f"bundle, then {sizes.http_rounds} timed round(s) of "
            f"{sizes.verify_requests:,} `POST /v1/verify` requests, each between two in-process "
            f"timings of {verify_http.BESIDE} verifications (workers idle) that give the rate "
            "the round is compared with (the target is judged on the median round), and a load "
            f"run of {sizes.load_seconds:.0f} s; throughput = requests / wall time. An error is "
            "any answer but a 200 with verdict `valid`. Rate limiting is raised out of the way."
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
        # The indexers confirm the head again (in a deployment they run all along), so the
        # in-process timing meets a current index, not the chain fallback of a stale one.
        node.indexer.poll_once()
        node.registry_indexer.poll_once()
        verify_http.measure(section, node, bundles, sizes)
    section.notes += _explain(section.figures)
    return section


def _http_cost(one: dict[str, Any], full: dict[str, Any]) -> str:
    extra = one["p50_ms"] - full["p50_ms"]
    if extra >= 0:
        return (
            f"({extra:.1f} ms above in-process: uvicorn, the middleware, FastAPI, the JSON "
            "parse and report, loopback)"
        )
    return (
        f"(below the in-process p50 of {full['p50_ms']:.1f} ms, which was measured earlier in "
        "this run; the machine is shared, so the load of two moments can differ by more than "
        "what HTTP costs)"
    )


def _explain(figures: dict[str, Any]) -> list[str]:
    """The figures in words, from the counts and timings of this run."""
    rpc, service = figures["json_rpc_per_verification"], figures["service"]
    pure, full = service["pure_proof_verify"], service["in_process"]
    one, many, load = service["http_1_client"], service["http_many_clients"], service["load"]
    return [
        f"Counted over 20 verifications at the chain head: {rpc['node_calls']:g} JSON-RPC calls "
        f"in {rpc['node_round_trips']:g} round trips and {rpc['node_sql_statements']:.1f} SQL "
        "statements per verification (each BEGIN counted), all answered from the node's event "
        "index; verifications at the same indexer cursors share their reads (only the first "
        "at a block reads anchors, status words and histories; the others read the cursors). "
        f"`lernode verify --rpc` needs {rpc['cli_round_trips']} round trips "
        f"({rpc['cli_calls']} calls): one VerificationLens eth_call and one eth_getLogs batch.",
        f"The proof alone (`proofs.verify`: RDFC canonicalization and one Ed25519 check) takes "
        f"p50 {pure['p50_ms']:.1f} ms; a whole verification in-process p50 {full['p50_ms']:.1f} "
        f"ms, so the proof is {pure['p50_ms'] / full['p50_ms']:.0%} of it. The rest: one "
        "driver-level read of where the indexers stand (node/store/cursors.py; what the rows "
        "say is worked out again only when they changed, their age on every call), the JCS "
        "credential hash (orjson) and its Merkle path (keccak), the issuer's key from a DID "
        "document replayed once per index state, the registry entry kept per cursor position, "
        "the other checks and the report; the thread's CPU clock (a system call) is read three "
        "times for a credential (at the start, after the preparation, before its checks), for "
        "the verification's budget.",
        f"Over HTTP, one client waits p50 {one['p50_ms']:.1f} ms {_http_cost(one, full)}. "
        f"{many['clients']} clients on {service['workers']} worker "
        f"processes get {many['throughput_per_s']:.0f}/s, {many['vs_workers_x_in_process']:.0%} "
        f"of {service['workers']} x the one-thread in-process rate timed beside it "
        f"({many['in_process_beside_per_s']:.0f}/s; the median of "
        f"{len(many['rounds'])} rounds); latency is queueing "
        f"(p50 {many['p50_ms']:.0f} ms, p95 {many['p95_ms']:.0f} ms). Load run: "
        f"{load['requests']:,} verifications in {load['seconds']:.0f} s from {load['clients']} "
        f"clients, {load['errors']} errors.",
    ]


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
    statements = [0]

    def count_sql(*_: Any) -> None:
        statements[0] += 1

    event.listen(node.db.engine, "before_cursor_execute", count_sql)
    try:
        with _counting_provider() as counts:
            for bundle in sample:
                node.verifier.verify(parse_submission(bundle))
    finally:
        event.remove(node.db.engine, "before_cursor_execute", count_sql)
    node_trips, node_calls = counts[0] / len(sample), counts[1] / len(sample)
    node_sql = statements[0] / len(sample)
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
        "node_sql_statements": node_sql,
    }
    section.tables.append(
        Table(
            "JSON-RPC per verification (counted through a counting provider; SQL statements "
            "counted on the engine, each BEGIN included)",
            ["verifier", "round trips", "JSON-RPC calls", "SQL statements"],
            [
                [
                    "node at the chain head (event index)",
                    fmt(node_trips),
                    fmt(node_calls),
                    fmt(node_sql, 1),
                ],
                ["lernode verify --rpc (most over 5 bundles)", str(cli_trips), str(cli_calls), "0"],
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
