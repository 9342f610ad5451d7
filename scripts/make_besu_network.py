#!/usr/bin/env python3
"""Generate (or check) the Hyperledger Besu QBFT network that docker-compose.yml runs.

Why a script rather than `besu operator generate-blockchain-config`: the committed files under
`deploy/besu/` have to be reproducible byte for byte on a machine without Besu or Docker, so
that CI can prove the genesis, the node keys, the static-nodes list and the compose file all
describe the same four validators. Everything is derived from one seed:

    private key(label) = keccak256("lernode-besu-network/v1/" || seed || "/" || label [|| "#" || n])

with labels `validator1`..`validatorN` and `dev-account`; `#n` is appended (n = 1, 2, ...) in the
astronomically unlikely case a hash is not a valid secp256k1 scalar. The default seed produces
the committed DEV-ONLY network. A real consortium never uses it: see deploy/README.md.

QBFT genesis `extraData` is the RLP encoding Besu's `besu rlp encode --type=QBFT_EXTRA_DATA`
produces for a genesis block:

    RLP([ vanity: 32 zero bytes,
          validators: [20-byte address, ...],
          votes: [] (no vote in the genesis block),
          round: 0 as an RLP integer scalar, i.e. the empty byte string (0x80),
          seals: [] (nobody has signed the genesis block) ])

(IBFT 2.0 differs: it writes the round as 4 fixed bytes, 0x8400000000.) Validators are sorted
by address so the encoding does not depend on the order keys were generated in; Besu derives the
proposer rotation from the sorted set anyway.

Usage:
    python scripts/make_besu_network.py            # (re)write deploy/besu/ from the dev seed
    python scripts/make_besu_network.py --check    # exit 1 if the committed files differ
    python scripts/make_besu_network.py --seed "$(openssl rand -hex 32)" --out /secure/dir
"""

from __future__ import annotations

import argparse
import difflib
import ipaddress
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import rlp
from eth_keys.datatypes import PrivateKey
from eth_utils import keccak

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "deploy" / "besu"

# The seed of the committed development network. Public, hence worthless as a secret: anyone
# can recompute every private key from it. That is the point for a dev network and exactly why
# a real deployment must pass its own random --seed (or, better, have each validator operator
# generate its own key; see deploy/README.md).
DEV_SEED = "lernode-dev-network-NOT-FOR-PRODUCTION"
DEV_CHAIN_ID = 2025
DEV_SUBNET = "10.177.45.0/24"
FIRST_HOST = 11  # validator1 gets .11, validator2 .12, ... (outside the dynamic ip_range)
P2P_PORT = 30303
VALIDATORS = 4
# 1,000,000 ETH: enough for any test campaign, small enough to read in a block explorer.
DEV_ACCOUNT_BALANCE_WEI = 1_000_000 * 10**18

# QBFT's fixed mixHash ("ctical byzantine fault tolerance" in ASCII); Besu rejects QBFT/IBFT 2.0
# genesis blocks without it.
BFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

DEV_WARNING = (
    "DEV-ONLY: generated from a public seed by scripts/make_besu_network.py. Every private key "
    "here is public knowledge. Never use these keys, this genesis or this account on a network "
    "that holds anything of value."
)


@dataclass(frozen=True)
class KeyPair:
    """A secp256k1 key with the encodings Besu and Ethereum tooling expect."""

    private_key: PrivateKey

    @property
    def private_hex(self) -> str:
        return "0x" + self.private_key.to_bytes().hex()

    @property
    def public_hex(self) -> str:
        """Uncompressed public key without the 0x04 prefix: the enode node id and key.pub."""
        return self.private_key.public_key.to_bytes().hex()

    @property
    def address(self) -> str:
        return self.private_key.public_key.to_checksum_address()


@dataclass(frozen=True)
class Validator:
    name: str
    key: KeyPair
    ip: str
    p2p_port: int

    @property
    def enode(self) -> str:
        return f"enode://{self.key.public_hex}@{self.ip}:{self.p2p_port}"


def derive_key(seed: str, label: str) -> KeyPair:
    """Deterministic key for `label`; see the module docstring for the exact construction."""
    base = f"lernode-besu-network/v1/{seed}/{label}".encode()
    attempt = 0
    while True:
        material = base if attempt == 0 else base + f"#{attempt}".encode()
        scalar = int.from_bytes(keccak(material), "big")
        if 0 < scalar < SECP256K1_N:
            return KeyPair(PrivateKey(scalar.to_bytes(32, "big")))
        attempt += 1


def qbft_extra_data(validator_addresses: list[str]) -> str:
    """RLP of the QBFT genesis extra data for these validators, 0x-hex (see module docstring)."""
    ordered = sorted(bytes.fromhex(a.removeprefix("0x")) for a in validator_addresses)
    vanity = b"\x00" * 32
    votes: list[bytes] = []
    round_number = b""  # integer 0 as an RLP scalar is the empty string
    seals: list[bytes] = []
    return "0x" + rlp.encode([vanity, ordered, votes, round_number, seals]).hex()


def make_validators(seed: str, count: int, subnet: str, p2p_port: int) -> list[Validator]:
    network = ipaddress.ip_network(subnet)
    hosts = list(network.hosts())
    if FIRST_HOST + count > len(hosts):
        raise SystemExit(f"subnet {subnet} too small for {count} validators")
    return [
        Validator(
            name=f"validator{i}",
            key=derive_key(seed, f"validator{i}"),
            ip=str(network.network_address + FIRST_HOST + i - 1),
            p2p_port=p2p_port,
        )
        for i in range(1, count + 1)
    ]


def genesis(chain_id: int, validators: list[Validator], funded: list[str]) -> dict[str, object]:
    """The genesis every validator must share; cancun from block 0 to match the contracts."""
    return {
        "config": {
            "chainId": chain_id,
            "berlinBlock": 0,
            "londonBlock": 0,
            "shanghaiTime": 0,
            "cancunTime": 0,
            # A real EIP-1559 base fee, so gas pricing behaves as on public chains and the node's
            # fee logic is exercised rather than short-circuited by a free-gas network.
            "zeroBaseFee": False,
            "qbft": {
                "blockperiodseconds": 2,
                "epochlength": 30000,
                # Besu advises at least twice the block period so a slow proposer is not
                # replaced by a round change before it had a fair chance.
                "requesttimeoutseconds": 4,
            },
        },
        "nonce": "0x0",
        "timestamp": "0x0",
        "gasLimit": hex(30_000_000),
        "difficulty": "0x1",
        "mixHash": BFT_MIX_HASH,
        "coinbase": "0x" + "00" * 20,
        "alloc": {
            address.lower().removeprefix("0x"): {"balance": hex(DEV_ACCOUNT_BALANCE_WEI)}
            for address in funded
        },
        "extraData": qbft_extra_data([v.key.address for v in validators]),
    }


def _json(value: object) -> str:
    return json.dumps(value, indent=2) + "\n"


def render(seed: str, chain_id: int, count: int, subnet: str, p2p_port: int) -> dict[str, str]:
    """Every generated file, relative path -> exact content, so write and --check share one
    source of truth."""
    validators = make_validators(seed, count, subnet, p2p_port)
    account = derive_key(seed, "dev-account")
    files: dict[str, str] = {
        "genesis.json": _json(genesis(chain_id, validators, [account.address])),
        "static-nodes.json": _json([v.enode for v in validators]),
        "dev-account.json": _json(
            {
                "warning": DEV_WARNING,
                "address": account.address,
                "privateKey": account.private_hex,
                "balanceWei": str(DEV_ACCOUNT_BALANCE_WEI),
            }
        ),
    }
    for v in validators:
        # Besu's own key file format: 0x-hex, no trailing newline.
        files[f"{v.name}/key"] = v.key.private_hex
        files[f"{v.name}/key.pub"] = "0x" + v.key.public_hex
        files[f"{v.name}/address"] = v.key.address.lower()
    if seed == DEV_SEED:
        files["DEV-ONLY.txt"] = DEV_WARNING + "\nRegenerate: see deploy/README.md.\n"
    return files


def write(out: Path, files: dict[str, str]) -> None:
    for rel, content in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        # Plain 0644 on purpose: the files are bind-mounted read-only into containers whose
        # user id differs from the host's, and git would not keep a stricter mode anyway.
        path.write_text(content)


def check(out: Path, files: dict[str, str]) -> list[str]:
    """Human-readable differences between `files` and what is on disk (empty: all match)."""
    problems: list[str] = []
    for rel, expected in files.items():
        path = out / rel
        if not path.is_file():
            problems.append(f"missing: {path}")
            continue
        actual = path.read_text()
        if actual != expected:
            diff = difflib.unified_diff(
                actual.splitlines(), expected.splitlines(), f"{rel} (on disk)", f"{rel} (expected)"
            )
            problems.append("\n".join(list(diff)[:20]) or f"differs: {path}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", default=DEV_SEED, help="key derivation seed (default: dev)")
    parser.add_argument("--chain-id", type=int, default=DEV_CHAIN_ID)
    parser.add_argument("--validators", type=int, default=VALIDATORS)
    parser.add_argument("--subnet", default=DEV_SUBNET, help="compose network for static IPs")
    parser.add_argument("--p2p-port", type=int, default=P2P_PORT)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="verify instead of writing")
    args = parser.parse_args(argv)
    if args.validators < 1:
        parser.error("--validators must be at least 1")

    files = render(args.seed, args.chain_id, args.validators, args.subnet, args.p2p_port)
    if args.check:
        problems = check(args.out, files)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(f"{args.out} is out of date: run scripts/make_besu_network.py", file=sys.stderr)
            return 1
        print(f"{args.out}: {len(files)} files match")
        return 0
    write(args.out, files)
    print(f"wrote {len(files)} files to {args.out}")
    if args.seed != DEV_SEED:
        print("keep the seed and the key files secret; do not commit them", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
