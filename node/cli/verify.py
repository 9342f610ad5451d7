"""`lernode verify FILE --rpc URL --registry ADDRESS`: verification with nothing but the chain.

No database, no node, no keys: the CredentialRegistry address leads to the IssuerRegistry and the
DID registry, and the same engine as the node's API produces the report. The chain is read in at
most two round trips (one `eth_call` for all state, one batch of `eth_getLogs`; see
`node.verification.readers.rpc`), from current state and logs only, so a pruned node serves it as
well as an archive node, and a credential stays verifiable when its issuer's node is gone, as
long as the chain is there.

The file may hold a credential, a bundle `{credential, receipt}` or a Verifiable Presentation
(with `--challenge` / `--domain` to check its freshness and audience).

Exit status: 0 valid, 1 invalid or undecided (`unknown`), 2 the verification could not run
(unreadable file, input out of scope, chain unreachable or answering unexpectedly), with one line
on stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

import requests
from eth_abi.exceptions import DecodingError
from web3.exceptions import Web3Exception

from node.chain.client import ChainClient
from node.credentials.json_depth import loads_bounded
from node.did.router import DidMethodRouter
from node.did.web_fetch import WebDidResolver, WebPolicy
from node.errors import InvalidInput, LernodeError
from node.verification.engine import VerificationLimits, Verifier
from node.verification.presentations import (
    PresentationReport,
    PresentationVerifier,
    is_presentation,
)
from node.verification.readers.rpc import RpcChainSource
from node.verification.report import Verdict, VerificationReport
from node.verification.submission import parse_instant, parse_submission, require_verifiable

EXIT_VALID = 0
EXIT_NOT_VALID = 1
EXIT_ERROR = 2
#: Largest file read: far above any credential, far below what would hurt.
MAX_FILE_BYTES = 16 * 1024 * 1024
#: Failures of the chain connection that are not `LernodeError`s (a node answering nonsense).
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    Web3Exception,
    requests.RequestException,
    DecodingError,
    OSError,
)


def run_verify(
    path: Path,
    rpc_url: str,
    registry_address: str,
    *,
    json_output: bool = False,
    at: str | None = None,
    did_registry: str | None = None,
    challenge: str | None = None,
    domain: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Verify the credential, bundle or presentation in `path`; print the report; return the
    exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        report = _verify(path, rpc_url, registry_address, at, did_registry, challenge, domain)
    except LernodeError as error:
        print(f"error: {error.detail} [{error.code}]", file=err)
        return EXIT_ERROR
    except INFRASTRUCTURE_ERRORS as error:
        detail = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        print(f"error: the chain could not answer: {detail} [chain_unavailable]", file=err)
        return EXIT_ERROR
    if json_output:
        print(json.dumps(report.as_json(), indent=2), file=out)
    elif isinstance(report, PresentationReport):
        print(render_presentation(report), file=out)
    else:
        print(render_text(report), file=out)
    return EXIT_VALID if report.verdict is Verdict.VALID else EXIT_NOT_VALID


def _verify(
    path: Path,
    rpc_url: str,
    registry_address: str,
    at: str | None,
    did_registry: str | None,
    challenge: str | None,
    domain: str | None,
) -> VerificationReport | PresentationReport:
    document = _read_json(Path(path))
    instant = parse_instant(at)
    presentation = is_presentation(document)
    submission = None
    if not presentation:
        submission = parse_submission(document, at=instant)
        require_verifiable(submission.credential)  # refuse bad input before dialling the chain
    source = RpcChainSource(ChainClient(rpc_url), registry_address, did_registry=did_registry)
    dids = DidMethodRouter(others={"web": WebDidResolver(WebPolicy())})
    verifier = Verifier(source, dids, limits=VerificationLimits(cpu_seconds=None))
    if submission is not None:
        return verifier.verify(submission)
    return PresentationVerifier(verifier, dids).verify(
        document, challenge=challenge, domain=domain, at=instant
    )


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
    if not indent and report.chain_state is not None:
        lines.append(f"  (chain state as of block {report.chain_state['block']})")
    return "\n".join(lines)


def render_presentation(report: PresentationReport) -> str:
    """A presentation's report: its own checks, then each credential's."""
    lines = [f"{report.verdict.value.upper()}: presentation by {report.holder or '(no holder)'}"]
    for check in report.checks:
        lines.append(f"  {check.status.value:<8} {check.name:<14} {check.code}: {check.detail}")
    for number, inner in enumerate(report.credentials, start=1):
        lines.append(f"  presented credential {number}:")
        lines.append(render_text(inner, "    "))
    return "\n".join(lines)
