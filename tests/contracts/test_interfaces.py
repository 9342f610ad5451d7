"""The interfaces are the contracts' whole external surface, documented, and every custom error
the contracts can raise is exercised by a test.

Why: node code, verifiers and other consortia program against `contracts/interfaces/`; an
external function, event or error missing there, or undocumented, is an ABI a reader has to
reverse-engineer from the implementation.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import solcx

from node.chain.artifacts import load_artifact

REPO_ROOT = Path(__file__).resolve().parents[2]
IMPLEMENTATIONS = {
    "IssuerRegistry": "interfaces/IIssuerRegistry.sol",
    "CredentialRegistry": "interfaces/ICredentialRegistry.sol",
}
CONTRACTS_WITH_ERRORS = ("IssuerRegistry", "CredentialRegistry", "EthereumDIDRegistry")


def _compile_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "compile_contracts", REPO_ROOT / "scripts" / "compile_contracts.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def interfaces() -> dict[str, dict[str, Any]]:
    """ABI, userdoc and devdoc of each interface, compiled exactly as the build compiles."""
    build = _compile_module()
    sources = build.read_sources()
    standard = build.standard_input({name: data.decode() for name, data in sources.items()})
    standard["settings"]["outputSelection"] = {
        unit: {"*": ["abi", "userdoc", "devdoc"]} for unit in IMPLEMENTATIONS.values()
    }
    output = solcx.compile_standard(standard, solc_binary=build.solc_binary())
    assert not output.get("errors"), output.get("errors")
    return {
        name: output["contracts"][unit][Path(unit).stem] for name, unit in IMPLEMENTATIONS.items()
    }


def _signature(entry: dict[str, Any]) -> str:
    return f"{entry['name']}({','.join(_type(item) for item in entry['inputs'])})"


def _type(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        inner = ",".join(_type(component) for component in item["components"])
        return f"({inner}){item['type'][len('tuple') :]}"
    return str(item["type"])


def _canonical(abi: list[dict[str, Any]]) -> list[str]:
    return sorted(
        json.dumps(entry, sort_keys=True) for entry in abi if entry["type"] != "constructor"
    )


@pytest.mark.parametrize("contract", sorted(IMPLEMENTATIONS))
def test_the_interface_declares_the_contracts_whole_abi(
    interfaces: dict[str, dict[str, Any]], contract: str
) -> None:
    assert _canonical(list(load_artifact(contract).abi)) == _canonical(interfaces[contract]["abi"])


@pytest.mark.parametrize("contract", sorted(IMPLEMENTATIONS))
def test_every_function_event_and_error_has_natspec(
    interfaces: dict[str, dict[str, Any]], contract: str
) -> None:
    """@notice on each; @param for each parameter; @return for each return value."""
    compiled = interfaces[contract]
    userdoc, devdoc = compiled["userdoc"], compiled["devdoc"]
    missing: list[str] = []
    for entry in compiled["abi"]:
        kind, signature = entry["type"], _signature(entry)
        section = {"function": "methods", "event": "events", "error": "errors"}[kind]
        notice = userdoc.get(section, {}).get(signature)
        dev = devdoc.get(section, {}).get(signature, {})
        if kind == "error":  # solc lists error docs per overload
            notice = (notice or [{}])[0]
            dev = (dev or [{}])[0]
        if not (notice or {}).get("notice"):
            missing.append(f"{kind} {signature}: @notice")
        for item in entry["inputs"]:
            if item["name"] not in dev.get("params", {}):
                missing.append(f"{kind} {signature}: @param {item['name']}")
        for position, item in enumerate(entry.get("outputs", [])):
            if (item["name"] or f"_{position}") not in dev.get("returns", {}):
                missing.append(f"{kind} {signature}: @return {item['name'] or position}")
    assert missing == []


def test_every_custom_error_is_exercised_by_a_test() -> None:
    tested = "\n".join(
        path.read_text()
        for path in Path(__file__).parent.glob("test_*.py")
        if path.name != Path(__file__).name
    )
    untested = [
        f"{contract}.{entry['name']}"
        for contract in CONTRACTS_WITH_ERRORS
        for entry in load_artifact(contract).abi
        if entry["type"] == "error" and not re.search(rf'"{entry["name"]}"', tested)
    ]
    assert untested == []
