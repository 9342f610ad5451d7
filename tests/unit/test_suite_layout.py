"""The test suite's own layout (tests/README.md): helpers are imported from `tests.support`, never
through edits of the import path, and every role in `ROLES` names a place that exists."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROLES, roles_of

TESTS = Path(__file__).resolve().parents[1]
ROLE_MARKERS = {"issuer", "verifier", "operator", "holder"}


def test_no_test_module_edits_sys_path() -> None:
    needle = "sys." + "path"
    offenders = [
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("*.py")
        if needle in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_every_role_entry_names_an_existing_folder_or_module_and_a_known_role() -> None:
    for place, roles in ROLES.items():
        assert (TESTS / place).exists(), place
        assert set(roles) <= ROLE_MARKERS, place


def test_a_role_folder_marks_its_modules_and_the_longest_entry_wins() -> None:
    assert roles_of(TESTS / "e2e" / "holder" / "test_collecting_an_offer.py") == ("holder",)
    assert roles_of(TESTS / "e2e" / "did" / "test_did_web_issuer.py") == ("issuer",)
    assert roles_of(TESTS / "e2e" / "did" / "test_did_indexed_resolution.py") == ()
