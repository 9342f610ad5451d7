"""Real nodes for the verifier's specifications.

`IssuerSite` is an issuing institution's node on a chain the test started itself (an
`AnvilProcess`, so closing the node leaves the chain up, as when an institution's server goes
away), with the consortium deployed by a funded dev account that is also the node's operator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from node.chain.anvil import DEFAULT_CHAIN_ID, AnvilProcess
from node.config import Settings
from node.credentials.inputs import CredentialInput
from node.store.models import Institution
from node.verification.report import VerificationReport
from node.verification.submission import parse_submission
from node.wiring.runtime import Node
from tests.support.nodes import joining, open_ready_node

ACHIEVEMENT = {
    "name": "Industrial Electrician",
    "description": "Installs and maintains industrial electrical systems",
    "criteria_narrative": "Passed the licensing board exam",
    "achievement_type": "License",
    "alignments": [
        {
            "target_name": "Electrical installation",
            "target_url": "https://example.org/skills/electrical-installation",
            "target_framework": "ESCO",
        }
    ],
}


def credential_input(**fields: Any) -> CredentialInput:
    return CredentialInput.model_validate(
        {
            "learner": {"name": "Grace Hopper", "email": "grace@example.edu"},
            "achievement": ACHIEVEMENT,
            **fields,
        }
    )


def start_chain(chain_id: int = DEFAULT_CHAIN_ID) -> AnvilProcess:
    return AnvilProcess(chain_id=chain_id).start()


def advance(node: Node, seconds: int) -> None:
    """Let chain time pass, so that events of one test never share a block second."""
    node.chain.request("evm_increaseTime", [seconds])
    node.chain.request("evm_mine", [])


@dataclass
class IssuerSite:
    node: Node
    institution: Institution
    settings: Settings

    @classmethod
    def open(cls, data_dir: Path, chain: AnvilProcess, **settings: Any) -> IssuerSite:
        """Deploy the consortium on `chain` (operator = dev account 0) and open an accredited
        institution's node on it."""
        ready = open_ready_node(
            data_dir,
            **joining(chain, data_dir),
            confirmations=0,
            institution_name="Northwind Technical Institute",
            **settings,
        )
        return cls(ready.node, ready.institution, ready.settings)

    def issue(self, institution: Institution | None = None, **fields: Any) -> dict[str, Any]:
        """Issue one credential and anchor it; its bundle {credential, receipt}."""
        issued = self.node.issuance.issue(
            institution or self.institution, [credential_input(**fields)]
        )[0]
        self.node.worker.drain()
        return self.bundle(issued["id"])

    def bundle(self, credential_id: str) -> dict[str, Any]:
        return self.node.issuance.bundle(self.node.issuance.record(credential_id))

    def verify(self, body: Any, at: str | datetime | None = None) -> VerificationReport:
        return self.node.verifier.verify(parse_submission(body, at=at))


def index(node: Node) -> None:
    """Bring the node's event indexes (chain and registry cursors) to the chain head."""
    node.indexer.poll_once()
    node.registry_indexer.poll_once()


def failing(report: VerificationReport) -> dict[str, str]:
    """name -> code of every check that did not pass (embedded credentials included)."""
    found = {c.name: c.code for c in report.checks if c.status != "passed"}
    for inner in report.embedded:
        found.update({f"embedded.{k}": v for k, v in failing(inner).items()})
    return found


def write_bundle(path: Path, bundle: dict[str, Any]) -> Path:
    path.write_text(json.dumps(bundle, indent=2))
    return path
