"""Tampering: every single-field change to an issued credential or its anchor receipt fails
verification (>= 500 mutations).

Bundles `{credential, receipt}` come from a real node (final, anchored in a batch of 4 so the
Merkle proof has siblings). Every leaf of the credential and of the receipt is mutated in turn,
one at a time: strings get a character replaced (never only its case: hex is compared
case-insensitively by design), numbers are shifted, booleans flipped, list items dropped,
object members deleted. Each mutated bundle goes through the node's verification engine
(`node.verifier.verify(Submission(credential, receipt))`), which must not call it
`valid` (a refusal as out of scope, `InvalidInput`, counts as not valid). It skips while
`node/services/verification.py` does not exist.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from node.api.app import create_app
from node.wiring.runtime import Node

pytestmark = [pytest.mark.slow, pytest.mark.anvil]

MIN_MUTATIONS = 500
ACHIEVEMENT = {
    "name": "Tamper Evidence",
    "description": "Knows that one changed byte shows",
    "criteria_narrative": "Passed",
    "achievement_type": "Certificate",
}

Path = tuple[str | int, ...]


def leaves(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every (path, value) in a JSON document, containers included."""
    yield path, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from leaves(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from leaves(child, (*path, index))


def changed_text(text: str) -> list[str]:
    """Variants of `text` that differ in meaning, not just case."""
    if not text:
        return ["x"]
    variants = []
    for position in {0, len(text) // 2, len(text) - 1}:
        old = text[position]
        new = "1" if old.lower() != "1" else "2"
        variants.append(text[:position] + new + text[position + 1 :])
    variants.append(text + "0")
    return [v for v in dict.fromkeys(variants) if v.lower() != text.lower()]


def mutations(document: Any) -> Iterator[tuple[str, Any]]:
    """(description, mutated copy) for single-field changes of `document`."""
    for path, value in list(leaves(document)):
        if not path:
            continue
        variants: list[tuple[str, Any]] = []
        if isinstance(value, bool):
            variants = [("flip", not value)]
        elif isinstance(value, int | float):
            variants = [("+1", value + 1), ("-1", value - 1)]
        elif isinstance(value, str):
            variants = [(f"text {i}", v) for i, v in enumerate(changed_text(value))]
        elif value is None:
            variants = [("set", "0x" + "11" * 32)]
        for label, replacement in variants:
            mutated = copy.deepcopy(document)
            _set(mutated, path, replacement)
            yield f"{_name(path)} {label}", mutated
        mutated = copy.deepcopy(document)
        _delete(mutated, path)
        yield f"{_name(path)} deleted", mutated


def _set(document: Any, path: Path, value: Any) -> None:
    for part in path[:-1]:
        document = document[part]
    document[path[-1]] = value


def _delete(document: Any, path: Path) -> None:
    for part in path[:-1]:
        document = document[part]
    del document[path[-1]]


def _name(path: Path) -> str:
    return ".".join(str(p) for p in path)


@pytest.fixture(scope="module")
def bundles(live: tuple[Node, str]) -> list[dict[str, Any]]:
    node, admin_key = live
    with TestClient(create_app(node), headers={"Authorization": f"Bearer {admin_key}"}) as api:
        inputs = [
            {"learner": {"name": f"Holder {i}", "email": f"h{i}@example.edu"},
             "achievement": ACHIEVEMENT}
            for i in range(4)
        ]  # fmt: skip
        issued = api.post(
            "/v1/credentials", json={"credentials": inputs, "anchor_now": True}
        ).json()["credentials"]
        node.worker.drain(timeout=60)
        return [api.get(f"/v1/credentials/{c['id']}/bundle").json() for c in issued[:2]]


@pytest.fixture(scope="module")
def verdict(live: tuple[Node, str]) -> Any:
    """verdict(credential, receipt) -> "valid" | "invalid" | "unknown" | "refused: <code>"."""
    from node.errors import InvalidInput
    from node.verification.report import Submission

    verifier = live[0].verifier

    def run(credential: Any, receipt: Any) -> str:
        try:
            report = verifier.verify(Submission(credential=credential, receipt=receipt))
        except InvalidInput as exc:
            return f"refused: {exc.code}"  # out of scope for any verifier: not accepted either
        return str(report.verdict)

    return run


def campaign(bundles: list[dict[str, Any]], verdict: Any, part: str) -> tuple[int, list[str]]:
    """Mutate `part` of every bundle; (mutations tried, those still verdict `valid`)."""
    tried, accepted = 0, []
    for number, bundle in enumerate(bundles):
        assert bundle["receipt"] is not None and len(bundle["receipt"]["proof"]) >= 1
        assert verdict(bundle["credential"], bundle["receipt"]) == "valid"
        for label, mutated in mutations(bundle[part]):
            tried += 1
            submitted = {**bundle, part: mutated}
            if verdict(submitted["credential"], submitted["receipt"]) == "valid":
                accepted.append(f"bundle {number} {part}.{label}")
    return tried, accepted


def test_every_single_field_mutation_of_a_credential_fails_verification(
    bundles: list[dict[str, Any]], verdict: Any
) -> None:
    tried, accepted = campaign(bundles, verdict, "credential")
    print(f"\ntamper (credential): {tried} single-field mutations, {len(accepted)} accepted")
    assert tried >= 400
    assert accepted == [], ", ".join(sorted({a.split(" ", 2)[2] for a in accepted}))


def test_every_single_field_mutation_of_a_receipt_fails_verification(
    bundles: list[dict[str, Any]], verdict: Any
) -> None:
    """A receipt that misstates its block, time, transaction, issuer or count is a forged
    receipt, even when the credential it accompanies is genuine: accepting it would let a
    holder present false anchoring facts with a `valid` verdict."""
    tried, accepted = campaign(bundles, verdict, "receipt")
    print(f"\ntamper (receipt): {tried} single-field mutations, {len(accepted)} accepted")
    assert tried >= 100
    assert accepted == [], ", ".join(sorted({a.split(" ", 2)[2] for a in accepted}))


def test_the_mutation_generator_covers_every_field(bundles: list[dict[str, Any]]) -> None:
    """The campaign's reach, independent of the verifier: every leaf is changed or deleted."""
    bundle = bundles[0]
    for part in ("credential", "receipt"):
        labels = {label for label, _ in mutations(bundle[part])}
        for path, value in leaves(bundle[part]):
            if path:
                assert f"{_name(path)} deleted" in labels
                if not isinstance(value, dict | list):
                    assert any(
                        label.startswith(f"{_name(path)} ") and not label.endswith("deleted")
                        for label in labels
                    ), path
    total = sum(len(list(mutations(b[p]))) for b in bundles for p in ("credential", "receipt"))
    print(f"\ntamper campaign size: {total} mutations")
    assert total >= MIN_MUTATIONS, total
