#!/usr/bin/env python3
"""Compile `contracts/*.sol` into the committed artifacts `contracts/build/<Name>.json`.

Why this exists: the node deploys and talks to the contracts through artifacts that are
committed, so a release never needs a compiler. To make that safe the build must be
reproducible: every setting that changes bytecode is pinned here (solc 0.8.28, evmVersion cancun,
optimizer 200 runs, no IR pipeline, no metadata hash so bytecode does not depend on file paths),
sources are passed by content (never read by the compiler from disk), and artifacts are written
as sorted, indented JSON. `--check` rebuilds in memory and fails if a committed artifact is stale.

The compiler is a native `solc` 0.8.28 when one is on PATH, else `scripts/solc-js-shim`, which
drives the solc-js package in node_modules; both produce identical output for the same input.

Usage: python scripts/compile_contracts.py [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import solcx
from solcx.exceptions import SolcError
from solcx.wrapper import get_solc_version

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCES_DIR = REPO_ROOT / "contracts"
BUILD_DIR = SOURCES_DIR / "build"
SHIM = REPO_ROOT / "scripts" / "solc-js-shim"

SOLC_VERSION = "0.8.28"
#: Version and commit, without the platform suffix that differs between native solc and solc-js.
SOLC_LONG_VERSION = "0.8.28+commit.7893614a"
EVM_VERSION = "cancun"
OPTIMIZER_RUNS = 200


class CompilerWarnings(RuntimeError):
    """The compiler warned: warnings are treated as errors so the contracts stay clean."""


def solc_binary() -> Path:
    """Native solc if it is exactly the pinned version (faster), else the solc-js shim."""
    native = shutil.which("solc")
    if native is not None:
        try:
            if str(get_solc_version(native)) == SOLC_VERSION:
                return Path(native)
        except (SolcError, OSError):
            pass
    return SHIM


def standard_input(sources: dict[str, str]) -> dict[str, Any]:
    """The solc standard JSON input with every bytecode-relevant setting pinned."""
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sorted(sources.items())},
        "settings": {
            "evmVersion": EVM_VERSION,
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "viaIR": False,
            "metadata": {"bytecodeHash": "none"},
            "outputSelection": {
                "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}
            },
        },
    }


def read_sources() -> dict[str, bytes]:
    """Every `contracts/*.sol`, keyed by file name (the key imports resolve against)."""
    return {path.name: path.read_bytes() for path in sorted(SOURCES_DIR.glob("*.sol"))}


def build_artifacts(binary: Path | None = None) -> dict[str, str]:
    """Compile all sources; return artifact file name -> exact file text.

    One artifact per source file: the contract named like the file (helper contracts or
    interfaces a file imports get their own artifact from their own file).
    """
    raw_sources = read_sources()
    output = solcx.compile_standard(
        standard_input({name: data.decode("utf-8") for name, data in raw_sources.items()}),
        solc_binary=binary or solc_binary(),
    )
    warnings = [e["formattedMessage"] for e in output.get("errors", [])]
    if warnings:
        raise CompilerWarnings("\n".join(warnings))
    artifacts: dict[str, str] = {}
    for file_name, data in raw_sources.items():
        contract_name = Path(file_name).stem
        compiled = output["contracts"][file_name][contract_name]
        artifact = {
            "contractName": contract_name,
            "abi": compiled["abi"],
            "bytecode": "0x" + compiled["evm"]["bytecode"]["object"],
            "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
            "compiler": {
                "version": SOLC_LONG_VERSION,
                "evmVersion": EVM_VERSION,
                "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            },
            "sourceHash": hashlib.sha256(data).hexdigest(),
        }
        artifacts[f"{contract_name}.json"] = json.dumps(artifact, indent=2, sort_keys=True) + "\n"
    return artifacts


def first_difference(artifacts: dict[str, str], build_dir: Path = BUILD_DIR) -> str | None:
    """Name of the first artifact that is stale, missing or extra in `build_dir`, if any."""
    committed = {path.name for path in build_dir.glob("*.json")}
    for name in sorted(committed | artifacts.keys()):
        path = build_dir / name
        if name not in artifacts:
            return f"{name}: committed but no longer built from contracts/"
        if name not in committed:
            return f"{name}: missing from {build_dir.relative_to(REPO_ROOT)}"
        if path.read_text(encoding="utf-8") != artifacts[name]:
            return f"{name}: differs from a fresh build"
    return None


def write_artifacts(artifacts: dict[str, str], build_dir: Path = BUILD_DIR) -> None:
    """Write the artifacts and delete those whose source is gone."""
    build_dir.mkdir(parents=True, exist_ok=True)
    for stale in build_dir.glob("*.json"):
        if stale.name not in artifacts:
            stale.unlink()
    for name, text in artifacts.items():
        (build_dir / name).write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="fail if contracts/build is not a fresh build"
    )
    args = parser.parse_args(argv)
    try:
        artifacts = build_artifacts()
    except (CompilerWarnings, SolcError) as error:
        print(error, file=sys.stderr)
        return 1
    if args.check:
        difference = first_difference(artifacts)
        if difference is not None:
            print(f"stale artifact: {difference}", file=sys.stderr)
            return 1
        print(f"{len(artifacts)} artifacts up to date")
        return 0
    write_artifacts(artifacts)
    print(f"wrote {len(artifacts)} artifacts to {BUILD_DIR.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
