"""docker-compose.yml, deploy/besu/ and the node's settings describe one consistent deployment.

No Docker here: the compose file is parsed with pyyaml and interpolated the way `docker compose`
does with an empty environment (the out-of-the-box dev values). Every cross-reference a typo
could break at `docker compose up` time, when it is slow and confusing to debug, is checked
here instead: keys <-> genesis extraData <-> static nodes <-> container IPs, the node's RPC and
database URLs <-> the services they name, chain ids, the funded account, ports, dependencies,
and every LERNODE_* name <-> `node.config.Settings`. Facts are re-derived independently
(eth_keys, rlp) rather than by importing the generator, so a bug there cannot hide itself.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import rlp
import yaml
from eth_account import Account
from eth_keys.datatypes import PrivateKey

from node.config import Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
BESU_DIR = REPO / "deploy" / "besu"
SCRIPT = REPO / "scripts" / "make_besu_network.py"
ENTRYPOINT = REPO / "deploy" / "docker-entrypoint.sh"

# What the brief requires of the node's environment (KEY_PASSPHRASE arrives as a secret).
REQUIRED_NODE_ENV = {
    "LERNODE_DATA_DIR",
    "LERNODE_HOST",
    "LERNODE_PORT",
    "LERNODE_PUBLIC_URL",
    "LERNODE_RPC_URL",
    "LERNODE_CHAIN_ID",
    "LERNODE_DATABASE_URL",
    "LERNODE_CONFIRMATIONS",
    "LERNODE_ACCOUNT_KEY",
    "LERNODE_KEY_PASSPHRASE",
    "LERNODE_INSTITUTION_NAME",
}
RPC_APIS = {"ETH", "NET", "QBFT", "WEB3", "TXPOOL"}
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
QBFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"

# -- compose-style interpolation ---------------------------------------------------------------

_VAR = re.compile(
    r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """`${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}` and `$$`, as compose does."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("bare")
        op, arg = match.group("op"), match.group("arg") or ""
        current = env.get(name)
        if op == ":-":
            return current if current else arg
        if op == "-":
            return current if current is not None else arg
        if op in (":?", "?"):
            if current is None or (op == ":?" and not current):
                raise AssertionError(f"compose would refuse to start: {name}: {arg}")
            return current
        return current or ""

    return _VAR.sub(one, value)


def _resolve(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_resolve(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _resolve(value, env) for key, value in node.items()}
    return node


@cache
def compose() -> dict[str, Any]:
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    resolved: dict[str, Any] = _resolve(raw, {})
    return resolved


def services() -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose()["services"]
    return result


def env_of(service: str) -> dict[str, str]:
    environment = services()[service].get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {key: str(value) for key, value in environment.items()}


def validator_names() -> list[str]:
    return sorted(name for name in services() if re.fullmatch(r"validator\d+", name))


def node_services() -> list[str]:
    """Services running the lernode image (the node itself and its one-shot deployers)."""
    return sorted(name for name, spec in services().items() if "build" in spec)


def bind_source(service: str, container_path: str) -> Path:
    """The repository path bind-mounted at `container_path` in `service`."""
    for volume in services()[service].get("volumes", []):
        source, target = volume.split(":")[:2]
        if target == container_path and source.startswith("./"):
            return (REPO / source).resolve()
    raise AssertionError(f"{service}: nothing bind-mounted at {container_path}")


def networks_of(service: str) -> set[str]:
    networks = services()[service].get("networks", ["default"])
    return set(networks)


def ipv4_of(service: str) -> str:
    address: str = services()[service]["networks"]["chain"]["ipv4_address"]
    return address


def private_key_of(validator: str) -> PrivateKey:
    key_path = Path(env_of(validator)["BESU_NODE_PRIVATE_KEY_FILE"])
    key_dir = bind_source(validator, str(key_path.parent))
    text = (key_dir / key_path.name).read_text().strip()
    return PrivateKey(bytes.fromhex(text.removeprefix("0x")))


@cache
def genesis() -> dict[str, Any]:
    path = bind_source("validator1", env_of("validator1")["BESU_GENESIS_FILE"])
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def node_for_chain(kind: str) -> str:
    """The long-running node service on the Besu chain ("besu") or on anvil ("anvil")."""
    for name in node_services():
        spec = services()[name]
        if spec.get("restart") == "no":
            continue
        host = urlsplit(env_of(name)["LERNODE_RPC_URL"]).hostname
        if (kind == "anvil") == (host == "anvil"):
            return name
    raise AssertionError(f"no node service on the {kind} chain")


# -- the Besu network ---------------------------------------------------------------------------


def test_four_validators_each_with_its_own_key() -> None:
    names = validator_names()
    assert names == ["validator1", "validator2", "validator3", "validator4"]
    private = [private_key_of(name) for name in names]
    assert len({key.to_bytes() for key in private}) == 4
    for name, key in zip(names, private, strict=True):
        key_file = Path(env_of(name)["BESU_NODE_PRIVATE_KEY_FILE"])
        pub = (bind_source(name, str(key_file.parent)) / "key.pub").read_text().strip()
        assert pub.removeprefix("0x") == key.public_key.to_bytes().hex(), f"{name}: key.pub"
        assert services()[name]["image"].startswith("hyperledger/besu:")
        assert services()[name]["image"].split(":")[1][:2] in {"24", "25", "26"}


def test_validators_share_one_genesis_and_keep_their_own_data() -> None:
    genesis_files = {
        bind_source(name, env_of(name)["BESU_GENESIS_FILE"]) for name in validator_names()
    }
    static_files = {
        bind_source(name, env_of(name)["BESU_STATIC_NODES_FILE"]) for name in validator_names()
    }
    assert genesis_files == {BESU_DIR / "genesis.json"}
    assert static_files == {BESU_DIR / "static-nodes.json"}
    data_volumes = []
    for name in validator_names():
        data_path = env_of(name)["BESU_DATA_PATH"]
        assert data_path.rstrip("/") != "/opt/besu", "Besu refuses a volume at /opt/besu"
        mounted = [
            v.split(":")[0] for v in services()[name]["volumes"] if v.split(":")[1] == data_path
        ]
        assert len(mounted) == 1 and not mounted[0].startswith((".", "/")), name
        data_volumes.append(mounted[0])
    assert len(set(data_volumes)) == 4
    assert set(data_volumes) <= set(compose()["volumes"])


def test_genesis_is_qbft_with_cancun() -> None:
    config = genesis()["config"]
    assert set(config["qbft"]) >= {"blockperiodseconds", "epochlength", "requesttimeoutseconds"}
    assert config["qbft"]["requesttimeoutseconds"] >= 2 * config["qbft"]["blockperiodseconds"]
    assert config["shanghaiTime"] == 0 and config["cancunTime"] == 0
    assert config["zeroBaseFee"] is False
    assert genesis()["mixHash"] == QBFT_MIX_HASH
    assert genesis()["difficulty"] == "0x1"


def test_genesis_extra_data_names_exactly_the_validator_keys() -> None:
    extra = bytes.fromhex(genesis()["extraData"].removeprefix("0x"))
    decoded = rlp.decode(extra)
    assert isinstance(decoded, list) and len(decoded) == 5
    vanity, validators, votes, round_number, seals = decoded
    assert vanity == b"\x00" * 32
    assert votes == [] and seals == []
    assert round_number == b""  # integer 0 as an RLP scalar, i.e. the byte 0x80
    assert extra.endswith(bytes.fromhex("c080c0"))
    expected = sorted(
        private_key_of(name).public_key.to_canonical_address() for name in validator_names()
    )
    assert validators == expected
    # Re-encoding gives the same bytes: no non-canonical RLP Besu might read differently.
    assert rlp.encode(decoded) == extra


def test_static_nodes_name_every_validator_at_its_address() -> None:
    enodes = json.loads((BESU_DIR / "static-nodes.json").read_text())
    pattern = re.compile(r"enode://(?P<id>[0-9a-f]{128})@(?P<host>[0-9.]+):(?P<port>\d+)")
    parsed = {}
    for enode in enodes:
        match = pattern.fullmatch(enode)
        assert match, enode
        parsed[match["id"]] = (match["host"], int(match["port"]))
    assert len(parsed) == 4
    for name in validator_names():
        node_id = private_key_of(name).public_key.to_bytes().hex()
        env = env_of(name)
        assert parsed[node_id] == (ipv4_of(name), int(env["BESU_P2P_PORT"])), name
        assert env["BESU_P2P_HOST"] == ipv4_of(name), f"{name} advertises another address"


def test_validator_addresses_fit_the_network() -> None:
    ipam = compose()["networks"]["chain"]["ipam"]["config"][0]
    subnet = ipaddress.ip_network(ipam["subnet"])
    dynamic = ipaddress.ip_network(ipam["ip_range"])
    addresses = [ipaddress.ip_address(ipv4_of(name)) for name in validator_names()]
    assert len(set(addresses)) == 4
    for address in addresses:
        assert address in subnet and address not in dynamic


def test_validators_serve_json_rpc_and_have_healthchecks() -> None:
    for name in validator_names():
        env = env_of(name)
        assert env["BESU_RPC_HTTP_ENABLED"] == "true"
        assert env["BESU_RPC_HTTP_HOST"] == "0.0.0.0"
        assert set(env["BESU_RPC_HTTP_API"].split(",")) == RPC_APIS
        assert env["BESU_DISCOVERY_ENABLED"] == "false"
        health = services()[name]["healthcheck"]
        assert f"/dev/tcp/127.0.0.1/{env['BESU_RPC_HTTP_PORT']}" in " ".join(health["test"])
        assert "localhost" in env["BESU_HOST_ALLOWLIST"].split(",")


# -- the node -----------------------------------------------------------------------------------


def test_every_lernode_variable_is_a_settings_field() -> None:
    fields = {f"LERNODE_{name.upper()}" for name in Settings.model_fields}
    used = set(re.findall(r"\bLERNODE_[A-Z0-9_]+\b", COMPOSE_FILE.read_text()))
    for name in node_services():
        used |= set(env_of(name))
        for secret in services()[name].get("secrets", []):
            source = secret if isinstance(secret, str) else secret["source"]
            used.add(source.upper())  # docker-entrypoint.sh: lernode_x -> LERNODE_X
    assert used, "no LERNODE_* variable found at all"
    assert used <= fields, f"not settings fields: {sorted(used - fields)}"


def test_the_besu_node_sets_exactly_the_required_variables() -> None:
    name = node_for_chain("besu")
    from_secrets = {s.upper() for s in services()[name]["secrets"]}
    assert set(env_of(name)) | from_secrets == REQUIRED_NODE_ENV
    assert not set(env_of(name)) & from_secrets, "entrypoint refuses a variable set twice"


@pytest.mark.parametrize("kind", ["besu", "anvil"])
def test_node_settings_validate(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The node would accept its configuration (types, ranges, the database URL scheme)."""
    for variable in list(os.environ):
        if variable.startswith("LERNODE_"):
            monkeypatch.delenv(variable)
    name = node_for_chain(kind)
    values = {key.removeprefix("LERNODE_").lower(): value for key, value in env_of(name).items()}
    settings = Settings(**values)  # type: ignore[arg-type]
    assert settings.host == "0.0.0.0"
    assert not settings.embedded


@pytest.mark.parametrize("kind", ["besu", "anvil"])
def test_node_port_matches_published_port_and_healthcheck(kind: str) -> None:
    name = node_for_chain(kind)
    port = env_of(name)["LERNODE_PORT"]
    targets = [str(mapping).rsplit(":", 1)[-1] for mapping in services()[name]["ports"]]
    assert targets == [port]
    assert f"127.0.0.1:{port}/health" in " ".join(services()[name]["healthcheck"]["test"])
    assert env_of(name)["LERNODE_PUBLIC_URL"].endswith(
        ":" + str(services()[name]["ports"][0]).split(":")[-2]
    )


@pytest.mark.parametrize("name", node_services())
def test_rpc_url_points_at_a_json_rpc_service(name: str) -> None:
    url = urlsplit(env_of(name)["LERNODE_RPC_URL"])
    assert url.scheme == "http" and url.hostname in services()
    target = url.hostname
    assert networks_of(name) & networks_of(target), f"{name} cannot reach {target}"
    assert services()[name]["depends_on"][target]["condition"] == "service_healthy"
    if target.startswith("validator"):
        env = env_of(target)
        assert url.port == int(env["BESU_RPC_HTTP_PORT"])
        assert env["BESU_RPC_HTTP_ENABLED"] == "true"
        assert {"ETH", "NET"} <= set(env["BESU_RPC_HTTP_API"].split(","))
        assert target in env["BESU_HOST_ALLOWLIST"].split(","), "Besu would answer 403"
    else:
        argv = shlex.split(services()[target]["command"][0])
        assert argv[argv.index("--host") + 1] == "0.0.0.0"
        port = int(argv[argv.index("--port") + 1]) if "--port" in argv else 8545
        assert url.port == port


def test_database_url_matches_the_postgres_service() -> None:
    name = node_for_chain("besu")
    url = urlsplit(env_of(name)["LERNODE_DATABASE_URL"])
    pg = env_of("postgres")
    assert url.scheme == "postgresql+psycopg"
    assert url.hostname == "postgres" and url.port == 5432
    assert url.username == pg["POSTGRES_USER"]
    assert url.password == pg["POSTGRES_PASSWORD"]
    assert url.path == "/" + pg["POSTGRES_DB"]
    assert services()["postgres"]["image"] == "postgres:16"
    assert networks_of(name) & networks_of("postgres")
    assert services()[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    health = " ".join(services()["postgres"]["healthcheck"]["test"])
    assert "pg_isready" in health and pg["POSTGRES_USER"] in health
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services()["postgres"]["volumes"])


def test_chain_ids_agree() -> None:
    assert int(env_of(node_for_chain("besu"))["LERNODE_CHAIN_ID"]) == genesis()["config"]["chainId"]
    argv = shlex.split(services()["anvil"]["command"][0])
    assert int(env_of(node_for_chain("anvil"))["LERNODE_CHAIN_ID"]) == int(
        argv[argv.index("--chain-id") + 1]
    )
    for name in node_services():  # the one-shot deployers use the same chain as their node
        assert env_of(name)["LERNODE_RPC_URL"] in {
            env_of(node_for_chain("besu"))["LERNODE_RPC_URL"],
            env_of(node_for_chain("anvil"))["LERNODE_RPC_URL"],
        }


def test_besu_account_is_funded_in_genesis() -> None:
    key = env_of(node_for_chain("besu"))["LERNODE_ACCOUNT_KEY"]
    address = Account.from_key(key).address.lower().removeprefix("0x")
    alloc = {k.lower().removeprefix("0x"): v for k, v in genesis()["alloc"].items()}
    assert address in alloc, "the node's account has no ether on the Besu chain"
    assert int(alloc[address]["balance"], 0) >= 10**21
    dev_account = json.loads((BESU_DIR / "dev-account.json").read_text())
    assert dev_account["address"].lower().removeprefix("0x") == address
    assert "DEV-ONLY" in dev_account["warning"]


def test_dev_account_is_one_anvil_funds() -> None:
    key = env_of(node_for_chain("anvil"))["LERNODE_ACCOUNT_KEY"]
    Account.enable_unaudited_hdwallet_features()
    funded = {
        Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}").address
        for i in range(10)
    }
    assert Account.from_key(key).address in funded


def test_anvil_command_survives_the_images_sh_entrypoint() -> None:
    anvil = services()["anvil"]
    assert anvil["profiles"] == ["dev"]
    assert anvil["image"].startswith("ghcr.io/foundry-rs/foundry:")
    # `/bin/sh -c anvil --host ...` would run a bare `anvil`: the command must be ONE string.
    assert anvil["entrypoint"] == ["/bin/sh", "-c"]
    assert len(anvil["command"]) == 1
    assert shlex.split(anvil["command"][0])[0] == "anvil"
    assert "healthcheck" in anvil
    for name in ("lernode-dev", "lernode-dev-deploy"):
        assert services()[name]["profiles"] == ["dev"]


# -- compose hygiene ----------------------------------------------------------------------------


def test_published_ports_do_not_collide() -> None:
    seen: dict[int, str] = {}
    for name, spec in services().items():
        for mapping in spec.get("ports", []):
            parts = str(mapping).split(":")
            assert len(parts) >= 2, f"{name}: {mapping} publishes a random host port"
            host_port = int(parts[-2])
            assert host_port not in seen, f"{name} and {seen.get(host_port)} both use {host_port}"
            seen[host_port] = name
    assert 8000 in seen


def test_dependencies_exist_and_can_be_met() -> None:
    for name, spec in services().items():
        depends = spec.get("depends_on", {})
        for target, condition in depends.items() if isinstance(depends, dict) else []:
            assert target in services(), f"{name} depends on unknown {target}"
            target_spec = services()[target]
            if condition["condition"] == "service_healthy":
                check = target_spec.get("healthcheck", {})
                assert check and not check.get("disable"), f"{target} never becomes healthy"
            if condition["condition"] == "service_completed_successfully":
                assert target_spec.get("restart") == "no", f"{target} would never complete"
            # A default service must not wait on a profile-only one (compose refuses).
            if "profiles" not in spec:
                assert "profiles" not in target_spec, f"{name} -> {target}"


def test_long_running_services_have_healthchecks() -> None:
    for name, spec in services().items():
        if spec.get("restart") == "no":
            continue
        check = spec.get("healthcheck")
        assert check and not check.get("disable") and check.get("test"), name


def test_volumes_secrets_and_networks_are_declared() -> None:
    top = compose()
    for name, spec in services().items():
        for volume in spec.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{name}: missing {source}"
            else:
                assert source in top["volumes"], f"{name}: undeclared volume {source}"
        for network in networks_of(name):
            assert network in top["networks"], f"{name}: undeclared network {network}"
        for secret in spec.get("secrets", []):
            assert secret in top["secrets"], f"{name}: undeclared secret {secret}"
    for secret in top["secrets"].values():
        assert (REPO / secret["file"]).is_file()


def test_image_holds_the_python_package_only() -> None:
    ignore = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ignore[0] == "*", ".dockerignore must be an allow-list"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert "deploy/docker-entrypoint.sh" in allowed
    assert not any(a.startswith(("deploy/besu", "deploy/dev-secrets")) for a in allowed)
    assert allowed >= {"pyproject.toml", "node", "contracts/build"}
    instructions = "\n".join(
        line
        for line in (REPO / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    assert "python:3.11-slim" in instructions
    assert not re.search(r"\b(npm|nodejs|node_modules|solc)\b", instructions)
    assert 'CMD ["lernode", "up"]' in instructions
    for kind in ("besu", "anvil"):
        assert services()[node_for_chain(kind)]["command"] == ["lernode", "up"]


# -- the generator and the entrypoint -----------------------------------------------------------


def _run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )


def test_committed_network_is_reproducible() -> None:
    result = _run_script("--check")
    assert result.returncode == 0, result.stderr


def test_check_detects_a_tampered_network(tmp_path: Path) -> None:
    copy = tmp_path / "besu"
    shutil.copytree(BESU_DIR, copy)
    assert _run_script("--check", "--out", str(copy)).returncode == 0
    genesis_file = copy / "genesis.json"
    genesis_file.write_text(genesis_file.read_text().replace('"chainId": ', '"chainId": 1'))
    result = _run_script("--check", "--out", str(copy))
    assert result.returncode == 1 and "genesis.json" in result.stderr


def test_a_fresh_seed_gives_fresh_keys(tmp_path: Path) -> None:
    assert _run_script("--seed", "another-seed", "--out", str(tmp_path)).returncode == 0
    for name in validator_names():
        fresh = (tmp_path / name / "key").read_text()
        assert fresh != (BESU_DIR / name / "key").read_text()
    assert not (tmp_path / "DEV-ONLY.txt").exists()
    again = tmp_path / "again"
    assert _run_script("--seed", "another-seed", "--out", str(again)).returncode == 0
    assert (again / "genesis.json").read_text() == (tmp_path / "genesis.json").read_text()


def _entrypoint(
    secrets_dir: Path, env: dict[str, str], *command: str
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LERNODE_")}
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *command],
        env={**base, **env, "ENTRYPOINT_SECRETS_DIR": str(secrets_dir)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_entrypoint_turns_secrets_into_settings(tmp_path: Path) -> None:
    (tmp_path / "lernode_key_passphrase").write_text("correct horse battery\n")
    result = _entrypoint(
        tmp_path,
        {"LERNODE_ACCOUNT_KEY": "", "LERNODE_HOST": "0.0.0.0"},
        "sh",
        "-c",
        'echo "[$LERNODE_KEY_PASSPHRASE]"; echo "${LERNODE_ACCOUNT_KEY-unset}"; '
        'echo "$LERNODE_HOST"',
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[correct horse battery]", "unset", "0.0.0.0"]


def test_entrypoint_refuses_a_setting_given_twice(tmp_path: Path) -> None:
    (tmp_path / "lernode_key_passphrase").write_text("from-secret")
    result = _entrypoint(tmp_path, {"LERNODE_KEY_PASSPHRASE": "from-env"}, "true")
    assert result.returncode == 2
    assert "LERNODE_KEY_PASSPHRASE" in result.stderr


def _compose_v2() -> list[str] | None:
    for candidate in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(candidate[0]) is None:
            continue
        version = subprocess.run(
            [*candidate, "version", "--short"], capture_output=True, text=True, check=False
        )
        if version.returncode == 0 and version.stdout.strip().lstrip("v").startswith("2"):
            return candidate
    return None


def test_docker_compose_accepts_the_file() -> None:
    """Compose's own validation, where a v2 client is installed (no engine needed)."""
    client = _compose_v2()
    if client is None:
        pytest.skip("no docker compose v2 client on this machine")
    for profile in ([], ["--profile", "dev"]):
        result = subprocess.run(
            [*client, "-f", str(COMPOSE_FILE), *profile, "config", "--quiet"],
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO,
        )
        assert result.returncode == 0, result.stderr
