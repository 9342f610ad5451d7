"""Verification as served: the pure proof check, the whole verification in-process, and HTTP
against the API in worker processes (one per core, what `lernode up` starts), then the load
run (32 verifiers, errors counted, timing not judged).

All rates in one run, side by side, so the ratios the targets name are comparable:
- in-process full verification / pure `proofs.verify` (one thread each);
- HTTP throughput at N clients / (workers x in-process rate): what the processes deliver of
  what the cores could.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from node.credentials.multikey import public_key_from_verification_method
from node.credentials.proofs import get_proof, verify
from node.verification.submission import parse_submission
from node.wiring.runtime import Node

from .common import Section, Sizes, Table, Target, fmt, summary_ms, time_each, time_interleaved
from .workers import LoadResult, Served, cpu_seconds, process_tree, served_by_workers, verify_load

HOW = (
    "The proof check is RDFC canonicalization (pyld's expansion, its context processing "
    "memoized: node/credentials/pyld_speed.py; then the node's own quads and RDFC-1.0 "
    "labelling: node/credentials/rdfc.py) plus one Ed25519 verification; the rest of a "
    "verification "
    "is the issuer key from the DID index, the Merkle path and the chain facts from the event "
    "index (SQL, no JSON-RPC). HTTP adds uvicorn (httptools, uvloop; one listening socket "
    "per worker), the middleware (metrics; the body limit and inspection, whose one depth scan "
    "of the body the route relies on instead of scanning again), FastAPI's routing (the route "
    "sits on the app's own router, metered and its query read by itself), the JSON parse, and "
    "the report, written by orjson in its view's exact bytes."
)


def _pure_verify(node: Node, bundles: list[dict[str, Any]]) -> Callable[[], None]:
    """`proofs.verify` alone, with the issuer key already in hand, round robin."""
    keys = []
    for bundle in bundles:
        proof = get_proof(bundle["credential"])
        created = datetime.fromisoformat(proof["created"].replace("Z", "+00:00"))
        method = node.resolver.resolve_key(proof["verificationMethod"], created).method
        keys.append(public_key_from_verification_method(method))
    counter = iter(range(10**9))

    def one() -> None:
        i = next(counter) % len(bundles)
        verify(bundles[i]["credential"], keys[i])

    return one


def measure(section: Section, node: Node, bundles: list[dict[str, Any]], sizes: Sizes) -> None:
    workers = os.cpu_count() or 1
    counter = iter(range(10**9))

    def full() -> Any:
        return node.verifier.verify(parse_submission(bundles[next(counter) % len(bundles)]))

    pure_samples, full_samples = time_interleaved(
        [_pure_verify(node, bundles), full], sizes.verify_requests
    )
    pure_rate, full_rate = 1 / statistics.mean(pure_samples), 1 / statistics.mean(full_samples)
    in_ratio = full_rate / pure_rate

    node.start_background()  # the supervisor's indexers keep the index at the head
    with served_by_workers(node, workers) as served:
        base = served.base
        one = verify_load(base, bundles, clients=1, requests=min(300, sizes.verify_requests))
        # Every worker meets every bundle before anything is timed: each has its own caches
        # (pyld's processed contexts, DID documents replayed per index state).
        verify_load(
            base, bundles, clients=sizes.verify_concurrency, requests=sizes.verify_requests // 2
        )
        rounds = [_round(served, bundles, sizes, full) for _ in range(sizes.http_rounds)]
        load = verify_load(
            base, bundles, clients=sizes.verify_concurrency, seconds=sizes.load_seconds
        )
    median = sorted(rounds, key=lambda r: r.ratio(workers))[len(rounds) // 2]
    many, cpu, beside_rate = median.run, median.cpu, median.in_process_rate
    one_ms, many_ms = summary_ms(one.latencies_s), summary_ms(many.latencies_s)
    http_ratio = median.ratio(workers)
    tail = many_ms["p95_ms"] / many_ms["p50_ms"]
    section.figures["service"] = {
        "workers": workers,
        "pure_proof_verify": {**summary_ms(pure_samples), "throughput_per_s": pure_rate},
        "in_process": {**summary_ms(full_samples), "throughput_per_s": full_rate},
        "in_process_vs_pure": in_ratio,
        "http_1_client": {**one_ms, "throughput_per_s": one.rate, "errors": one.errors},
        "http_many_clients": {
            **many_ms,
            "clients": sizes.verify_concurrency,
            "throughput_per_s": many.rate,
            "errors": many.errors,
            "vs_workers_x_in_process": http_ratio,
            "in_process_beside_per_s": beside_rate,
            "p95_over_p50": tail,
            "cpu_ms_per_request": cpu,
            "rounds": [
                {
                    "throughput_per_s": r.run.rate,
                    "in_process_beside_per_s": r.in_process_rate,
                    "vs_workers_x_in_process": r.ratio(workers),
                    "errors": r.run.errors,
                    "worker_cpu_ms_per_request": r.cpu["workers"],
                }
                for r in rounds
            ],
        },
        "load": {
            "clients": sizes.verify_concurrency,
            "seconds": load.wall_s,
            "requests": load.requests,
            "errors": load.errors,
            "statuses": {str(k): v for k, v in load.statuses.items()},
            "verdicts": dict(load.verdicts),
            "throughput_per_s": load.rate,
            **summary_ms(load.latencies_s),
        },
    }
    section.tables.append(
        Table(
            f"Verification: proof alone, in-process, HTTP on {workers} worker processes",
            ["path", "p50 ms", "p95 ms", "p99 ms", "verifications/s", "errors"],
            [
                [
                    "`proofs.verify` only (1 thread)",
                    fmt(statistics.median(pure_samples) * 1000),
                    "",
                    "",
                    fmt(pure_rate, 0),
                    "",
                ],
                [
                    "full verification in-process (1 thread)",
                    fmt(statistics.median(full_samples) * 1000),
                    "",
                    "",
                    fmt(full_rate, 0),
                    "",
                ],
                [
                    "HTTP, 1 client",
                    fmt(one_ms["p50_ms"]),
                    fmt(one_ms["p95_ms"]),
                    fmt(one_ms["p99_ms"]),
                    fmt(one.rate, 0),
                    str(one.errors),
                ],
                [
                    f"HTTP, {sizes.verify_concurrency} clients",
                    fmt(many_ms["p50_ms"]),
                    fmt(many_ms["p95_ms"]),
                    fmt(many_ms["p99_ms"]),
                    fmt(many.rate, 0),
                    str(many.errors),
                ],
                [
                    f"load: {sizes.verify_concurrency} clients for {load.wall_s:.0f} s "
                    f"({load.requests:,} requests)",
                    fmt(summary_ms(load.latencies_s)["p50_ms"]),
                    fmt(summary_ms(load.latencies_s)["p95_ms"]),
                    "",
                    fmt(load.rate, 0),
                    str(load.errors),
                ],
            ],
        )
    )
    if load.errors or many.errors or one.errors:
        section.notes.append(f"HTTP errors: {load.failures or many.failures or one.failures}")
    section.targets += [
        Target(
            "in-process full verification vs pure `proofs.verify` rate",
            ">= 70%",
            f"{in_ratio:.0%} ({full_rate:.0f}/s vs {pure_rate:.0f}/s)",
            in_ratio >= 0.7,
            HOW,
        ),
        Target(
            "HTTP verify, 1 client, p50",
            "<= 10 ms",
            f"{one_ms['p50_ms']:.1f} ms",
            one_ms["p50_ms"] <= 10,
            "One request is the in-process verification plus FastAPI parsing and the JSON "
            "report; the in-process part is bounded below by the proof (RDFC, pyld).",
        ),
        Target(
            f"HTTP verify throughput, {sizes.verify_concurrency} clients, vs "
            f"({workers} workers x in-process rate); p95 <= 10x p50",
            ">= 70%, p95 <= 10x p50",
            f"{http_ratio:.0%} ({many.rate:.0f}/s vs {workers} x {beside_rate:.0f}/s; median "
            f"of {len(rounds)} rounds: "
            + ", ".join(f"{r.ratio(workers):.0%}" for r in rounds)
            + f"); p95 = {tail:.1f}x p50",
            http_ratio >= 0.7 and tail <= 10,
            _cpu_note(cpu, 1000 / beside_rate, workers, many.rate, node),
        ),
        Target(
            f"load: {sizes.verify_concurrency} verifiers for {sizes.load_seconds:.0f} s, "
            f"{workers} workers",
            "0 errors",
            f"{load.errors} errors in {load.requests:,} requests",
            load.errors == 0,
        ),
    ]


#: In-process verifications timed right before and right after each round, while the workers
#: are idle: the rate the round is compared with comes from the same minutes as the round.
BESIDE = 150


@dataclass(frozen=True)
class _Round:
    run: LoadResult
    cpu: dict[str, float]
    in_process_rate: float

    def ratio(self, workers: int) -> float:
        return self.run.rate / (workers * self.in_process_rate)


def _round(
    served: Served, bundles: list[dict[str, Any]], sizes: Sizes, full: Callable[[], Any]
) -> _Round:
    """One timed run of the concurrent clients, between two in-process timings."""
    beside = time_each(full, BESIDE)
    before = _cpu_by_part(served)
    run = verify_load(
        served.base, bundles, clients=sizes.verify_concurrency, requests=sizes.verify_requests
    )
    cpu = _cpu_per_request(before, _cpu_by_part(served), run)
    beside += time_each(full, BESIDE)
    return _Round(run, cpu, 1 / statistics.mean(beside))


def _cpu_by_part(served: Served) -> dict[str, float]:
    """CPU seconds so far of the worker processes and of the node's own side (this process:
    its indexers and anchoring worker; and the embedded anvil)."""
    workers = set(process_tree(served.supervisor))
    own = [pid for pid in process_tree(os.getpid()) if pid not in workers]
    return {"workers": cpu_seconds(workers), "node": cpu_seconds(own)}


def _cpu_per_request(
    before: dict[str, float], after: dict[str, float], run: LoadResult
) -> dict[str, float]:
    """Where the machine's CPU went per request of one load run, in milliseconds."""
    per = {part: (after[part] - before[part]) / run.requests * 1000 for part in after}
    per["load_client"] = run.client_cpu_s / run.requests * 1000
    per["total"] = sum(per.values())
    return per


def _cpu_note(
    cpu: dict[str, float], verification_ms: float, cores: int, rate: float, node: Node
) -> str:
    """The throughput explained by where the CPU went (counted from /proc and the client)."""
    polls = " and ".join(f"{1 / i.poll_interval:g}" for i in (node.indexer, node.registry_indexer))
    checks = 1 / node.worker.config.idle_poll
    ceiling = cores * 1000 / cpu["total"]
    return (
        f"Counted per request of this run: the worker processes used {cpu['workers']:.2f} ms of "
        f"CPU, of which the verification itself is {verification_ms:.2f} ms (the in-process "
        f"figure) and the rest uvicorn, the middleware, FastAPI, the JSON parse and the report "
        f"({cpu['workers'] - verification_ms:.2f} ms); the load client (raw sockets, "
        f"scripts/js/verify_load.mjs) {cpu['load_client']:.2f} ms and the node's own processes "
        f"{cpu['node']:.2f} ms share the same {cores} cores. The node's part is fixed per "
        f"second, not per request: its two indexers poll the chain {polls} times a second, "
        f"the anchoring worker looks for work {checks:g} times a second (one read when "
        f"there is none), and anvil seals empty blocks. {cpu['total']:.2f} ms per request "
        f"caps this machine at {ceiling:.0f}/s; the run reached {rate:.0f}/s "
        f"({rate / ceiling:.0%} of that)."
    )
