#!/usr/bin/env python3
"""Compile `contracts/*.sol` into the committed artifacts `contracts/build/<Name>.json`.

Why this exists: the node deploys and talks to the contracts through artifacts that are
committed, so a release never needs a compiler. To make that safe the build must be
reproducible: every setting that changes bytecode is pinned here (solc 0.8.28, evmVersion cancun,
optimizer 200 runs, no IR pipeline, no metadata hash so bytecode does not depend on file paths),
sources are passed by content (never read by the compiler from disk), and artifacts are written
as sorted, indented JSON. `--check` rebuilds in memory and fails if a committed artifact is stale.

Sources are every `contracts/**/*.sol` (keyed by their path under contracts/, e.g.
`interfaces/IIssuerRegistry.sol`) plus every library file they import, transitively. A library
import (`@openzeppelin/contracts/...`) is read from node_modules, and only from a package whose
installed version is the exact one package.json pins (package-lock.json fixes its content), so
the same checkout always compiles the same bytes. Each artifact records the SHA-256 of every file
its contract imports and the versions of the libraries among them, so `--check` also catches a
different library behind an unchanged bytecode.

The compiler is a native `solc` 0.8.28 when one is on PATH, else `scripts/solc-js-shim`, which
drives the solc-js package in node_modules; both produce identical output for the same input.

Usage: python scripts/compile_contracts.py [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import posixpath
import re
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
NODE_MODULES = REPO_ROOT / "node_modules"
PACKAGE_JSON = REPO_ROOT / "package.json"

#: npm packages contracts may import from, by import prefix (`<package>/<path in package>`).
LIBRARIES = ("@openzeppelin/contracts",)
#: The path of every `import` directive (`import "p";`, `import {A} from "p";`, `import * as A
#: from "p";`, `import "p" as A;`), at the start of a line so commented-out imports are skipped.
IMPORT_DIRECTIVE = re.compile(
    r"""^[ \t]*import\s+(?:[^"';]*?\s+from\s+)?["']([^"']+)["']""", re.MULTILINE
)

SOLC_VERSION = "0.8.28"
#: Version and commit, without the platform suffix that differs between native solc and solc-js.
SOLC_LONG_VERSION = "0.8.28+commit.7893614a"
EVM_VERSION = "cancun"
OPTIMIZER_RUNS = 200


class CompilerWarnings(RuntimeError):
    """The compiler warned: warnings are treated as errors so the contracts stay clean."""


class SourceError(RuntimeError):
    """An import cannot be resolved, or a library is not installed at its pinned version."""


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


def pinned_library_versions(package_json: Path | None = None) -> dict[str, str]:
    """The exact version package.json pins for each library in `LIBRARIES`."""
    manifest = (package_json or PACKAGE_JSON).read_text(encoding="utf-8")
    dependencies = json.loads(manifest).get("dependencies", {})
    versions: dict[str, str] = {}
    for package in LIBRARIES:
        version = dependencies.get(package)
        if not isinstance(version, str) or not re.fullmatch(r"\d+\.\d+\.\d+", version):
            raise SourceError(
                f"package.json must pin {package} to an exact version, not {version!r}"
            )
        versions[package] = version
    return versions


def library_of(unit: str) -> str | None:
    """The library a source unit name belongs to, or None for a file under contracts/."""
    return next((lib for lib in LIBRARIES if unit.startswith(lib + "/")), None)


def installed_library_versions(
    pinned: dict[str, str], node_modules: Path | None = None
) -> dict[str, str]:
    """Check each library is installed at its pinned version; return the versions."""
    for package, version in pinned.items():
        manifest = (node_modules or NODE_MODULES) / package / "package.json"
        try:
            installed = json.loads(manifest.read_text(encoding="utf-8"))["version"]
        except (OSError, ValueError, KeyError) as error:
            raise SourceError(f"{package} is not installed ({error}); run `npm install`") from error
        if installed != version:
            raise SourceError(
                f"{package} {installed} is installed but package.json pins {version}; "
                "run `npm install`"
            )
    return pinned


def resolve_import(importer: str, path: str) -> str:
    """The source unit name an import of `path` in source unit `importer` refers to (solc's rule:
    "./" and "../" are relative to the importer's directory, anything else is a unit name)."""
    if path.startswith(("./", "../")):
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(importer), path))
        if resolved.startswith("../"):
            raise SourceError(f"{importer}: import {path!r} leaves its package")
        return resolved
    return path


def _read_unit(unit: str, sources_dir: Path, node_modules: Path) -> bytes:
    library = library_of(unit)
    path = node_modules / unit if library else sources_dir / unit
    try:
        return path.read_bytes()
    except OSError as error:
        where = f"installed {library}" if library else f"{sources_dir.name}/"
        raise SourceError(f"cannot import {unit!r}: not in the {where} ({error})") from error


def read_sources(
    sources_dir: Path | None = None, node_modules: Path | None = None
) -> dict[str, bytes]:
    """Every `contracts/**/*.sol`, keyed by its path under contracts/ (the name imports resolve
    against), and every library file they import, transitively, keyed by its import path."""
    sources_dir = sources_dir or SOURCES_DIR
    node_modules = node_modules or NODE_MODULES
    sources = {
        path.relative_to(sources_dir).as_posix(): path.read_bytes()
        for path in sorted(sources_dir.rglob("*.sol"))
    }
    pending = list(sources)
    while pending:
        unit = pending.pop()
        for path in IMPORT_DIRECTIVE.findall(sources[unit].decode("utf-8")):
            imported = resolve_import(unit, path)
            if imported not in sources:
                if library_of(imported) is None and library_of(unit) is not None:
                    raise SourceError(f"{unit}: import {path!r} leaves its package")
                sources[imported] = _read_unit(imported, sources_dir, node_modules)
                pending.append(imported)
    return dict(sorted(sources.items()))


def imports_of(unit: str, sources: dict[str, bytes]) -> list[str]:
    """Every source unit `unit` imports, directly or not, sorted."""
    seen: set[str] = set()
    pending = [unit]
    while pending:
        current = pending.pop()
        for path in IMPORT_DIRECTIVE.findall(sources[current].decode("utf-8")):
            imported = resolve_import(current, path)
            if imported not in seen and imported != unit:
                seen.add(imported)
                pending.append(imported)
    return sorted(seen)


def build_artifacts(binary: Path | None = None) -> dict[str, str]:
    """Compile all sources; return artifact file name -> exact file text.

    One artifact per deployable source, `contracts/<Name>.sol`: the contract named like the file.
    Interfaces (contracts/interfaces/) and library files are compiled with them but get no
    artifact of their own; their ABI is part of the contracts' that implement them.
    """
    versions = installed_library_versions(pinned_library_versions())
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
        if "/" in file_name:
            continue
        contract_name = Path(file_name).stem
        compiled = output["contracts"][file_name][contract_name]
        imports = imports_of(file_name, raw_sources)
        libraries = sorted({lib for unit in imports if (lib := library_of(unit)) is not None})
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
            "imports": {unit: hashlib.sha256(raw_sources[unit]).hexdigest() for unit in imports},
            "libraries": {library: versions[library] for library in libraries},
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
    except (CompilerWarnings, SourceError, SolcError) as error:
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
