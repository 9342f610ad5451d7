"""Base models and the field types request models share."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

#: A JSON-LD document (credential, DID document): its own specification defines its members.
JsonDocument = Annotated[dict[str, Any], Field(json_schema_extra={"additionalProperties": True})]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _single_line(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters (line breaks, tabs, NUL)")
    return value


#: A name, label or identifier: one line of printable text.
SingleLine = Annotated[str, AfterValidator(_single_line)]


class CamelModel(BaseModel):
    """A response whose JSON members are camelCase (W3C and DIF vocabulary)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class OpenCamelModel(CamelModel):
    """A camelCase object built by a service; members it adds pass through."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


class OpenModel(BaseModel):
    """A snake_case object built by a service; members it adds pass through."""

    model_config = ConfigDict(extra="allow")
