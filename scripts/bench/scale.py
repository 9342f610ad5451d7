"""Section 5: anchor lookup and status check as the registry grows from 10^3 to 10^6 credentials.

Nobody signs a million credentials for this: the database gets synthetic `credential` rows in
bulk (SQLAlchemy Core executemany) and the chain gets the matching state written straight into
the CredentialRegistry's storage with `anvil_setStorageAt` (batched JSON-RPC), the slots computed
from Solidity's mapping layout. Every credential is its own batch of one (root = leaf), the
worst case for the contract's anchor mapping (10^6 entries), and every 100th one is revoked.
The slot layout is checked through `anchorOf` / `isStatusSet` before anything is measured.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from eth_utils import keccak
from sqlalchemy import insert
from sqlmodel import select

from node.chain.anvil import dev_accounts
from node.chain.bindings import Contracts
from node.chain.client import ChainClient
from node.chain.contracts.types import StatusPurpose, credential_type_id
from node.chain.deploy import deploy_all
from node.chain.sender import TransactionSender
from node.credentials.merkle import leaf
from node.store.db import Database
from node.store.models import Credential, CredentialState, Institution

from .common import Rpc, Section, Sizes, Table, Target, fmt, fresh_anvil, summary_ms
from .postgres import describe, scratch_database

LIST_SIZE = 131_072
ANCHORS_SLOT = 0  # `_anchors`: the first storage variable (the registry address is immutable)
WORDS_SLOT = 1  # `_words`
REVOKED_EVERY = 100
OPEN_BADGE = "0x" + credential_type_id("OpenBadgeCredential").hex()
#: Stand-in for the stored JCS document: real ones are ~2-3 KB; the lookups read by index.
PLACEHOLDER = json.dumps(
    {"type": ["VerifiableCredential", "OpenBadgeCredential"], "pad": "x" * 300}
)


def _pad(value: int | bytes) -> bytes:
    return value.rjust(32, b"\x00") if isinstance(value, bytes) else value.to_bytes(32, "big")


def _mapping_slot(key: int | bytes, slot: bytes | int) -> bytes:
    return keccak(_pad(key) + _pad(slot))


def _credential_hash(i: int) -> bytes:
    return keccak(f"bench-credential-{i}".encode())


class SyntheticRegistry:
    """Writes synthetic anchors and revocation bits into the contract's storage."""

    def __init__(self, rpc: Rpc, contracts: Contracts, issuer: str, anchored_at: int) -> None:
        self.rpc = rpc
        self.address = contracts.credential_registry.address
        self.issuer = issuer
        # `_anchors[issuer][root]`: timestamp | blockNumber << 64 | count << 128.
        self.packed = anchored_at | (1 << 64) | (1 << 128)
        self._anchor_base = _mapping_slot(bytes.fromhex(issuer[2:]), ANCHORS_SLOT)
        self.masks: dict[tuple[int, int], int] = {}
        issuer_slot = _mapping_slot(bytes.fromhex(issuer[2:]), WORDS_SLOT)
        self._revocation_base = {
            n: _mapping_slot(0, _mapping_slot(n, issuer_slot)) for n in range(64)
        }

    def grow(self, start: int, end: int) -> None:
        calls: list[tuple[str, list[Any]]] = []
        value = "0x" + self.packed.to_bytes(32, "big").hex()
        touched: set[tuple[int, int]] = set()
        for i in range(start, end):
            root = leaf(_credential_hash(i))
            calls.append(
                (
                    "anvil_setStorageAt",
                    [self.address, "0x" + _mapping_slot(root, self._anchor_base).hex(), value],
                )
            )
            if i % REVOKED_EVERY == 0:
                list_number, index = divmod(i, LIST_SIZE)
                word = (list_number, index >> 8)
                self.masks[word] = self.masks.get(word, 0) | 1 << (index & 0xFF)
                touched.add(word)
        for list_number, word_index in touched:
            slot = _mapping_slot(word_index, self._revocation_base[list_number])
            mask = self.masks[(list_number, word_index)]
            calls.append(
                (
                    "anvil_setStorageAt",
                    [self.address, "0x" + slot.hex(), "0x" + mask.to_bytes(32, "big").hex()],
                )
            )
        self.rpc.batch(calls)


def _insert_rows(db: Database, institution_id: int, start: int, end: int) -> None:
    now = datetime.now(UTC)
    table = Credential.__table__
    chunk = 10_000
    for first in range(start, end, chunk):
        rows = []
        for i in range(first, min(first + chunk, end)):
            list_number, index = divmod(i, LIST_SIZE)
            rows.append(
                {
                    "id": f"urn:uuid:{uuid.UUID(int=i + 1)}",
                    "institution_id": institution_id,
                    "kind": "OpenBadgeCredential",
                    "credential_type_id": OPEN_BADGE,
                    "document": PLACEHOLDER,
                    "credential_hash": "0x" + _credential_hash(i).hex(),
                    "status_list": list_number,
                    "status_index": index,
                    "state": CredentialState.FINAL.value,
                    "revoked": i % REVOKED_EVERY == 0,
                    "suspended": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        with db.engine.begin() as connection:
            connection.execute(insert(table), rows)
    if not db.is_sqlite:
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE credential")


def _timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run(sizes: Sizes, plots_dir: Path, *, pg_admin_url: str, **_: Any) -> Section:
    section = Section(
        key="scale",
        title="Scale: lookups as the registry grows",
        method=(
            "A private anvil with our contracts and one database per backend (a fresh SQLite "
            "file; a scratch PostgreSQL database). At each size the registry and the database are "
            "grown with synthetic credentials (see the module docstring: rows by SQL executemany, "
            "anchors and revocation bits by `anvil_setStorageAt`), then "
            f"{sizes.lookups} random credentials are looked up: *anchor lookup* = the row by "
            "`credential_hash` through the ORM (as the services do) + `anchorOf(leaf)` eth_call; "
            "*status check* = `isStatusSet(issuer, list, revocation, index)` eth_call. Times are "
            "per lookup, median / p95."
        ),
    )
    figures: dict[str, Any] = {}
    with ExitStack() as stack:
        anvil = stack.enter_context(fresh_anvil())
        client = ChainClient(anvil.rpc_url, expected_chain_id=31337)
        operator = dev_accounts(10)[0]
        deployment = deploy_all(TransactionSender(client, operator), [operator.address], 1, 86_400)
        contracts = Contracts(client, deployment)
        registry = contracts.credential_registry
        issuer = dev_accounts(10)[3].address
        chain = SyntheticRegistry(Rpc(anvil.rpc_url), contracts, issuer.lower(), int(time.time()))
        databases: dict[str, Database] = {}
        sqlite_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="lernode-bench-scale-"))
        databases["sqlite"] = Database(f"sqlite:///{sqlite_dir}/scale.sqlite")
        if describe(pg_admin_url):
            url = stack.enter_context(scratch_database(pg_admin_url, "scale"))
            databases["postgresql"] = Database(url)
        else:
            section.notes.append("PostgreSQL unreachable: only SQLite measured.")
        institution_ids: dict[str, int] = {}
        for name, db in databases.items():
            stack.callback(db.dispose)
            db.migrate()
            with db.session() as session:
                row = Institution(
                    name="Scale University",
                    address=issuer.lower(),
                    did=f"did:ethr:0x7a69:{issuer.lower()}",
                )
                session.add(row)
                session.flush()
                assert row.id is not None
                institution_ids[name] = row.id

        rng = random.Random(1056)
        loaded = 0
        for size in sizes.scale_steps:
            t0 = time.perf_counter()
            chain.grow(loaded, size)
            chain_s = time.perf_counter() - t0
            load_s: dict[str, float] = {}
            for name, db in databases.items():
                t0 = time.perf_counter()
                _insert_rows(db, institution_ids[name], loaded, size)
                load_s[name] = time.perf_counter() - t0
            loaded = size
            if size == sizes.scale_steps[0]:
                _check_layout(registry, issuer)
            picks = [rng.randrange(size) for _ in range(sizes.lookups)]
            step: dict[str, Any] = {"load_chain_s": chain_s, "load_db_s": load_s}
            anchor_call, status_call = [], []
            for i in picks:
                root = leaf(_credential_hash(i))
                list_number, index = divmod(i, LIST_SIZE)
                anchor_call.append(_timed(partial(registry.anchor_of, issuer, root)))
                status_call.append(
                    _timed(
                        partial(
                            registry.is_status_set,
                            issuer,
                            list_number,
                            StatusPurpose.REVOCATION,
                            index,
                        )
                    )
                )
            step["anchor_of_call"] = summary_ms(anchor_call)
            step["status_check_call"] = summary_ms(status_call)
            for name, db in databases.items():
                db_times = []
                for i in picks:
                    wanted = "0x" + _credential_hash(i).hex()

                    def lookup(h: str = wanted, d: Database = db) -> None:
                        with d.session() as session:
                            found = session.exec(
                                select(Credential).where(Credential.credential_hash == h)
                            ).first()
                            assert found is not None

                    db_times.append(_timed(lookup))
                step[f"db_lookup_{name}"] = summary_ms(db_times)
                step[f"anchor_lookup_{name}"] = summary_ms(
                    [a + b for a, b in zip(db_times, anchor_call, strict=True)]
                )
            figures[str(size)] = step
            print(f"[bench]   scale {size:,} done", flush=True)
    section.figures = figures
    _report(section, figures, list(databases))
    section.plots.append(_plot(plots_dir, figures, list(databases)))
    return section


def _check_layout(registry: Any, issuer: str) -> None:
    """The storage slots we wrote are the ones the contract reads (else every figure lies)."""
    anchor = registry.anchor_of(issuer, leaf(_credential_hash(7)))
    assert anchor is not None and anchor.count == 1, "anchor slot layout mismatch"
    revoked = StatusPurpose.REVOCATION
    assert registry.is_status_set(issuer, 0, revoked, 0), "status slot layout mismatch"
    assert not registry.is_status_set(issuer, 0, revoked, 1)


def _report(section: Section, figures: dict[str, Any], backends: list[str]) -> None:
    columns = ["credentials", "anchorOf call", "status check call"]
    for b in backends:
        columns += [f"DB lookup ({b})", f"anchor lookup ({b})"]
    rows = []
    for size, step in figures.items():
        row = [
            f"{int(size):,}",
            f"{fmt(step['anchor_of_call']['p50_ms'])} / {fmt(step['anchor_of_call']['p95_ms'])}",
            fmt(step["status_check_call"]["p50_ms"])
            + " / "
            + fmt(step["status_check_call"]["p95_ms"]),
        ]
        for b in backends:
            db, total = step[f"db_lookup_{b}"], step[f"anchor_lookup_{b}"]
            row += [
                f"{fmt(db['p50_ms'])} / {fmt(db['p95_ms'])}",
                f"{fmt(total['p50_ms'])} / {fmt(total['p95_ms'])}",
            ]
        rows.append(row)
    section.tables.append(Table("Per-lookup latency, ms (p50 / p95)", columns, rows))
    load_rows = [
        [f"{int(size):,}", fmt(step["load_chain_s"], 1)]
        + [fmt(step["load_db_s"][b], 1) for b in backends]
        for size, step in figures.items()
    ]
    section.tables.append(
        Table(
            "Bulk load time of each step, s (synthetic rows and storage slots)",
            ["credentials (cumulative)", "chain", *backends],
            load_rows,
        )
    )
    sizes = list(figures)
    first, last = figures[sizes[0]], figures[sizes[-1]]
    span = f"{int(sizes[0]):,} -> {int(sizes[-1]):,}"
    measured_keys = [f"anchor_lookup_{b}" for b in backends] + ["status_check_call"]
    for key in measured_keys:
        growth = last[key]["p50_ms"] / first[key]["p50_ms"]
        label = key.replace("_call", "").replace("_", " ")
        section.targets.append(
            Target(
                f"{label} flat",
                f"<= 1.5x growth {span}",
                f"{growth:.2f}x ({first[key]['p50_ms']:.2f} -> {last[key]['p50_ms']:.2f} ms p50)",
                growth <= 1.5,
            )
        )


def _plot(plots_dir: Path, figures: dict[str, Any], backends: list[str]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [int(s) for s in figures]
    fig, ax = plt.subplots(figsize=(6.4, 4))
    series = [
        ("anchor_of_call", "anchorOf eth_call"),
        ("status_check_call", "isStatusSet eth_call"),
    ]
    series += [(f"db_lookup_{b}", f"DB lookup by hash ({b})") for b in backends]
    series += [(f"anchor_lookup_{b}", f"anchor lookup total ({b})") for b in backends]
    for key, label in series:
        ax.plot(sizes, [figures[str(s)][key]["p50_ms"] for s in sizes], "o-", label=label)
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("credentials in the registry and database")
    ax.set_ylabel("p50 latency (ms)")
    ax.set_title("Lookups as the registry grows")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    path = plots_dir / "scale_lookups.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name
