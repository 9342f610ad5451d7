"""A cohort from a spreadsheet: one credential template plus one CSV row per learner.

Registrars keep learners in spreadsheets; the template (JSON, a `CredentialInput` without the
learner) says what everyone earned, each row says who, and may override the per-learner parts
(result, dates). Every row is validated before anything is issued, and errors name the row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from node.credentials.inputs import CredentialInput
from node.errors import InvalidInput

#: CSV columns that describe the learner.
LEARNER_COLUMNS = {"name", "email", "id", "student_id"}
#: CSV columns that override the template for one learner.
OVERRIDE_COLUMNS = {
    "result",
    "result_status",
    "valid_from",
    "valid_until",
    "role",
    "activity_start_date",
    "activity_end_date",
}
KNOWN_COLUMNS = LEARNER_COLUMNS | OVERRIDE_COLUMNS
MAX_ROWS = 100_000


def _learner(row: Mapping[str, str]) -> dict[str, Any]:
    learner: dict[str, Any] = {k: row[k] for k in ("name", "email", "id") if row.get(k)}
    if row.get("student_id"):
        # A student number is the id the student information system knows the learner by.
        learner["identifiers"] = [{"identity_type": "sisSourcedId", "value": row["student_id"]}]
    return learner


def _overrides(row: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        key: row[key]
        for key in ("valid_from", "valid_until", "role", "activity_start_date", "activity_end_date")
        if row.get(key)
    }
    if row.get("result") or row.get("result_status"):
        result: dict[str, Any] = {}
        if row.get("result"):
            result["value"] = row["result"]
        if row.get("result_status"):
            result["status"] = row["result_status"]
        values["results"] = [result]
    return values


def cohort_inputs(template: Mapping[str, Any], csv_text: str) -> list[CredentialInput]:
    """One `CredentialInput` per CSV row; `InvalidInput` naming the first bad row or column."""
    if "learner" in template:
        raise InvalidInput(
            "the template describes the achievement; learners come from the CSV",
            code="invalid_template",
        )
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")))
    columns = {c.strip() for c in reader.fieldnames or []}
    if not columns & LEARNER_COLUMNS:
        raise InvalidInput(
            f"the CSV needs a learner column ({', '.join(sorted(LEARNER_COLUMNS))})",
            code="invalid_csv",
        )
    unknown = columns - KNOWN_COLUMNS
    if unknown:
        raise InvalidInput(
            f"unknown CSV column(s): {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(KNOWN_COLUMNS))}",
            code="invalid_csv",
        )
    inputs: list[CredentialInput] = []
    for line, raw in enumerate(reader, start=2):
        if len(inputs) >= MAX_ROWS:
            raise InvalidInput(f"at most {MAX_ROWS} rows per file", code="invalid_csv")
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        try:
            inputs.append(
                CredentialInput.model_validate(
                    {**template, "learner": _learner(row), **_overrides(row)}
                )
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidInput(
                f"CSV line {line}: {where}: {first['msg']}", code="invalid_csv", line=line
            ) from None
    if not inputs:
        raise InvalidInput("the CSV has no learner rows", code="invalid_csv")
    return inputs
