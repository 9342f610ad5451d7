"""Regenerate docs/benchmarks.md, its plots and docs/benchmarks.json in one run.

    python scripts/bench.py [--quick] [--out docs/benchmarks.md] [--json docs/benchmarks.json]
                            [--only gas,issuance,...]

Sections (scripts/bench/): gas per operation next to EAS, bulk issuance next to the pure signing
rate, verification over HTTP next to in-process, DID resolution next to ethr-did-resolver and a
chain walk, and anchor/status lookups as the registry grows to 10^6 credentials. `--quick` uses
small sizes (CI runs it through tests/e2e/test_bench_quick.py in well under a minute). A section
that fails is reported as not available with its error, so one broken dependency never hides
the other figures.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import did, gas, issuance, report, scale, verification
from bench.common import DEFAULT_PG_ADMIN_URL, Section, Sizes, machine, versions
from bench.postgres import describe as describe_postgres

RUNNERS: dict[str, tuple[str, Callable[..., Section]]] = {
    "gas": ("Gas per operation", gas.run),
    "issuance": ("Bulk issuance", issuance.run),
    "verification": ("Verification", verification.run),
    "did_resolution": ("DID resolution", did.run),
    "scale": ("Scale: lookups as the registry grows", scale.run),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (< 60 s), for CI")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--json", type=Path, default=Path("docs/benchmarks.json"))
    parser.add_argument("--only", default="", help="comma-separated sections to run (default: all)")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("LERNODE_BENCH_PG_ADMIN_URL", DEFAULT_PG_ADMIN_URL),
        help="PostgreSQL URL used to create and drop one scratch database per run",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    sizes = Sizes.for_mode(args.quick)
    plots_dir = args.out.parent / args.out.stem
    plots_dir.mkdir(parents=True, exist_ok=True)
    wanted = [k for k in args.only.split(",") if k] or list(RUNNERS)
    started = time.perf_counter()
    sections: list[Section] = []
    for key in wanted:
        title, runner = RUNNERS[key]
        print(f"[bench] {key} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            section = runner(sizes, plots_dir, pg_admin_url=args.pg_admin_url)
        except Exception as exc:
            traceback.print_exc()
            section = Section(key=key, title=title, method="(failed)", available=False)
            section.notes.append(f"section failed: {type(exc).__name__}: {exc}")
        section.seconds = time.perf_counter() - t0
        print(f"[bench] {key} done in {section.seconds:.1f}s", file=sys.stderr, flush=True)
        sections.append(section)

    meta = {
        "generated": report.now_iso(),
        "quick": args.quick,
        "seconds": round(time.perf_counter() - started, 1),
        "command": "python scripts/bench.py" + (" --quick" if args.quick else ""),
        "machine": machine(),
        "versions": versions(),
        "postgres": describe_postgres(args.pg_admin_url),
        "sizes": {k: v for k, v in vars(sizes).items()},
    }
    report.write_json(args.json, report.as_json(meta, sections))
    plots_rel = os.path.relpath(plots_dir, args.out.parent)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report.markdown(meta, sections, plots_rel))
    print(f"[bench] wrote {args.out} and {args.json} in {meta['seconds']}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
