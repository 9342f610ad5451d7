"""Turn the bytes a reverting contract returns into a `ContractRevert` a user can act on.

Our contracts revert with Solidity custom errors (`error NotAccredited(address issuer, ...)`).
On the wire that is only `selector ++ abi.encode(args)`; without the ABIs the node would report
"execution reverted" and nobody could tell *why* an anchor or a vote was refused. The decoder knows
every error of every contract we deploy, so the API can answer with a stable code
(`not_accredited`) and a readable detail (`IssuerRegistry: NotAccredited(issuer=0x..., ...)`).

Besides custom errors, Solidity's two built-in shapes are understood: `Error(string)` from
`require(cond, "msg")` and `Panic(uint256)` from failed asserts and arithmetic overflow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak

from node.errors import ContractRevert

#: `Error(string)`: what `require(cond, "reason")` and `revert("reason")` produce.
ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")
#: `Panic(uint256)`: what failed `assert`, overflow, division by zero... produce (Solidity >= 0.8).
PANIC_SELECTOR = bytes.fromhex("4e487b71")

#: Meaning of the Panic codes, from the Solidity documentation ("Panic via assert and Error via
#: require"), so that a bug in a contract is reported as what it is.
PANIC_REASONS: Mapping[int, str] = {
    0x00: "generic compiler panic",
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "corrupt storage byte array",
    0x31: "pop on an empty array",
    0x32: "array index out of bounds",
    0x41: "too much memory allocated",
    0x51: "call to an uninitialised internal function",
}

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(error_name: str) -> str:
    """`NotAccredited` -> `not_accredited`, `InvalidTTL` -> `invalid_ttl`: stable API codes."""
    return _CAMEL_BOUNDARY.sub("_", error_name).lower()


def canonical_type(abi_input: Mapping[str, Any]) -> str:
    """The ABI type as it appears in a signature; tuples (structs) are expanded recursively."""
    abi_type = str(abi_input["type"])
    if abi_type.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in abi_input.get("components", []))
        return f"({inner}){abi_type[len('tuple') :]}"
    return abi_type


@dataclass(frozen=True)
class CustomError:
    """One `error` declared in a contract ABI."""

    contract: str
    name: str
    input_names: tuple[str, ...]
    input_types: tuple[str, ...]

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(self.input_types)})"

    @property
    def selector(self) -> bytes:
        return keccak(text=self.signature)[:4]

    @classmethod
    def from_abi_entry(cls, contract: str, entry: Mapping[str, Any]) -> CustomError:
        inputs = entry.get("inputs", [])
        return cls(
            contract=contract,
            name=str(entry["name"]),
            input_names=tuple(str(i.get("name") or f"arg{n}") for n, i in enumerate(inputs)),
            input_types=tuple(canonical_type(i) for i in inputs),
        )


def format_value(value: Any) -> str:
    """Render a decoded ABI value the way a person reads it in a log or an API problem."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, tuple | list):
        return "(" + ", ".join(format_value(v) for v in value) + ")"
    if isinstance(value, str) and value.startswith("0x"):
        return value.lower()
    return str(value)


def json_value(value: Any) -> Any:
    """The same value in a JSON-safe shape, for the `args` carried by the exception."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, tuple | list):
        return [json_value(v) for v in value]
    if isinstance(value, str) and value.startswith("0x"):
        return value.lower()
    return value


class ErrorDecoder:
    """Knows the custom errors of a set of contracts, by selector.

    Two contracts may declare the same error (same signature, same selector); then the error is
    attributed to the contract that was called when we know it, else to the first one registered.
    An error bubbling up from a nested call (CredentialRegistry asking IssuerRegistry) keeps the
    inner contract's selector, hence every contract's ABI is consulted, not only the callee's.
    """

    def __init__(self, abis: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        self._by_selector: dict[bytes, list[CustomError]] = {}
        for contract, abi in abis.items():
            for error in _errors_in(contract, abi):
                self._by_selector.setdefault(error.selector, []).append(error)

    def known_errors(self) -> Iterable[CustomError]:
        for candidates in self._by_selector.values():
            yield from candidates

    def decode(self, data: bytes | None, *, contract: str | None = None) -> ContractRevert:
        """Explain revert `data`; `contract` names the callee when known, for the detail prefix."""
        prefix = f"{contract}: " if contract else ""
        if not data:
            return ContractRevert(f"{prefix}reverted without a reason", contract=contract)
        selector, payload = bytes(data[:4]), bytes(data[4:])
        if selector == ERROR_STRING_SELECTOR:
            return self._decode_error_string(payload, prefix, contract)
        if selector == PANIC_SELECTOR:
            return self._decode_panic(payload, prefix, contract)
        candidates = self._by_selector.get(selector, [])
        for error in sorted(candidates, key=lambda e: e.contract != contract):
            try:
                values = abi_decode(list(error.input_types), payload)
            except (DecodingError, ValueError, OverflowError):
                continue
            return _custom_error_revert(error, values)
        return ContractRevert(
            f"{prefix}reverted with unknown error 0x{selector.hex()} ({len(data)} bytes of data)",
            code="unknown_contract_error",
            contract=contract,
            data="0x" + bytes(data).hex(),
        )

    @staticmethod
    def _decode_error_string(payload: bytes, prefix: str, contract: str | None) -> ContractRevert:
        try:
            (reason,) = abi_decode(["string"], payload)
        except (DecodingError, ValueError):
            reason = "<undecodable reason>"
        return ContractRevert(f"{prefix}reverted: {reason}", contract=contract, reason=reason)

    @staticmethod
    def _decode_panic(payload: bytes, prefix: str, contract: str | None) -> ContractRevert:
        try:
            (panic_code,) = abi_decode(["uint256"], payload)
        except (DecodingError, ValueError):
            panic_code = -1
        reason = PANIC_REASONS.get(panic_code, "unknown panic")
        return ContractRevert(
            f"{prefix}panic 0x{max(panic_code, 0):02x} ({reason})",
            code="contract_panic",
            contract=contract,
            panic_code=panic_code,
        )


def _errors_in(contract: str, abi: Sequence[Mapping[str, Any]]) -> Iterable[CustomError]:
    return (CustomError.from_abi_entry(contract, e) for e in abi if e.get("type") == "error")


def _custom_error_revert(error: CustomError, values: Sequence[Any]) -> ContractRevert:
    rendered = ", ".join(
        f"{name}={format_value(value)}"
        for name, value in zip(error.input_names, values, strict=True)
    )
    return ContractRevert(
        f"{error.contract}: {error.name}({rendered})",
        code=snake_case(error.name),
        contract=error.contract,
        error=error.name,
        args={n: json_value(v) for n, v in zip(error.input_names, values, strict=True)},
    )


_HEX_DATA = re.compile(r"0x[0-9a-fA-F]*")


def revert_data_of(error_payload: Any) -> bytes | None:
    """Find the revert bytes in whatever shape a JSON-RPC node returns them.

    Nodes disagree: anvil and geth put a hex string in `error.data`; some wrap it as
    `{"data": "0x..."}` or `{"originalError": {"data": ...}}`; web3's exceptions carry either.
    Returns None when there is no revert data (e.g. out of gas, insufficient funds).
    """
    if isinstance(error_payload, bytes | bytearray):
        return bytes(error_payload)
    if isinstance(error_payload, str):
        return bytes.fromhex(error_payload[2:]) if _HEX_DATA.fullmatch(error_payload) else None
    if isinstance(error_payload, Mapping):
        for key in ("data", "originalError", "error"):
            if key in error_payload:
                found = revert_data_of(error_payload[key])
                if found is not None:
                    return found
    return None
