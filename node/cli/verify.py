"""`lernode verify FILE --rpc URL --registry ADDRESS`: verification with nothing but the chain.

No database, no node, no keys: the CredentialRegistry address leads to the IssuerRegistry and
the DID registry, DID documents are rebuilt by walking the ERC-1056 history over RPC, and the
same engine as the node's API produces the report. So a credential stays verifiable when its
issuer's node is gone, as long as the chain is there.

Exit status: 0 valid, 1 invalid or undecided (`unknown`), 2 the verification could not run
(unreadable file, input out of scope, chain unreachable), with one line on stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from node.chain.client import ChainClient
from node.credentials.json_depth import loads_bounded
from node.did.chain_resolver import ChainDidResolver
from node.errors import InvalidInput, LernodeError
from node.verification.chain_reader import RegistryReader
from node.verification.engine import Verifier
from node.verification.report import Verdict, VerificationReport
from node.verification.submission import parse_instant, parse_submission, require_verifiable

EXIT_VALID = 0
EXIT_NOT_VALID = 1
EXIT_ERROR = 2
#: Largest file read: far above any credential, far below what would hurt.
MAX_FILE_BYTES = 16 * 1024 * 1024


def run_verify(
    path: Path,
    rpc_url: str,
    registry_address: str,
    *,
    json_output: bool = False,
    at: str | None = None,
    did_registry: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Verify the credential or bundle in `path`; print the report; return the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        submission = parse_submission(_read_json(Path(path)), at=parse_instant(at))
        require_verifiable(submission.credential)  # refuse bad input before dialling the chain
        client = ChainClient(rpc_url)
        client.connect()
        chain = RegistryReader.from_registry_address(client, registry_address, did_registry)
        verifier = Verifier(chain, ChainDidResolver(client, chain.did_registry))
        report = verifier.verify(submission)
    except LernodeError as error:
        print(f"error: {error.detail} [{error.code}]", file=err)
        return EXIT_ERROR
    if json_output:
        print(json.dumps(report.as_json(), indent=2), file=out)
    else:
        print(render_text(report), file=out)
    return EXIT_VALID if report.verdict is Verdict.VALID else EXIT_NOT_VALID


def _read_json(path: Path) -> Any:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise InvalidInput(
            f"cannot read {path}: {error.strerror}", code="unreadable_file"
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(f"{path} is larger than {MAX_FILE_BYTES} bytes", code="file_too_large")
    try:
        return loads_bounded(data)
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidInput(f"{path} is not JSON: {error}", code="invalid_json") from None


def render_text(report: VerificationReport, indent: str = "") -> str:
    """The report for a terminal: a headline, then one line per check."""
    summary = report.credential
    achievement = (summary.get("achievement") or {}).get("name") or summary.get("name")
    issuer = summary.get("issuer") or {}
    headline = f"{indent}{report.verdict.value.upper()}: {summary.get('type') or 'credential'}"
    if achievement:
        headline += f" {achievement!r}"
    if issuer.get("name") or issuer.get("id"):
        headline += f" issued by {issuer.get('name') or ''} ({issuer.get('id')})".replace(
            "by  (", "by ("
        )
    lines = [headline]
    for check in report.checks:
        lines.append(
            f"{indent}  {check.status.value:<8} {check.name:<14} {check.code}: {check.detail}"
        )
    for number, inner in enumerate(report.embedded, start=1):
        lines.append(f"{indent}  embedded credential {number}:")
        lines.append(render_text(inner, indent + "    "))
    return "\n".join(lines)
