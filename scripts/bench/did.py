"""Section 4: did:ethr resolution latency for DIDs with 1, 10 and 100 changes.

Three resolvers of the same DIDs on the same chain:
- ours: `node.resolver` (the indexer's rows, one indexed query + the pure replay);
- our chain walk: `did_history.fetch_did_history` + `did.document.build_document` (what a
  verifier with nothing but an RPC URL does; one `eth_getLogs` per changed block);
- the reference: `ethr-did-resolver` in Node.js (scripts/js/time_ethr_resolution.mjs), which
  walks the chain the same way.
Each change is its own transaction in its own block (the worst case for walking, and the usual
case: key rotations happen days apart).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from functools import partial
from pathlib import Path
from typing import Any

from node.chain.anvil import REPO_ROOT, dev_accounts
from node.did.attributes import ED25519_ASSERTION_KEY, encode_bytes32
from node.did.chain_history import fetch_did_history
from node.did.document import build_document
from node.did.identifier import parse_ethr_did

from .common import Section, Sizes, Table, Target, fmt, summary_ms, time_each
from .nodes import ready_node

SCRIPT = REPO_ROOT / "scripts/js/time_ethr_resolution.mjs"
YEAR = 365 * 86_400


def _write_changes(node: Any, identity: str, changes: int) -> None:
    """`changes` registry events for `identity`: Ed25519 key additions and revocations in turn
    (a rotation history), each in its own block."""
    registry = node.contracts.did_registry
    w3 = node.chain.w3
    name = encode_bytes32(ED25519_ASSERTION_KEY)
    for k in range(changes):
        key = (k // 2).to_bytes(32, "big")
        if k % 2 == 0:
            call = registry.set_attribute(identity, name, key, YEAR)
        else:
            call = registry.revoke_attribute(identity, name, key)
        tx = call.transact({"from": identity, "gas": 200_000})
        receipt = w3.eth.wait_for_transaction_receipt(tx)
        assert receipt["status"] == 1


def _reference(node: Any, dids: list[str], iterations: int) -> dict[str, Any] | None:
    node_bin = shutil.which("node")
    if node_bin is None:
        return None
    request = {
        "rpcUrl": node.chain.rpc_url,
        "chainId": node.deployment.chain_id,
        "registry": node.deployment.did_registry,
        "dids": dids,
        "iterations": iterations,
        "warmup": 2,
    }
    done = subprocess.run(
        [node_bin, str(SCRIPT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
        cwd=REPO_ROOT,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run(sizes: Sizes, plots_dir: Path, **_: Any) -> Section:
    section = Section(
        key="did_resolution",
        title="DID resolution",
        method=(
            "A node from `bootstrap.prepare` (embedded anvil, blocks only on transactions, "
            "SQLite). For each of 1, 10 and 100 changes a fresh identity gets that many "
            "ERC-1056 events (Ed25519 key added / revoked in turn), each in its own block; the "
            "indexer then catches up. Timed: `node.resolver.resolve(did)` "
            f"({sizes.did_repeats} runs), our chain walk `fetch_did_history` + `build_document` "
            f"({sizes.walk_repeats} runs) and ethr-did-resolver 11.1.3 in one Node.js process "
            f"({sizes.reference_repeats} runs, start-up excluded), all sequential, median / p95."
        ),
    )
    figures: dict[str, Any] = {}
    with ready_node(block_time=0, confirmations=0) as (node, _institution):
        accounts = [a.address for a in dev_accounts(10)]
        dids: dict[int, str] = {}
        for slot, changes in enumerate(sizes.did_changes):
            identity = accounts[5 + slot]
            _write_changes(node, identity, changes)
            dids[changes] = f"did:ethr:{hex(node.deployment.chain_id)}:{identity.lower()}"
        while node.indexer.poll_once():
            pass
        reference = _reference(node, list(dids.values()), sizes.reference_repeats)
        for changes, did in dids.items():
            parsed = parse_ethr_did(did)
            ours_doc = node.resolver.resolve(did).as_json()
            ours = time_each(partial(node.resolver.resolve, did), sizes.did_repeats)

            def walk(p: Any = parsed) -> Any:
                history = fetch_did_history(node.chain, node.contracts.did_registry, p.address)
                return build_document(
                    p, node.deployment.chain_id, history, now=int(time.time()), at_block=None
                )

            history_len = len(
                fetch_did_history(node.chain, node.contracts.did_registry, parsed.address)
            )
            walked = time_each(walk, sizes.walk_repeats, warmup=1)
            entry: dict[str, Any] = {
                "did": did,
                "events": history_len,
                "ours_indexed": summary_ms(ours),
                "ours_chain_walk": summary_ms(walked),
            }
            if reference is not None:
                ref = reference[did]
                entry["ethr_did_resolver"] = summary_ms([s / 1000 for s in ref["samples_ms"]])
                theirs = ref["result"]
                same = theirs.get("didDocument") == ours_doc["didDocument"]
                entry["same_document_as_reference"] = same
            figures[str(changes)] = entry
    section.figures = figures
    if shutil.which("node") is None:
        section.notes.append("Node.js not found: ethr-did-resolver not measured.")

    rows = []
    for label, entry in figures.items():
        ours_p50 = entry["ours_indexed"]["p50_ms"]
        walk_p50 = entry["ours_chain_walk"]["p50_ms"]
        ref = entry.get("ethr_did_resolver")
        rows.append(
            [
                label,
                fmt(ours_p50, 2) + f" / {fmt(entry['ours_indexed']['p95_ms'], 2)}",
                fmt(walk_p50, 1) + f" / {fmt(entry['ours_chain_walk']['p95_ms'], 1)}",
                (fmt(ref["p50_ms"], 1) + f" / {fmt(ref['p95_ms'], 1)}") if ref else "n/a",
                f"{walk_p50 / ours_p50:,.0f}x",
                f"{ref['p50_ms'] / ours_p50:,.0f}x" if ref else "n/a",
                {True: "yes", False: "NO", None: "n/a"}[entry.get("same_document_as_reference")],
            ]
        )
    section.tables.append(
        Table(
            "Resolution latency, ms (p50 / p95)",
            [
                "changes",
                "ours (indexed)",
                "our chain walk",
                "ethr-did-resolver",
                "walk / indexed",
                "ethr-did-resolver / indexed",
                "same document as ethr-did-resolver",
            ],
            rows,
        )
    )
    keys = list(figures)
    first, last = figures[keys[0]], figures[keys[-1]]
    growth = last["ours_indexed"]["p50_ms"] / first["ours_indexed"]["p50_ms"]
    speedup = last["ours_chain_walk"]["p50_ms"] / last["ours_indexed"]["p50_ms"]
    section.targets += [
        Target(
            "DID resolution flat in the number of changes",
            f"{keys[0]} -> {keys[-1]} changes: flat",
            f"p50 grows {growth:.2f}x",
            growth <= 1.5,
            "" if growth <= 1.5 else _growth_note(),
        ),
        Target(
            f"DID resolution vs walking, {keys[-1]} changes",
            ">= 20x faster",
            f"{speedup:,.0f}x (walk {last['ours_chain_walk']['p50_ms']:.1f} ms vs "
            f"{last['ours_indexed']['p50_ms']:.2f} ms)",
            speedup >= 20,
        ),
    ]
    section.plots.append(_plot(plots_dir, figures))
    return section


def _growth_note() -> str:
    return (
        "The query is one index range scan, but the replay (`build_document`) and the ORM row "
        "materialisation are linear in the identity's events; a snapshot of the replayed "
        "document per identity (updated by the indexer) would make it constant."
    )


def _plot(plots_dir: Path, figures: dict[str, Any]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    changes = [int(c) for c in figures]
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for key, label in (
        ("ours_indexed", "lernode (indexed)"),
        ("ours_chain_walk", "lernode chain walk"),
        ("ethr_did_resolver", "ethr-did-resolver"),
    ):
        points = [(c, figures[str(c)][key]["p50_ms"]) for c in changes if key in figures[str(c)]]
        if points:
            ax.plot([c for c, _ in points], [v for _, v in points], "o-", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("changes in the DID's history")
    ax.set_ylabel("p50 latency (ms)")
    ax.set_title("did:ethr resolution latency")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    path = plots_dir / "did_resolution.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name
