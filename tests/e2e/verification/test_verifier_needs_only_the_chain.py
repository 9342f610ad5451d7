"""The verifier trusts the chain, not the issuer's node: institution A's node issues; node B,
which shares only the chain and A's deployment record, verifies A's credential; and once A's
node is gone, `lernode verify` with nothing but an RPC URL and the registry address still does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from node.api.app import create_app
from node.config import Settings
from node.verification.submission import parse_submission
from node.wiring.runtime import Node
from tests.support.verification_nodes import IssuerSite, failing, start_chain, write_bundle

pytestmark = pytest.mark.anvil


def lernode_verify(*args: str) -> subprocess.CompletedProcess[str]:
    """`lernode verify ...` as a separate process (no database, no node)."""
    return subprocess.run(
        [sys.executable, "-m", "node.cli", "verify", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_another_node_and_then_the_bare_chain_verify_an_institutions_credential(
    tmp_path: Path,
) -> None:
    chain = start_chain()
    try:
        a = IssuerSite.open(tmp_path / "a", chain)
        try:
            bundle = a.issue()
            registry = a.node.deployment.credential_registry
            b = Node.open(
                Settings(
                    data_dir=tmp_path / "b",
                    rpc_url=chain.rpc_url,
                    chain_id=chain.chain_id,
                    deployment_file=a.settings.deployment_path,
                )
            )
            try:
                b.indexer.poll_once()  # B resolves A's DID from its own index
                report = b.verifier.verify(parse_submission(bundle))
                assert report.verdict == "valid", failing(report)
                with TestClient(create_app(b)) as api:
                    response = api.post("/v1/verify", json=bundle)
                assert response.json()["verdict"] == "valid"
                # B holds no record of A's credential: without the receipt it cannot tell.
                bare = b.verifier.verify(parse_submission(bundle["credential"]))
                assert bare.check("anchor").code in {"no_receipt", "anchored"}
            finally:
                b.close()
        finally:
            a.node.close()

        path = write_bundle(tmp_path / "bundle.json", bundle)
        done = lernode_verify(str(path), "--rpc", chain.rpc_url, "--registry", registry)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.startswith("VALID")
        for name in ("format", "proof", "issuer_key", "accreditation", "anchor", "status"):
            assert f"passed   {name}" in done.stdout

        as_json = lernode_verify(
            str(path), "--rpc", chain.rpc_url, "--registry", registry, "--json"
        )
        assert as_json.returncode == 0
        assert json.loads(as_json.stdout)["verdict"] == "valid"

        bundle["credential"]["name"] = "Forged"
        forged = write_bundle(tmp_path / "forged.json", bundle)
        refused = lernode_verify(str(forged), "--rpc", chain.rpc_url, "--registry", registry)
        assert refused.returncode == 1
        assert refused.stdout.startswith("INVALID")
        assert "failed   proof" in refused.stdout
    finally:
        chain.stop()


def test_the_cli_explains_in_one_line_why_it_could_not_verify(tmp_path: Path) -> None:
    missing = lernode_verify(
        str(tmp_path / "nope.json"), "--rpc", "http://127.0.0.1:9", "--registry", "0x" + "00" * 20
    )
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0
    assert "unreadable_file" in missing.stderr

    path = tmp_path / "x.json"
    path.write_text('{"hello": "world"}')
    not_credential = lernode_verify(
        str(path), "--rpc", "http://127.0.0.1:9", "--registry", "0x" + "00" * 20
    )
    assert not_credential.returncode == 2
    assert "not_a_credential" in not_credential.stderr
