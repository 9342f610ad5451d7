"""Configuration specifications: one settings object, env vars, a TOML file, clear errors, and a
README that documents every setting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from node.config import ENV_PREFIX, Settings, load_settings
from node.errors import ConfigurationError

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_run_a_standalone_node() -> None:
    settings = load_settings()
    assert settings.embedded
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.sqlalchemy_url.startswith("sqlite:///")
    assert settings.sqlalchemy_url.endswith(".lernode/lernode.sqlite")
    assert settings.base_url == "http://127.0.0.1:8000"


def test_environment_variables_override_a_toml_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "node.toml"
    config.write_text('port = 9000\nconfirmations = 5\ninstitution_name = "Tech College"\n')
    monkeypatch.setenv("LERNODE_CONFIG", str(config))
    monkeypatch.setenv("LERNODE_PORT", "9100")
    monkeypatch.setenv("LERNODE_DATABASE_URL", "postgresql://app@db/lernode")

    settings = load_settings()

    assert settings.port == 9100
    assert settings.confirmations == 5
    assert settings.institution_name == "Tech College"
    assert settings.sqlalchemy_url == "postgresql+psycopg://app@db/lernode"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LERNODE_PORT", "eighty"),
        ("LERNODE_CONFIRMATIONS", "-1"),
        ("LERNODE_DATABASE_URL", "mysql://x"),
        ("LERNODE_NO_SUCH_SETTING", "1"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    if name == "LERNODE_NO_SUCH_SETTING":
        # Unknown variables in the environment are ignored (other tools share the prefix space);
        # unknown keys in a config file are errors (below).
        load_settings()
        return
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert name in str(raised.value)
    assert "\n" not in str(raised.value)


def test_signing_under_did_web_needs_a_public_url_with_a_host_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LERNODE_ISSUER_DID_METHOD", "web")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()  # default PUBLIC_URL is http://127.0.0.1:8000
    assert "LERNODE_ISSUER_DID_METHOD" in str(raised.value)
    monkeypatch.setenv("LERNODE_PUBLIC_URL", "https://registry.college.example")
    assert load_settings().issuer_did_method == "web"


def test_an_unknown_key_in_the_config_file_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "node.toml"
    config.write_text("prot = 9000\n")
    monkeypatch.setenv("LERNODE_CONFIG", str(config))
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert "PROT" in str(raised.value)


def test_the_readme_documents_every_setting_with_its_default() -> None:
    table = {
        match.group(1): match.group(2).strip()
        for match in re.finditer(r"^\| `(LERNODE_[A-Z_]+)` \| ([^|]*) \|", README.read_text(), re.M)
    }
    for name, field in Settings.model_fields.items():
        env = f"{ENV_PREFIX}{name.upper()}"
        assert env in table, f"{env} is missing from the README's configuration table"
        default = field.default
        if default is not None and not isinstance(default, Path):
            assert str(default).lower() in table[env].lower(), f"{env}: default {default!r}"
