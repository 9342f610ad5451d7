"""Section 2: bulk issuance end to end, next to the machine's pure signing rate.

End to end = `IssuanceService.issue` (allocate status entries, build, sign, store) in requests of
1,000 credentials, then `AnchoringWorker.drain()` until every credential is `final` (Merkle
batches of 1,000, one `anchor` transaction each, 1 confirmation). The limit it is compared with
is `proofs.sign` alone on the same unsigned documents, in this process (one core, as the node
signs today) and in one process per core (what the machine can do).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.credentials import jcs
from node.credentials.inputs import IssuerProfile
from node.credentials.merkle import credential_hash
from node.credentials.model import build_open_badge
from node.credentials.proofs import Cryptosuite, sign
from node.credentials.status_list import status_list_entry
from node.issuance.service import HELPER_SIGNING

from . import rdfc
from .common import Section, Sizes, Table, Target, fmt
from .nodes import ready_node, sample_inputs
from .postgres import describe, scratch_database

REQUEST_SIZE = 1_000
#: What pyinstrument showed (3,000 JCS credentials end to end; 200 rdfc signatures), so the
#: report says what limits the rate, not only that it is low.
PROFILE_NOTES = [
    "eddsa-rdfc-2022 signing is nearly all `canonical.canonize` of the document (the request's "
    "shared proof configuration is canonicalized once, cached by its JCS form). Since issue 12 "
    "the document is expanded once and pyld's context processing is memoized "
    "(node/credentials/pyld_speed.py); see the RDFC table for before/after on the same "
    "documents. In a bulk request the signing helper process is sent the documents of the "
    "chunks it takes (their JCS text) and canonicalizes them itself, while the request "
    "canonicalizes the chunks it keeps (node/issuance/signer.py): both cores canonicalize, so a "
    "request signs faster than one process's pure signing.",
    "eddsa-jcs-2022: the work besides signing was ORM objects (SQLModel rows and event records, "
    "about a third of the time), JCS itself (three walks of each document: the portability "
    "check, signing, the stored text) and the garbage collector. Since issue 12 each document "
    "is canonicalized once, as members (`jcs.canonical_members`, through orjson): the "
    "portability check reads their text, the signing hashes them joined and the signed "
    "document's JCS (stored and hashed for anchoring) is the same members and the proof's; a "
    "status entry's text is written from the members every entry of its list shares "
    "(`status_list.status_entry_text`), the proof configuration and the signed proof's text "
    "around its value are made once per request; rows, keys and events are three driver-level "
    "statements (executemany on SQLite; on PostgreSQL a text COPY whose lines the node writes, "
    "node/store/copy.py, fed as documents are built and signed), and a credential row has two "
    "secondary index entries, not five (migration 0010); the collector pauses during a "
    "request, and a serving process freezes its startup heap out of the collector "
    "(`lifecycle.settle_startup_heap`: before it, one request in ten paid a ~110 ms full "
    "collection). From 128 credentials the Ed25519 signatures (~37 µs each, half of "
    "`proofs.sign` for jcs) and their base58 proof values (~13 µs) are computed by a helper "
    "process on the other core, 64 messages at a time (RDFC: 32 documents), while the request "
    "builds, checks and hashes the next chunk and seals and hashes the previous one's "
    "documents; a chunk made while the helper has four unanswered (RDFC: two) is signed by the "
    "request itself (node/issuance/signer.py, `Pacing`). With 32 and two for messages too, a "
    "request of 1,000 signed ~300 itself and took 5-9% longer (requests alternating in one "
    "process, PostgreSQL and SQLite). On SQLite a request of 1,000 writes ~1,500 pages, past "
    "`wal_autocheckpoint`: its commit leaves the checkpoint to a background thread "
    "(`Database.bulk_session`; durability unchanged, the commit is in the WAL). What limits "
    "PostgreSQL is both cores' total work, counted per request of 1,000 with the request "
    "thread's clock and the helper's and the server processes' CPU (/proc/PID/stat) on this "
    "machine at a quiet moment (pure jcs signing ~11,000/s, ~90 ms per 1,000): the request's "
    "thread ~130-150 ms, the server ~80 ms (credential rows about half, key rows ~15 ms and "
    "event rows ~12 ms, each row's foreign-key check about half of those), the helper ~40-60 "
    "ms; ~260 ms of CPU on 2 cores, against ~160-175 ms per request. The request waits at its "
    "end for the key rows (~11-16 ms), the event rows (~14-22 ms) and the commit (~7-13 ms). "
    "Writing the key and event rows part by part (100 credentials) while the request makes "
    "the next part, through COPYs queued with libpq's non-blocking calls, removed that wait "
    "but measured 8-12% slower: the server's work then takes the other core from the helper, "
    "which falls behind. Deferring the foreign-key checks to the commit, with the key and "
    "event rows written first, measured 4% faster: not worth a migration. At busy moments of "
    "this shared machine the ratio falls (to ~45%): a request needs both cores, "
    "`proofs.sign` one.",
    "Anchoring (`drain`): batch membership is one executemany and lifecycle events are bulk "
    "inserts. 'Through final' includes waiting for one confirmation block (0.25 s blocks).",
    "Requests are compared with one process's signing rate (the issue's target) and with all "
    "cores (one signing process per core: on this shared machine two do not sign twice as "
    "fast as one; the rates are in the table above).",
]
VERIFICATION_METHOD = "did:ethr:0x7a69:0x" + "ab" * 20 + "#delegate-1"


def _documents(count: int) -> list[dict[str, Any]]:
    """Unsigned OB3 documents shaped like the node's (status entries included)."""
    profile = IssuerProfile(id="did:ethr:0x7a69:0x" + "ab" * 20, name="Bench University")
    docs = []
    for i, item in enumerate(sample_inputs(count)):
        status = [
            status_list_entry("http://127.0.0.1:8000/v1/status-lists/x-0-status", i, "message")
        ]
        docs.append(build_open_badge(item, profile, credential_status=status))
    return docs


#: The signing key of a pool worker process (set once by the pool initializer).
_WORKER: dict[str, Ed25519PrivateKey] = {}


def _init_worker(raw_key: bytes) -> None:
    _WORKER["key"] = Ed25519PrivateKey.from_private_bytes(raw_key)


def _sign_chunk(args: tuple[list[dict[str, Any]], str]) -> int:
    documents, suite = args
    now = datetime.now(UTC)
    for doc in documents:
        sign(doc, _WORKER["key"], VERIFICATION_METHOD, suite, created=now)
    return len(documents)


def _pure_rates(documents: Sequence[dict[str, Any]], suite: Cryptosuite) -> dict[str, float]:
    """Credentials/s of `sign` alone: in this process, and across one process per core."""
    key = Ed25519PrivateKey.generate()
    now = datetime.now(UTC)
    for doc in documents[:5]:  # warm the JSON-LD context cache
        sign(doc, key, VERIFICATION_METHOD, suite, created=now)
    start = time.perf_counter()
    for doc in documents:
        sign(doc, key, VERIFICATION_METHOD, suite, created=now)
    one_core = len(documents) / (time.perf_counter() - start)
    cores = os.cpu_count() or 1
    raw = key.private_bytes_raw()
    chunks = [(list(documents[i :: cores * 4]), suite.value) for i in range(cores * 4)]
    with ProcessPoolExecutor(cores, initializer=_init_worker, initargs=(raw,)) as pool:
        list(pool.map(_sign_chunk, [(list(documents[:5]), suite.value)] * cores))  # warm up
        start = time.perf_counter()
        signed = sum(pool.map(_sign_chunk, chunks))
        all_cores = signed / (time.perf_counter() - start)
    return {"one_core": one_core, "all_cores": all_cores, "cores": cores}


def _breakdown(documents: Sequence[dict[str, Any]], suite: Cryptosuite) -> dict[str, float]:
    """Milliseconds per credential of each step `issue` performs besides signing."""
    from node.credentials.format_check import credential_kind
    from node.issuance.documents import portable_members
    from node.store.sealing import document_context, new_key, seal

    key = Ed25519PrivateKey.generate()
    inputs = sample_inputs(len(documents))
    profile = IssuerProfile(id="did:ethr:0x7a69:0x" + "ab" * 20, name="Bench University")

    def per(fn: Callable[[int], Any]) -> float:
        start = time.perf_counter()
        for i in range(len(documents)):
            fn(i)
        return (time.perf_counter() - start) / len(documents) * 1000

    signed = [sign(d, key, VERIFICATION_METHOD, suite) for d in documents]
    texts = [jcs.canonicalize(d).decode() for d in signed]
    # As a request checks them: before their status entry, whose text is written apart
    # (`status_entry_text`); the entry's `statusSize` is a number, which would send every
    # document through the exact portability walk.
    unlisted = [build_open_badge(item, profile) for item in inputs]
    data_key = new_key()
    return {
        "build_open_badge_ms": per(lambda i: build_open_badge(inputs[i], profile)),
        "sign_ms": per(lambda i: sign(documents[i], key, VERIFICATION_METHOD, suite)),
        "jcs_document_ms": per(lambda i: jcs.canonicalize(signed[i])),
        # What a request does instead: each document's members canonicalized once.
        "portable_members_ms": per(lambda i: portable_members(unlisted[i], i)),
        "credential_hash_ms": per(lambda i: credential_hash(signed[i])),
        "seal_ms": per(lambda i: seal(data_key, texts[i], document_context(signed[i]["id"]))),
        "format_check_ms": per(lambda i: credential_kind(signed[i])),
    }


#: Documents `proofs.sign` signs right before each request of the end-to-end run, so that the
#: request ratio compares rates measured moments apart (on this shared machine the pure rate
#: measured at the start of a run and minutes later differed by up to 1.6x).
PURE_BESIDE_REQUEST = 200


def _end_to_end(
    database_url: str | None,
    count: int,
    suites: Sequence[Cryptosuite],
    documents: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    key = Ed25519PrivateKey.generate()
    with ready_node(database_url) as (node, institution):
        for n, suite in enumerate(suites):
            inputs = sample_inputs(count, offset=n * count)
            # Warm, as a serving node is after its first bulk request: caches filled and the
            # signing helper started (it loads the RDFC canonicalization at its first task).
            warm = sample_inputs(HELPER_SIGNING, offset=10 * count + n * HELPER_SIGNING)
            node.issuance.issue(institution, warm, cryptosuite=suite)
            node.worker.drain(timeout=120)
            requests_s = pure_s = 0.0
            pure_signed = 0
            start = time.perf_counter()
            for first in range(0, count, REQUEST_SIZE):
                pure_s -= time.perf_counter()
                for doc in documents[:PURE_BESIDE_REQUEST]:
                    sign(doc, key, VERIFICATION_METHOD, suite)
                pure_s += time.perf_counter()
                pure_signed += len(documents[:PURE_BESIDE_REQUEST])
                requests_s -= time.perf_counter()
                node.issuance.issue(
                    institution, inputs[first : first + REQUEST_SIZE], cryptosuite=suite
                )
                requests_s += time.perf_counter()
            stored = time.perf_counter()
            node.worker.drain(timeout=1800)
            final = time.perf_counter()
            results[suite.value] = {
                "credentials": count,
                "sign_store_s": requests_s,
                "anchor_final_s": final - stored,
                "total_s": final - start - pure_s,
                "rate_per_s": count / (final - start - pure_s),
                "sign_store_rate_per_s": count / requests_s,
                "pure_signing_beside_requests_per_s": pure_signed / pure_s,
            }
    return results


def run(sizes: Sizes, plots_dir: Path, *, pg_admin_url: str, **_: Any) -> Section:
    section = Section(
        key="issuance",
        title="Bulk issuance",
        method=(
            f"{sizes.issuance:,} OB 3.0 credentials per cryptosuite and database, issued through "
            f"`IssuanceService.issue` in requests of {REQUEST_SIZE:,} on a node from "
            "`bootstrap.prepare` (embedded anvil, 1 confirmation, empty blocks every 0.25 s), then "
            "`AnchoringWorker.drain()` until all are `final`; rate = credentials / wall time from "
            "the first request to the last `final` (less the pure signing timed beside each "
            "request). Pure signing = `proofs.sign` on "
            f"{sizes.signing_sample:,} unsigned documents of the same shape, in one process "
            "and in one process per core (ProcessPoolExecutor, pool start excluded). Both "
            "suites run on the same node one after the other (JCS second), each after one "
            f"request of {HELPER_SIGNING} credentials, as a serving node is warm after its first "
            "bulk request (its signing helper started, caches filled); the first bulk request "
            "of a process also starts the helper (~0.1 s, and ~0.5 s more at its first RDFC task)."
        ),
    )
    suites = (Cryptosuite.EDDSA_RDFC_2022, Cryptosuite.EDDSA_JCS_2022)
    documents = _documents(sizes.signing_sample)
    pure = {s.value: _pure_rates(documents, s) for s in suites}
    breakdown = {s.value: _breakdown(documents[:200], s) for s in suites}
    rdfc.measure(section, documents[:200])
    backends: dict[str, Any] = {}
    backends["sqlite"] = _end_to_end(None, sizes.issuance, suites, documents)
    if describe(pg_admin_url):
        with ExitStack() as stack:
            url = stack.enter_context(scratch_database(pg_admin_url, "issuance"))
            backends["postgresql"] = _end_to_end(url, sizes.issuance, suites, documents)
    else:
        section.notes.append("PostgreSQL unreachable: only SQLite measured.")
    section.figures |= {"pure_signing": pure, "breakdown_ms": breakdown, "end_to_end": backends}

    rows = []
    for backend, by_suite in backends.items():
        for suite in suites:
            r = by_suite[suite.value]
            p = pure[suite.value]
            rows.append(
                [
                    backend,
                    suite.value,
                    f"{r['credentials']:,}",
                    fmt(r["sign_store_s"], 1),
                    fmt(r["anchor_final_s"], 1),
                    fmt(r["total_s"], 1),
                    fmt(r["rate_per_s"], 0),
                    fmt(r["sign_store_rate_per_s"], 0),
                    fmt(r["pure_signing_beside_requests_per_s"], 0),
                    fmt(p["one_core"], 0),
                    fmt(p["all_cores"], 0),
                    f"{r['rate_per_s'] / p['one_core']:.0%} / "
                    f"{r['rate_per_s'] / p['all_cores']:.0%}",
                ]
            )
    section.tables.append(
        Table(
            "End to end (sign + store + anchor + final) vs pure signing",
            [
                "database",
                "cryptosuite",
                "credentials",
                "sign+store s",
                "anchor+final s",
                "total s",
                "credentials/s",
                "requests only, credentials/s",
                "pure signing/s beside the requests",
                "pure signing/s, 1 core",
                f"pure signing/s, {pure[suites[0].value]['cores']} cores",
                "end to end / pure (1 core / all cores)",
            ],
            rows,
        )
    )
    section.tables.append(
        Table(
            "Where one credential's time goes (ms, in-process, 200 credentials)",
            ["cryptosuite", *breakdown[suites[0].value].keys()],
            [[s, *(fmt(v, 3) for v in b.values())] for s, b in breakdown.items()],
        )
    )
    section.notes += PROFILE_NOTES
    _targets(section, sizes, backends, pure)
    section.plots.append(_plot(plots_dir, backends, pure))
    return section


def _targets(
    section: Section, sizes: Sizes, backends: dict[str, Any], pure: dict[str, Any]
) -> None:
    for suite in (Cryptosuite.EDDSA_RDFC_2022.value, Cryptosuite.EDDSA_JCS_2022.value):
        ratios = {b: r[suite]["rate_per_s"] / pure[suite]["all_cores"] for b, r in backends.items()}
        worst = min(ratios.values())
        section.targets.append(
            Target(
                f"bulk issuance {suite}",
                ">= 70% of the pure signing rate (all cores)",
                ", ".join(f"{b} {v:.0%}" for b, v in ratios.items())
                + " (vs 1 core: "
                + ", ".join(
                    f"{b} {r[suite]['rate_per_s'] / pure[suite]['one_core']:.0%}"
                    for b, r in backends.items()
                )
                + ")",
                worst >= 0.7,
            )
        )
    jcs_suite, rdfc = Cryptosuite.EDDSA_JCS_2022.value, Cryptosuite.EDDSA_RDFC_2022.value

    def request_ratio(suite: str) -> dict[str, float]:
        return {
            b: r[suite]["sign_store_rate_per_s"] / r[suite]["pure_signing_beside_requests_per_s"]
            for b, r in backends.items()
        }

    def final_ratio(suite: str) -> dict[str, float]:
        return {
            b: r[suite]["rate_per_s"] / r[suite]["pure_signing_beside_requests_per_s"]
            for b, r in backends.items()
        }

    requests = {suite: request_ratio(suite) for suite in (jcs_suite, rdfc)}
    finals = {suite: final_ratio(suite) for suite in (jcs_suite, rdfc)}
    section.targets.append(
        Target(
            "bulk issuance vs pure signing in one process, jcs / rdfc (requests of 1,000)",
            ">= 50% / >= 90%",
            "; ".join(
                f"{b}: requests {requests[jcs_suite][b]:.0%} / {requests[rdfc][b]:.0%}, "
                f"through final {finals[jcs_suite][b]:.0%} / {finals[rdfc][b]:.0%}"
                for b in backends
            ),
            min(requests[jcs_suite].values()) >= 0.5 and min(requests[rdfc].values()) >= 0.9,
            "Judged on the issuance requests (sign, allocate status entries, three bulk "
            "statements per 1,000: node/issuance/rows.py), which is what a request of 1,000 "
            "costs the caller, against `proofs.sign` in one thread timed on "
            f"{PURE_BESIDE_REQUEST} documents right before each request (the pure rate moves "
            "with the shared machine's load; the table also shows the rates measured at the "
            "section's start). From 128 credentials a request's Ed25519 signatures and their "
            "base58 proof values are computed by a helper process on the other core "
            "(node/issuance/signer.py) while the request "
            "prepares the next ones. 'Through final' adds anchoring and waiting for the "
            "confirmation block, which for jcs takes longer than signing 10,000 credentials "
            "does.",
        )
    )
    totals = {b: r[rdfc]["total_s"] * 10_000 / r[rdfc]["credentials"] for b, r in backends.items()}
    measured = ", ".join(f"{b} {t:.1f} s" for b, t in totals.items())
    section.targets.append(
        Target(
            "10,000 rdfc credentials",
            "<= 30 s on 2 cores",
            measured if not sizes.quick else f"extrapolated from {sizes.issuance}: {measured}",
            None if sizes.quick else max(totals.values()) <= 30,
        )
    )


def _plot(plots_dir: Path, backends: dict[str, Any], pure: dict[str, Any]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    suites = list(pure)
    labels = ["pure signing, 1 core", "pure signing, all cores"] + [
        f"end to end, {b}" for b in backends
    ]
    fig, ax = plt.subplots(figsize=(7.5, 4))
    width = 0.8 / len(labels)
    for k, label in enumerate(labels):
        values = []
        for suite in suites:
            if k == 0:
                values.append(pure[suite]["one_core"])
            elif k == 1:
                values.append(pure[suite]["all_cores"])
            else:
                values.append(backends[list(backends)[k - 2]][suite]["rate_per_s"])
        ax.bar([i + k * width for i in range(len(suites))], values, width, label=label)
    ax.set_xticks([i + width * (len(labels) - 1) / 2 for i in range(len(suites))], suites)
    ax.set_ylabel("credentials / s")
    ax.set_yscale("log")
    ax.set_title("Issuance rate vs the pure signing rate")
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", which="both", alpha=0.3)
    path = plots_dir / "issuance_rate.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name
