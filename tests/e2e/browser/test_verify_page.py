"""What a person sees on the /verify page in a real browser (headless Chromium): the verdict in
words, the credential as they would read it, and one line per check with its reason."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from lxml import html as lxml_html

from node.api.app import create_app
from node.chain.anvil import free_port
from node.credentials.inputs import CredentialInput
from node.wiring.runtime import Node
from tests.support.nodes import ready_node
from tests.support.tls import serve

pytestmark = [pytest.mark.browser, pytest.mark.anvil]

CHROMIUM = next(
    (found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None
)
CHECK_LABELS = (
    "Format",
    "Signature",
    "Issuer's signing key",
    "Issuer accreditation",
    "Blockchain anchor",
    "Revocation and suspension",
    "Validity period",
)
CREDENTIAL = {
    "learner": {"name": "Katherine Johnson", "email": "katherine@example.edu"},
    "achievement": {
        "name": "Orbital Mechanics",
        "description": "Computes trajectories for crewed spaceflight",
        "criteria_narrative": "Completed the capstone analysis",
        "achievement_type": "Course",
        "alignments": [
            {
                "target_name": "Celestial navigation",
                "target_url": "https://example.org/skills/celestial-navigation",
            }
        ],
    },
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, str]]:
    """A ready node behind a real HTTP server (uvicorn in a thread) on a free port."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (CI installs the `chromium` package)")
    port = free_port()
    data_dir = tmp_path_factory.mktemp("page-node")
    with (
        ready_node(data_dir, background=False, port=port) as ready,
        serve(create_app(ready.node), port),
    ):
        yield ready.node, f"http://127.0.0.1:{port}"


def issue_bundle(node: Node, **fields: Any) -> dict[str, Any]:
    institution = node.own_institution()
    assert institution is not None
    issued = node.issuance.issue(
        institution, [CredentialInput.model_validate({**CREDENTIAL, **fields})]
    )[0]
    node.worker.drain()
    return node.issuance.bundle(node.issuance.record(issued["id"]))


def link(base: str, bundle: dict[str, Any]) -> str:
    """The link `lernode export` prints: base64url of the bundle, unpadded."""
    encoded = base64.urlsafe_b64encode(json.dumps(bundle).encode()).decode().rstrip("=")
    return f"{base}/verify?credential={encoded}"


def rendered(url: str, profile: Path) -> Any:
    """The page's DOM after Chromium loaded it, parsed."""
    done = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return lxml_html.fromstring(done.stdout)


def text(element: Any) -> str:
    return " ".join(element.text_content().split())


def check_lines(page: Any) -> dict[str, tuple[str, str]]:
    """label -> (status shown, whole line) of every check line of the main report."""
    lines = page.xpath("//section[@aria-labelledby='checks-heading']//li[@data-check]")
    return {
        text(line.xpath(".//strong")[0]): (line.get("data-status"), text(line)) for line in lines
    }


def test_a_valid_credential_reads_as_valid_with_what_it_certifies(
    served: tuple[Node, str], tmp_path: Path
) -> None:
    node, base = served
    page = rendered(link(base, issue_bundle(node)), tmp_path / "profile")

    verdict = page.xpath("//*[@role='status']")[0]
    assert text(verdict).startswith("✓ Valid")
    assert verdict.get("data-verdict") == "valid"
    details = text(page.xpath("//section[@aria-labelledby='credential-heading']")[0])
    for shown in ("Orbital Mechanics", "Katherine Johnson", "Celestial navigation", "Course"):
        assert shown in details
    institution = node.own_institution()
    assert institution is not None and institution.did in details

    lines = check_lines(page)
    assert list(lines) == list(CHECK_LABELS)
    for status, line in lines.values():
        assert status == "passed"
        assert line.startswith("✓ Passed")  # in words, not only in colour
    assert page.xpath("//main") and page.xpath("//h1")
    assert page.xpath("//label[@for='credential']") and page.xpath("//label[@for='file']")


def test_a_tampered_credential_says_which_checks_failed_and_why(
    served: tuple[Node, str], tmp_path: Path
) -> None:
    node, base = served
    bundle = issue_bundle(node)
    bundle["credential"]["credentialSubject"]["name"] = "Someone Else"
    url = f"{base}/verify?credential={quote(json.dumps(bundle))}"
    page = rendered(url, tmp_path / "profile")

    assert text(page.xpath("//*[@role='status']")[0]).startswith("✗ Not valid")
    lines = check_lines(page)
    assert lines["Signature"][0] == "failed"
    assert "✗ Failed" in lines["Signature"][1] and "proof_invalid" in lines["Signature"][1]
    assert lines["Blockchain anchor"][0] == "failed"
    assert "receipt_mismatch" in lines["Blockchain anchor"][1]
    assert lines["Format"][0] == "passed"


def test_input_that_is_not_a_credential_is_explained_on_the_page(
    served: tuple[Node, str], tmp_path: Path
) -> None:
    _node, base = served
    not_a_credential = quote(json.dumps({"hello": 1}))
    page = rendered(f"{base}/verify?credential={not_a_credential}", tmp_path / "p")
    alert = text(page.xpath("//*[@role='alert']")[0])
    assert "not a credential" in alert and "not_a_credential" in alert
