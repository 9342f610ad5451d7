"""Loading the committed contract artifacts (ABI and bytecode).

Why: the node never compiles at run time. `scripts/compile_contracts.py` writes reproducible
artifacts into `contracts/build/`; a source checkout reads them from there, and an installed
wheel ships the same files as package data in `node/_artifacts` (see pyproject's force-include).
Artifacts are immutable for the life of the process, so each is parsed once and cached.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import node
from node.errors import ConfigurationError

_PACKAGE_DIR = Path(node.__file__).resolve().parent
#: Where artifacts are looked for, in order: the source tree, then the wheel's package data.
ARTIFACT_DIRS: tuple[Path, ...] = (
    _PACKAGE_DIR.parent / "contracts" / "build",
    _PACKAGE_DIR / "_artifacts",
)


class ArtifactMissing(ConfigurationError):
    """A contract artifact is absent or unreadable: the build or the installation is broken."""

    code = "artifact_missing"
    title = "Contract artifact missing"


@dataclass(frozen=True)
class CompilerInfo:
    """The settings the artifact was compiled with (what a verifier needs to rebuild it)."""

    version: str
    evm_version: str
    optimizer_enabled: bool
    optimizer_runs: int


@dataclass(frozen=True)
class Artifact:
    """One compiled contract; `bytecode` deploys it, `deployed_bytecode` is its runtime code."""

    name: str
    abi: tuple[dict[str, Any], ...]
    bytecode: str
    deployed_bytecode: str
    compiler: CompilerInfo
    source_hash: str


def artifact_path(name: str) -> Path:
    """The artifact file for contract `name`, from the first directory that has it."""
    for directory in ARTIFACT_DIRS:
        candidate = directory / f"{name}.json"
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(directory) for directory in ARTIFACT_DIRS)
    raise ArtifactMissing(
        f"no artifact for contract {name!r} (searched {searched}); "
        "run `python scripts/compile_contracts.py`",
        contract=name,
    )


@cache
def load_artifact(name: str) -> Artifact:
    """Parse and cache the artifact of contract `name` (e.g. "IssuerRegistry")."""
    path = artifact_path(name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        compiler = data["compiler"]
        return Artifact(
            name=data["contractName"],
            abi=tuple(data["abi"]),
            bytecode=data["bytecode"],
            deployed_bytecode=data["deployedBytecode"],
            compiler=CompilerInfo(
                version=compiler["version"],
                evm_version=compiler["evmVersion"],
                optimizer_enabled=compiler["optimizer"]["enabled"],
                optimizer_runs=compiler["optimizer"]["runs"],
            ),
            source_hash=data["sourceHash"],
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ArtifactMissing(f"artifact {path} is unreadable: {error}", contract=name) from error
