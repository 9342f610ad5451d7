"""The issuer metadata the consortium votes on, and the DID aliases it binds.

Why here: an accreditation proposal carries the issuer's public profile (names, homepage, logo,
location, Credential Engine CTID, ROR id) as a JSON document and a list of DID aliases (e.g. the
institution's `did:web`). The contract publishes the document in `ProposalCreated`, stores only
its keccak256 and binds the aliases on execution, so what every member node's registry says about
an issuer was decided M-of-N, byte for byte. This module owns the document's shape:

- `IssuerMetadata.to_chain()` is the exact string proposed (JCS, RFC 8785; absent fields
  omitted), so the same profile always has the same hash on every node;
- `IssuerMetadata.from_chain()` reads a published document back, tolerating anything (it is
  input from whichever member proposed it): unknown keys are ignored, a malformed document is
  None, and the registry then serves the issuer without a profile rather than failing;
- `normalize_alias()` is the byte form aliases are proposed in (the contract compares bytes).

Field names are those of the DCC profile of OpenID Federation (`organization_name`, `homepage_uri`,
`logo_uri`, `location`, `legal_name`, `ctid`, `rorid`), so the registry maps them one to one.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from node.credentials import jcs
from node.errors import InvalidInput

#: The contract's `MAX_METADATA_LENGTH` (bytes of the UTF-8 JSON document).
MAX_METADATA_BYTES = 4096
#: The contract's `MAX_ALIASES` and `MAX_ALIAS_LENGTH`.
MAX_ALIASES = 8
MAX_ALIAS_BYTES = 256
#: Marks the document as ours (a later version can change the shape without ambiguity).
METADATA_TYPE = "LernodeIssuerMetadata/1"

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_HTTPS_URL = re.compile(r"^https://[^\s/?#]+(?:[/?#]\S*)?$", re.ASCII)
_DATA_IMAGE = re.compile(
    r"^data:image/(?:png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/]+={0,2}$", re.ASCII
)
#: Credential Engine CTID: `ce-` and a lowercase UUID.
_CTID = re.compile(r"^ce-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
#: ROR id: `0`, six Crockford base32 characters, two checksum digits.
_ROR_ID = re.compile(r"^0[0-9a-hjkmnp-tv-z]{6}[0-9]{2}$")
_DID = re.compile(
    r"^did:[a-z0-9]+:(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2}|:)*(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})$",
    re.ASCII,
)


def _text(value: str | None, field: str) -> str | None:
    if value is not None and _CONTROL.search(value):
        raise ValueError(f"{field} may not contain control characters")
    return value


class IssuerMetadata(BaseModel):
    """An issuer's public profile as proposed for a vote (and later served by the registry)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    organization_name: str = Field(min_length=1, max_length=200, description="Display name")
    legal_name: str | None = Field(None, min_length=1, max_length=300)
    homepage_uri: str | None = Field(None, max_length=512, description="https:// URL")
    logo_uri: str | None = Field(
        None, max_length=3000, description="https:// URL or a small data:image/...;base64 URI"
    )
    location: str | None = Field(None, min_length=1, max_length=200, examples=["Boston, MA, USA"])
    ctid: str | None = Field(None, description="Credential Engine CTID, ce-<uuid>")
    rorid: str | None = Field(None, description="ROR id (e.g. 042nb2s44) or https://ror.org/<id>")

    @field_validator("organization_name", "legal_name", "location")
    @classmethod
    def _plain_text(cls, value: str | None, info: Any) -> str | None:
        return _text(value, info.field_name)

    @field_validator("homepage_uri")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not _HTTPS_URL.match(value):
            raise ValueError("must be an https:// URL")
        return value

    @field_validator("logo_uri")
    @classmethod
    def _logo(cls, value: str | None) -> str | None:
        if value is not None and not (_HTTPS_URL.match(value) or _DATA_IMAGE.match(value)):
            raise ValueError("must be an https:// URL or a data:image/...;base64,... URI")
        return value

    @field_validator("ctid")
    @classmethod
    def _ctid(cls, value: str | None) -> str | None:
        if value is not None and not _CTID.match(value.lower()):
            raise ValueError("must be a Credential Engine CTID: ce-<uuid>")
        return value.lower() if value is not None else None

    @field_validator("rorid")
    @classmethod
    def _rorid(cls, value: str | None) -> str | None:
        if value is None:
            return None
        bare = value.lower().removeprefix("https://ror.org/")
        if not _ROR_ID.match(bare):
            raise ValueError("must be a ROR id such as 042nb2s44")
        return bare

    @classmethod
    def from_profile(cls, name: str, homepage: str | None) -> IssuerMetadata:
        """A profile from what a node knows of its institution (a name and maybe a URL, as an
        operator typed them): control characters dropped, the name cut to size, a homepage
        that is not a plain https URL left out. Never fails."""
        clean = _CONTROL.sub("", name).strip()[:200] or "Unnamed institution"
        try:
            return cls(organization_name=clean, homepage_uri=homepage)
        except ValidationError:
            return cls(organization_name=clean)

    # -- the chain form ------------------------------------------------------------------------

    def to_chain(self) -> str:
        """The exact document proposed: JCS (RFC 8785), absent fields omitted."""
        document = {"type": METADATA_TYPE, **self.model_dump(exclude_none=True)}
        text = jcs.canonicalize(document).decode("utf-8")
        if len(text.encode("utf-8")) > MAX_METADATA_BYTES:
            raise InvalidInput(
                f"issuer metadata is {len(text.encode())} bytes; the contract accepts at most "
                f"{MAX_METADATA_BYTES} (use a logo URL rather than a large data URI)",
                code="metadata_too_long",
            )
        return text

    @classmethod
    def from_chain(cls, text: str | None) -> IssuerMetadata | None:
        """The profile a published document describes, or None when it describes none."""
        if not text:
            return None
        try:
            document = json.loads(text)
        except ValueError:
            return None
        if not isinstance(document, dict) or document.get("type") != METADATA_TYPE:
            return None
        known = {key: value for key, value in document.items() if key in cls.model_fields}
        try:
            return cls.model_validate(known)
        except ValidationError:
            return None

    # -- shapes for the registry protocols ------------------------------------------------------

    @property
    def ctid_url(self) -> str | None:
        if self.ctid is None:
            return None
        return f"https://credentialengineregistry.org/resources/{self.ctid}"

    @property
    def ror_url(self) -> str | None:
        return f"https://ror.org/{self.rorid}" if self.rorid else None


def normalize_alias(alias: str) -> str:
    """The byte form an alias is proposed in: a DID, `did:web` host lowercased.

    The contract compares aliases byte for byte, so `did:web:Registrar.Example.edu` and
    `did:web:registrar.example.edu` would be two aliases; DNS names are case-insensitive, so
    only the lowercase one is ever proposed.
    """
    value = alias.strip()
    if not _DID.match(value):
        raise InvalidInput(f"not a DID: {value[:120]!r}", code="invalid_alias")
    if value.startswith("did:web:"):
        host, sep, path = value[len("did:web:") :].partition(":")
        value = f"did:web:{_normalize_host(host)}{sep}{path}"
    if value.startswith("did:ethr:"):
        raise InvalidInput(
            "a did:ethr is the issuer's own identity, not an alias", code="invalid_alias"
        )
    if len(value.encode("utf-8")) > MAX_ALIAS_BYTES:
        raise InvalidInput(f"an alias may be at most {MAX_ALIAS_BYTES} bytes", code="invalid_alias")
    return value


def _normalize_host(host: str) -> str:
    """A did:web host in RFC 3986 normal form: letters lowercase, percent-escapes (the port's
    `%3A`) uppercase."""
    return re.sub(
        r"%[0-9A-Fa-f]{2}|[^%]+",
        lambda m: m.group(0).upper() if m.group(0).startswith("%") else m.group(0).lower(),
        host,
    )


def normalize_aliases(aliases: list[str] | tuple[str, ...]) -> list[str]:
    """Aliases as proposed: normalized, distinct, at most `MAX_ALIASES`."""
    normalized = list(dict.fromkeys(normalize_alias(alias) for alias in aliases))
    if len(normalized) > MAX_ALIASES:
        raise InvalidInput(
            f"at most {MAX_ALIASES} aliases per accreditation", code="too_many_aliases"
        )
    return normalized
