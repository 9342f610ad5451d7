"""The TRQP 2.0 request/response JSON Schemas (Trust over IP, trqp_*.jsonschema, as published
in 2026): required members, types, RFC 3339 date-times, string-valued `context`. Written out
here as test data so the tests validate our shapes with a maintained JSON Schema library."""

from __future__ import annotations

from typing import Any

_CONTEXT = {
    "type": "object",
    "properties": {"time": {"type": "string"}, "locator": {"type": "string"}},
    "additionalProperties": {"type": "string"},
}
_STRING = {"type": "string"}
_DATE_TIME = {"type": "string", "format": "date-time"}


def _request(title: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "required": ["entity_id", "action", "resource", "authority_id"],
        "properties": {
            "entity_id": _STRING,
            "authority_id": _STRING,
            "action": _STRING,
            "resource": _STRING,
            "context": {
                **_CONTEXT,
                "properties": {"time": _DATE_TIME, "locator": _STRING},
            },
        },
    }


def _response(title: str, verdict: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "required": ["entity_id", "action", "resource", "authority_id", "time_evaluated", verdict],
        "properties": {
            "entity_id": _STRING,
            "authority_id": _STRING,
            "action": _STRING,
            "resource": _STRING,
            verdict: {"type": "boolean"},
            "time_requested": _DATE_TIME,
            "time_evaluated": _DATE_TIME,
            "message": _STRING,
            "context": _CONTEXT,
        },
    }


AUTHORIZATION_REQUEST = _request("AuthorizationRequest")
AUTHORIZATION_RESPONSE = _response("AuthorizationResponse", "authorized")
RECOGNITION_REQUEST = _request("RecognitionRequest")
RECOGNITION_RESPONSE = _response("RecognitionResponse", "recognized")
