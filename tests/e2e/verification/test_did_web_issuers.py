"""An institution that signs under a did:web the consortium bound to its address (TEAM decision 3)
is checked against the chain like its did:ethr, by the node (from its index) and by the RPC-only
CLI (without contacting the institution's web server); the same did:web unbound is an off-chain
issuer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from node.chain.contracts.types import credential_type_id
from node.credentials.merkle import credential_hash, leaf
from node.credentials.proofs import sign
from node.store.models import Institution
from node.verification.submission import parse_submission
from tests.support.verification_nodes import IssuerSite, failing, index, write_bundle

pytestmark = pytest.mark.anvil

DID_WEB = "did:web:registrar.harbor.example"


def accredit_with_alias(site: IssuerSite, name: str, alias: str) -> Institution:
    """A second institution, accredited with `alias` bound to its address."""
    node = site.node
    institution = node.onboarding.create_institution(name)
    proposal = node.governance.propose_accreditation(
        node.operator,
        institution.address,
        ["OpenBadgeCredential"],
        aliases=[alias],
    )
    node.governance.execute(node.operator, proposal)
    return institution


def did_web_badge(site: IssuerSite, institution: Institution, did: str) -> dict[str, Any]:
    """One of the institution's badges re-signed under `did` and anchored alone."""
    node = site.node
    document = site.issue(institution)["credential"]
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    unsigned["id"] = "urn:uuid:0d5e3f7a-6b1c-4e2d-9a8b-7c6d5e4f3a2b"
    unsigned["issuer"] = {**unsigned["issuer"], "id": did}
    assert institution.verification_method is not None
    fragment = institution.verification_method.split("#", 1)[1]
    key = node.signing_key(institution)
    credential = sign(unsigned, key.private_key, f"{did}#{fragment}")
    account = node.onboarding.account(institution)
    registry = node.contracts.credential_registry
    node.sender(account).transact(
        registry.anchor(
            leaf(credential_hash(credential)), 1, credential_type_id("OpenBadgeCredential")
        )
    )
    return credential


def test_a_did_web_bound_by_the_consortium_verifies_from_the_chain(
    site: IssuerSite, tmp_path: Path
) -> None:
    institution = accredit_with_alias(site, "Harbor Training Center", DID_WEB)
    credential = did_web_badge(site, institution, DID_WEB)
    node = site.node
    index(node)
    report = node.verifier.verify(parse_submission(credential))
    assert report.verdict == "valid", failing(report)
    assert report.as_json()["chainState"]["source"] == "index"

    path = write_bundle(tmp_path / "badge.json", credential)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "node.cli",
            "verify",
            str(path),
            "--rpc",
            node.chain.rpc_url,
            "--registry",
            node.deployment.credential_registry,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_unbound_did_web_is_an_off_chain_issuer(site: IssuerSite) -> None:
    credential = did_web_badge(site, site.institution, "did:web:unbound.example")
    index(site.node)
    report = site.node.verifier.verify(parse_submission(credential))
    assert report.check("anchor").code == "not_applicable_off_chain"
    assert report.verdict != "valid"
