"""The node's one settings object.

Values come, highest priority first, from `LERNODE_*` environment variables, then from a TOML
file (`LERNODE_CONFIG`, or `lernode.toml` in the data directory when it exists), then the
defaults below. Every field is documented in the README's configuration table; a test keeps the
two in step.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from node.errors import ConfigurationError

ENV_PREFIX = "LERNODE_"


def _toml_file() -> Path | None:
    explicit = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if explicit:
        return Path(explicit)
    data_dir = Path(os.environ.get(f"{ENV_PREFIX}DATA_DIR", ".lernode"))
    candidate = data_dir / "lernode.toml"
    return candidate if candidate.is_file() else None


class Settings(BaseSettings):
    """Everything an operator can configure, with safe defaults for a single-machine node."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    data_dir: Path = Field(
        Path(".lernode"),
        description="Keys, the embedded chain's state, the SQLite database and deployment.json.",
    )
    host: str = Field("127.0.0.1", description="Address the API listens on.")
    port: int = Field(8000, ge=0, le=65535, description="Port the API listens on.")
    public_url: str | None = Field(
        None,
        description="Base URL others reach this node at (status list ids, verification links). "
        "Default: http://HOST:PORT.",
    )
    rpc_url: str | None = Field(
        None,
        description="EVM JSON-RPC URL of the consortium chain. Unset: start an embedded anvil.",
    )
    chain_id: int | None = Field(
        None, description="Chain id the node must find at RPC_URL (refuses to start otherwise)."
    )
    embedded_chain_id: int = Field(31337, description="Chain id of the embedded anvil chain.")
    embedded_chain_port: int = Field(
        0, ge=0, le=65535, description="Port of the embedded anvil (0: pick a free one)."
    )
    embedded_block_time: float = Field(
        1.0,
        ge=0,
        description="Seconds between empty blocks on the embedded chain, so confirmations accrue "
        "(transactions are still mined at once). 0: blocks only when there are transactions.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db. "
        "Unset: SQLite file in the data directory.",
    )
    confirmations: int = Field(
        2, ge=0, le=1000, description="Blocks on top of a transaction before it counts as final."
    )
    deployment_file: Path | None = Field(
        None,
        description="deployment.json of an existing consortium (contract addresses). "
        "Default: DATA_DIR/deployment.json, written by `lernode deploy`.",
    )
    account_key: str | None = Field(
        None,
        description="0x-hex secp256k1 key to import as the node's account on first start "
        "(a funded account on an external chain). Stored encrypted; unset: generate one.",
    )
    key_passphrase: str | None = Field(
        None,
        description="Passphrase that encrypts the keys at rest. Unset: a random one is generated "
        "into DATA_DIR/secrets/passphrase (mode 0600).",
    )
    institution_name: str = Field(
        "Demo Institution", description="Display name of this node's own issuing institution."
    )
    anchor_batch_size: int = Field(
        1000, ge=1, le=100_000, description="Most credentials anchored in one Merkle root."
    )
    anchor_interval: float = Field(
        2.0, gt=0, description="Seconds the anchoring worker waits to fill a batch."
    )
    proposal_lifetime: int = Field(
        7 * 24 * 3600, ge=60, description="Seconds a governance proposal stays open (on deploy)."
    )
    verify_rate_limit: int = Field(
        600, ge=1, description="Requests per minute per client on public endpoints."
    )
    max_body_bytes: int = Field(
        1_000_000, ge=1024, description="Largest request body the API accepts."
    )
    max_verify_body_bytes: int = Field(
        4_000_000,
        ge=1024,
        description="Largest request body the verification routes accept (a CLR transcript "
        "of 500 achievements with its receipts).",
    )
    verify_cpu_seconds: float = Field(
        30.0,
        gt=0,
        description="CPU seconds one verification request may use before it is refused "
        "(verification_budget_exceeded).",
    )
    offer_ttl: int = Field(
        14 * 24 * 3600,
        ge=60,
        le=366 * 24 * 3600,
        description="Seconds a wallet offer (one learner's link) stays collectable.",
    )
    offer_token_ttl: int = Field(
        600,
        ge=30,
        le=86_400,
        description="Seconds an OpenID4VCI access token or nonce of an offer stays valid.",
    )
    wallet_request_url: str = Field(
        "https://lcw.app/request.html",
        description="Base of the DCC credential request deep link (the Learner Credential "
        "Wallet's; it opens dccrequest://request).",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated IP addresses or CIDR blocks of reverse proxies whose "
        "X-Forwarded-For / Forwarded headers name the client (for rate limits and logs). "
        "Default: none, the headers are ignored.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log verbosity."
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="Log lines as text, or as one JSON object per line (time, level, logger, "
        "message, process) for log collectors.",
    )
    access_log: bool = Field(
        True,
        description="One log line per HTTP request (method, path without its query, status). "
        "Off for a verification service whose proxy logs requests already: at hundreds of "
        "requests a second the lines cost the workers several percent of their CPU.",
    )
    workers: int | None = Field(
        None,
        ge=1,
        le=256,
        description="API worker processes (the anchoring worker and indexers run once, in the "
        "process that starts them). Default: the number of CPU cores.",
    )
    registry_name: str = Field(
        "lernode consortium",
        description="Name of the consortium registry in this node's OpenID Federation entity "
        "configuration (organization_name).",
    )
    registry_statement_ttl: int = Field(
        3600,
        ge=60,
        le=7 * 24 * 3600,
        description="Seconds a signed registry statement stays valid: the longest a client that "
        "caches statements may see an issuer the consortium removed.",
    )
    trusted_registries: list[str] = Field(
        [],
        max_length=20,
        description="OpenID Federation entity configuration URLs (JSON list) of other registries "
        "the verifier consults for registered_issuer, e.g. DCC's member registry.",
    )
    trusted_registries_allow_private: bool = Field(
        False,
        description="Let the verifier fetch TRUSTED_REGISTRIES from loopback, private and "
        "link-local addresses (tests, closed networks only).",
    )
    trusted_registries_http_origins: list[str] = Field(
        [],
        description="Origins (http://host:port, JSON list) of TRUSTED_REGISTRIES that may be "
        "fetched over plain HTTP (tests, local development only). Everything else is HTTPS only.",
    )
    registry_pointer: bool = Field(
        True,
        description="Issued credentials carry a termsOfUse entry (IssuanceCertificate) pointing "
        "at the registry entry (the consortium decision) that accredits their issuer.",
    )
    issuer_did_method: Literal["ethr", "web"] = Field(
        "ethr",
        description="DID new institutions sign under: ethr (their did:ethr) or web (a did:web "
        "this node serves at PUBLIC_URL, which then needs a DNS host name; docs/did-web.md).",
    )
    did_web_allow_private: bool = Field(
        False,
        description="Let the verifier fetch did:web documents from loopback, private and "
        "link-local addresses (tests, closed networks only).",
    )
    did_web_http_origins: list[str] = Field(
        [],
        description="Origins (http://host:port) whose did:web documents may be fetched over plain "
        "HTTP, as a JSON list (tests, local development only). Everything else is HTTPS only.",
    )
    did_web_timeout: float = Field(
        5.0, gt=0, le=60, description="Seconds a did:web document fetch may take in all."
    )
    did_web_cache_ttl: float = Field(
        60.0, ge=0, description="Seconds a fetched did:web document is reused."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = _toml_file()
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    @field_validator("issuer_did_method")
    @classmethod
    def _did_web_needs_a_host_name(cls, value: str, info: ValidationInfo) -> str:
        """Refuse at start what would otherwise fail at the first onboarding: a did:web names
        a DNS host (the method forbids IP addresses), taken from PUBLIC_URL (or HOST)."""
        if value != "web":
            return value
        url = info.data.get("public_url") or f"http://{info.data.get('host')}"
        host = urlsplit(url).hostname or ""
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if host:
                return value
        raise ValueError(
            f"web needs LERNODE_PUBLIC_URL with a DNS host name (the did:web's), not {url!r}"
        )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("must start with sqlite:, postgresql: or postgresql+psycopg:")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        for entry in filter(None, (part.strip() for part in value.split(","))):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or CIDR block: {entry!r}") from None
        return value

    @property
    def trusted_proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [
            ipaddress.ip_network(entry.strip(), strict=False)
            for entry in self.trusted_proxies.split(",")
            if entry.strip()
        ]

    @property
    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1

    @property
    def embedded(self) -> bool:
        """True when the node runs its own chain rather than joining one by RPC."""
        return self.rpc_url is None

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url is None:
            return f"sqlite:///{(self.data_dir / 'lernode.sqlite').resolve()}"
        if self.database_url.startswith("postgresql:"):
            return "postgresql+psycopg:" + self.database_url.removeprefix("postgresql:")
        return self.database_url

    @property
    def deployment_path(self) -> Path:
        return self.deployment_file or self.data_dir / "deployment.json"


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning validation errors into one readable `ConfigurationError`."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        env = f"{ENV_PREFIX}{field.upper()}"
        raise ConfigurationError(f"{env}: {first['msg']}", code="invalid_setting") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"config file: {exc}", code="invalid_config_file") from None
