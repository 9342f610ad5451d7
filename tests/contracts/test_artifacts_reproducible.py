"""The committed artifacts are exactly what the pinned toolchain builds from the sources.

Why: the node deploys the committed bytecode; if someone edits a contract without rebuilding,
or the build stops being deterministic, the deployed code would no longer match its source.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from node.chain.artifacts import ArtifactMissing, artifact_path, load_artifact

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ("CredentialRegistry", "EthereumDIDRegistry", "IssuerRegistry")


def _compile_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "compile_contracts", REPO_ROOT / "scripts" / "compile_contracts.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def compile_contracts() -> ModuleType:
    return _compile_module()


@pytest.fixture(scope="module")
def fresh_build(compile_contracts: ModuleType) -> dict[str, str]:
    built: dict[str, str] = compile_contracts.build_artifacts(compile_contracts.SHIM)
    return built


def test_a_fresh_build_is_byte_identical_to_the_committed_artifacts(
    fresh_build: dict[str, str],
) -> None:
    build_dir = REPO_ROOT / "contracts" / "build"
    assert sorted(fresh_build) == sorted(path.name for path in build_dir.glob("*.json"))
    for name, text in fresh_build.items():
        assert (build_dir / name).read_text(encoding="utf-8") == text, f"{name} is stale"


def test_check_mode_names_the_stale_artifact(
    compile_contracts: ModuleType, fresh_build: dict[str, str], tmp_path: Path
) -> None:
    compile_contracts.write_artifacts(fresh_build, tmp_path)
    assert compile_contracts.first_difference(fresh_build, tmp_path) is None

    stale = json.loads((tmp_path / "IssuerRegistry.json").read_text())
    stale["bytecode"] += "00"
    (tmp_path / "IssuerRegistry.json").write_text(json.dumps(stale))
    difference = compile_contracts.first_difference(fresh_build, tmp_path)
    assert difference == "IssuerRegistry.json: differs from a fresh build"


def test_artifacts_record_the_pinned_compiler_and_source_hash(fresh_build: dict[str, str]) -> None:
    import hashlib

    for name in CONTRACTS:
        artifact = json.loads(fresh_build[f"{name}.json"])
        source = (REPO_ROOT / "contracts" / f"{name}.sol").read_bytes()
        assert artifact["contractName"] == name
        assert artifact["sourceHash"] == hashlib.sha256(source).hexdigest()
        assert artifact["compiler"] == {
            "version": "0.8.28+commit.7893614a",
            "evmVersion": "cancun",
            "optimizer": {"enabled": True, "runs": 200},
        }
        assert artifact["bytecode"].startswith("0x60")


def test_the_shim_speaks_the_native_solc_version_banner() -> None:
    from solcx.wrapper import get_solc_version

    version = get_solc_version(REPO_ROOT / "scripts" / "solc-js-shim", with_commit_hash=True)
    assert str(version) == "0.8.28+commit.7893614a"


def test_load_artifact_reads_the_committed_build() -> None:
    artifact = load_artifact("CredentialRegistry")
    committed = json.loads(artifact_path("CredentialRegistry").read_text())
    assert artifact.name == "CredentialRegistry"
    assert list(artifact.abi) == committed["abi"]
    assert artifact.bytecode == committed["bytecode"]
    assert artifact.deployed_bytecode == committed["deployedBytecode"]
    assert artifact.compiler.evm_version == "cancun"
    assert artifact.compiler.optimizer_runs == 200
    assert load_artifact("CredentialRegistry") is artifact


def test_a_missing_artifact_is_a_clear_error() -> None:
    with pytest.raises(ArtifactMissing) as info:
        load_artifact("NoSuchContract")
    assert info.value.code == "artifact_missing"
    assert "compile_contracts.py" in str(info.value)
