"""The house rules the import linter cannot see: contracts are reached only through their typed
Python faces, and every package the layers contract names exists (a renamed package must not
silently drop out of the contract)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / "node"
FACES = NODE / "chain" / "contracts"


def _raw_contract_access(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [  # `<contract>.functions.<name>` / `<contract>.events.<name>`
        f"{path.relative_to(ROOT)}:{node.lineno} .{node.value.attr}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr in ("functions", "events")
    ]


def test_only_the_typed_contract_faces_touch_web3_functions_and_events() -> None:
    offenders = [
        hit
        for path in sorted(NODE.rglob("*.py"))
        if FACES not in path.parents
        for hit in _raw_contract_access(path)
    ]
    assert offenders == []


def test_every_package_named_in_the_layers_contract_exists() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    names = [name.strip() for layer in layers for name in layer.replace(":", "|").split("|")]
    missing = [
        name
        for name in names
        if not (ROOT / Path(*name.split("."))).with_suffix(".py").exists()
        and not (ROOT / Path(*name.split(".")) / "__init__.py").exists()
    ]
    assert missing == []
