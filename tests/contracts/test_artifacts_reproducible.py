"""The committed artifacts are exactly what the pinned toolchain builds from the sources.

Why: the node deploys the committed bytecode; if someone edits a contract without rebuilding,
or the build stops being deterministic, the deployed code would no longer match its source.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
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


# ------------------------------------------------------------------ imports and libraries

OZ = "@openzeppelin/contracts"
MERKLE_PROOF = f"{OZ}/utils/cryptography/MerkleProof.sol"
HASHES = f"{OZ}/utils/cryptography/Hashes.sol"


def test_package_json_pins_openzeppelin_exactly_and_it_is_installed(
    compile_contracts: ModuleType,
) -> None:
    pinned = compile_contracts.pinned_library_versions()
    assert re.fullmatch(r"5\.\d+\.\d+", pinned[OZ])
    lock = json.loads((REPO_ROOT / "package-lock.json").read_text())
    assert lock["packages"][f"node_modules/{OZ}"]["version"] == pinned[OZ]
    assert compile_contracts.installed_library_versions(pinned) == pinned


def test_interfaces_and_libraries_get_no_artifact_of_their_own(
    fresh_build: dict[str, str],
) -> None:
    assert sorted(fresh_build) == [f"{name}.json" for name in CONTRACTS]


@pytest.mark.parametrize(
    ("importer", "path", "resolved"),
    [
        (
            "CredentialRegistry.sol",
            "./interfaces/IIssuerRegistry.sol",
            "interfaces/IIssuerRegistry.sol",
        ),
        (
            "interfaces/ICredentialRegistry.sol",
            "./IIssuerRegistry.sol",
            "interfaces/IIssuerRegistry.sol",
        ),
        ("interfaces/ICredentialRegistry.sol", "../IssuerRegistry.sol", "IssuerRegistry.sol"),
        ("CredentialRegistry.sol", MERKLE_PROOF, MERKLE_PROOF),
        (MERKLE_PROOF, "./Hashes.sol", HASHES),
        (MERKLE_PROOF, "../Strings.sol", f"{OZ}/utils/Strings.sol"),
    ],
)
def test_imports_resolve_like_solc(
    compile_contracts: ModuleType, importer: str, path: str, resolved: str
) -> None:
    assert compile_contracts.resolve_import(importer, path) == resolved


def test_an_import_that_cannot_be_resolved_is_a_clear_error(
    compile_contracts: ModuleType, tmp_path: Path
) -> None:
    (tmp_path / "A.sol").write_text('import {B} from "./B.sol";\n')
    with pytest.raises(compile_contracts.SourceError, match=re.escape("'B.sol'")):
        compile_contracts.read_sources(tmp_path, tmp_path / "node_modules")
    (tmp_path / "A.sol").write_text('import "../outside.sol";\n')
    with pytest.raises(compile_contracts.SourceError, match="leaves its package"):
        compile_contracts.read_sources(tmp_path, tmp_path / "node_modules")
    (tmp_path / "A.sol").write_text(f'import {{MerkleProof}} from "{MERKLE_PROOF}";\n')
    with pytest.raises(compile_contracts.SourceError, match="not in the installed"):
        compile_contracts.read_sources(tmp_path, tmp_path / "node_modules")


def test_commented_out_imports_are_ignored(compile_contracts: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "A.sol").write_text(
        '// import "./Missing.sol";\n/* import "./Missing.sol"; */\nimport "./B.sol" as B;\n'
        'import {\n    C\n} from "./C.sol";\n'
    )
    (tmp_path / "B.sol").write_text("")
    (tmp_path / "C.sol").write_text("")
    assert sorted(compile_contracts.read_sources(tmp_path, tmp_path)) == ["A.sol", "B.sol", "C.sol"]


def test_a_library_at_another_version_than_pinned_fails_the_build_and_check(
    compile_contracts: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    package = tmp_path / OZ
    package.mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"version": "5.0.0"}))
    monkeypatch.setattr(compile_contracts, "NODE_MODULES", tmp_path)
    pinned = compile_contracts.pinned_library_versions()[OZ]
    assert compile_contracts.main(["--check"]) == 1
    assert f"{OZ} 5.0.0 is installed but package.json pins {pinned}" in capsys.readouterr().err

    (package / "package.json").unlink()
    assert compile_contracts.main(["--check"]) == 1
    assert "is not installed" in capsys.readouterr().err


def test_a_loose_version_range_in_package_json_is_refused(
    compile_contracts: ModuleType, tmp_path: Path
) -> None:
    manifest = tmp_path / "package.json"
    manifest.write_text(json.dumps({"dependencies": {OZ: "^5.7.0"}}))
    with pytest.raises(compile_contracts.SourceError, match="exact version"):
        compile_contracts.pinned_library_versions(manifest)


def test_library_imports_are_passed_by_content_from_the_pinned_package(
    compile_contracts: ModuleType,
) -> None:
    """The compiler reads nothing from disk: every imported file is in the input's sources."""
    sources = compile_contracts.read_sources()
    installed = REPO_ROOT / "node_modules"
    assert sources[MERKLE_PROOF] == (installed / MERKLE_PROOF).read_bytes()
    assert sources[HASHES] == (installed / HASHES).read_bytes()
    libraries = [name for name in sources if name.startswith(OZ)]
    assert sorted(libraries) == [HASHES, MERKLE_PROOF]
    assert "interfaces/IIssuerRegistry.sol" in sources
    assert "interfaces/ICredentialRegistry.sol" in sources
    standard = compile_contracts.standard_input(
        {name: data.decode() for name, data in sources.items()}
    )
    assert standard["sources"][MERKLE_PROOF] == {"content": sources[MERKLE_PROOF].decode()}


def test_artifacts_record_what_they_import(
    compile_contracts: ModuleType, fresh_build: dict[str, str]
) -> None:
    sources = compile_contracts.read_sources()
    credential = json.loads(fresh_build["CredentialRegistry.json"])
    assert credential["imports"] == {
        name: hashlib.sha256(sources[name]).hexdigest()
        for name in (
            HASHES,
            MERKLE_PROOF,
            "interfaces/ICredentialRegistry.sol",
            "interfaces/IIssuerRegistry.sol",
        )
    }
    assert credential["libraries"] == compile_contracts.pinned_library_versions()
    issuer = json.loads(fresh_build["IssuerRegistry.json"])
    assert list(issuer["imports"]) == ["interfaces/IIssuerRegistry.sol"]
    assert issuer["libraries"] == {}
    did = json.loads(fresh_build["EthereumDIDRegistry.json"])
    assert (did["imports"], did["libraries"]) == ({}, {})


def test_check_mode_catches_a_changed_import_behind_unchanged_bytecode(
    compile_contracts: ModuleType, fresh_build: dict[str, str], tmp_path: Path
) -> None:
    compile_contracts.write_artifacts(fresh_build, tmp_path)
    artifact = json.loads((tmp_path / "CredentialRegistry.json").read_text())
    artifact["imports"][MERKLE_PROOF] = "0" * 64
    (tmp_path / "CredentialRegistry.json").write_text(
        json.dumps(artifact, indent=2, sort_keys=True) + "\n"
    )
    difference = compile_contracts.first_difference(fresh_build, tmp_path)
    assert difference == "CredentialRegistry.json: differs from a fresh build"
