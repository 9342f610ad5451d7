"""One `eth_call` for every state read of a verification: the never-deployed VerificationLens.

`read_state` sends the lens's creation code (contracts/VerificationLens.sol) with the calls to
make as constructor arguments; the constructor runs them against the CredentialRegistry and the
IssuerRegistry it names, at the latest block, and reverts with `Readings`. That one round trip
also answers the chain id, the block number and time, and the IssuerRegistry and DID registry
addresses, so a verifier given only the CredentialRegistry address needs nothing else first.

Creation code is capped at 49,152 bytes (EIP-3860), arguments included, so a large plan (a CLR of
500 credentials) is split into several lens calls sent as one JSON-RPC batch: still one round
trip. Should a block be mined between two of them, the batch is read again at the newest block
the calls saw, so every reading reflects one state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_typing import ABIError
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from eth_utils.abi import get_abi_input_types

from node.chain.artifacts import load_artifact
from node.chain.client import ChainClient, RpcError
from node.errors import ChainError

LENS = "VerificationLens"


@dataclass(frozen=True)
class Readings:
    """What the lens read, all at block `block_number`; a failed call's result is b""."""

    chain_id: int
    block_number: int
    block_time: int
    registry_code_size: int
    issuer_registry: str
    did_registry: str
    registry_results: tuple[bytes, ...]
    issuer_registry_results: tuple[bytes, ...]


@cache
def _lens() -> tuple[bytes, bytes, list[str]]:
    """(creation code, `Readings` selector, `Readings` field types)."""
    artifact = load_artifact(LENS)
    error = next(i for i in artifact.abi if i.get("type") == "error" and i["name"] == "Readings")
    types = list(get_abi_input_types(cast(ABIError, dict(error))))
    selector = function_signature_to_4byte_selector(f"Readings({','.join(types)})")
    return bytes.fromhex(artifact.bytecode[2:]), bytes(selector), types


def lens_call(
    credential_registry: str,
    registry_calls: Sequence[bytes],
    issuer_registry_calls: Sequence[bytes],
) -> dict[str, str]:
    """The `eth_call` transaction object (no `to`: the creation code runs as a call)."""
    code, _, _ = _lens()
    arguments = abi_encode(
        ["address", "bytes[]", "bytes[]"],
        [
            to_checksum_address(credential_registry),
            list(registry_calls),
            list(issuer_registry_calls),
        ],
    )
    return {"data": "0x" + (code + arguments).hex()}


#: Largest creation code (code + arguments) one lens call carries; EIP-3860 caps it at 49,152.
MAX_INITCODE = 40_000
#: ABI size of one `bytes` call argument beyond its data: offset, length, padding.
_CALL_OVERHEAD = 96


def read_state(
    client: ChainClient,
    credential_registry: str,
    registry_calls: Sequence[bytes],
    issuer_registry_calls: Sequence[bytes],
) -> Readings:
    """Run the lens at the latest block (one JSON-RPC round trip)."""
    chunks = _chunks(list(registry_calls), list(issuer_registry_calls))
    calls = [lens_call(credential_registry, ours, theirs) for ours, theirs in chunks]
    readings = _run(client, calls, "latest")
    if len({r.block_number for r in readings}) > 1:  # a block was mined between two calls
        newest = max(r.block_number for r in readings)
        readings = _run(client, calls, hex(newest))
    first = readings[0]
    return Readings(
        chain_id=first.chain_id,
        block_number=first.block_number,
        block_time=first.block_time,
        registry_code_size=first.registry_code_size,
        issuer_registry=first.issuer_registry,
        did_registry=first.did_registry,
        registry_results=tuple(r for part in readings for r in part.registry_results),
        issuer_registry_results=tuple(r for part in readings for r in part.issuer_registry_results),
    )


def _chunks(
    registry_calls: list[bytes], issuer_calls: list[bytes]
) -> list[tuple[list[bytes], list[bytes]]]:
    """Split the calls into lens calls small enough for EIP-3860 (order kept)."""
    room = MAX_INITCODE - len(_lens()[0]) - 4 * 32
    chunks: list[tuple[list[bytes], list[bytes]]] = [([], [])]
    used = 0
    for target, calls in ((0, registry_calls), (1, issuer_calls)):
        for call in calls:
            size = len(call) + _CALL_OVERHEAD
            if used + size > room and (chunks[-1][0] or chunks[-1][1]):
                chunks.append(([], []))
                used = 0
            chunks[-1][target].append(call)
            used += size
    return chunks


def _run(client: ChainClient, calls: list[dict[str, str]], block: str) -> list[Readings]:
    answers = client.read_batch_answers([("eth_call", [call, block]) for call in calls])
    readings = []
    for answer in answers:
        if not isinstance(answer, RpcError):
            raise ChainError(
                f"the chain answered the verification reads without reverting "
                f"({str(answer)[:40]}...): it does not execute eth_call like an EVM node",
                code="chain_read_failed",
            )
        data = _revert_data(answer.data)
        if data is None:
            raise ChainError(
                f"the chain could not run the verification reads: {answer.rpc_message[:200]}",
                code="chain_read_failed",
            )
        readings.append(decode_readings(data))
    return readings


def decode_readings(data: bytes) -> Readings:
    _, selector, types = _lens()
    if data[:4] != selector:
        raise ChainError("the verification reads reverted unexpectedly", code="chain_read_failed")
    values = abi_decode(types, data[4:])
    return Readings(
        chain_id=int(values[0]),
        block_number=int(values[1]),
        block_time=int(values[2]),
        registry_code_size=int(values[3]),
        issuer_registry=str(values[4]).lower(),
        did_registry=str(values[5]).lower(),
        registry_results=tuple(bytes(item) for item in values[6]),
        issuer_registry_results=tuple(bytes(item) for item in values[7]),
    )


def _revert_data(value: Any) -> bytes | None:
    """Revert data as nodes report it: a hex string, or nested under `data` (some clients)."""
    if isinstance(value, dict):
        value = value.get("data")
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            return None
    return None
