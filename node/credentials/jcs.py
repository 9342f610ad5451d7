"""RFC 8785 JSON Canonicalization Scheme (JCS).

Used for `eddsa-jcs-2022` and for `credentialHash = keccak256(JCS(credential))`, so it must agree
byte for byte with other implementations (e.g. the `canonicalize` npm package): keys sorted by
UTF-16 code units, no whitespace, strings escaped as ECMAScript `JSON.stringify` does, and numbers
serialized as ECMAScript `Number.prototype.toString` serializes IEEE 754 doubles.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from node.errors import InvalidInput

_STRING_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\]')
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def canonicalize(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value (dict/list/str/int/float/bool/None)."""
    if _json_module_agrees(value):
        try:
            return json.dumps(
                value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
            ).encode("utf-8")
        except (UnicodeEncodeError, ValueError, TypeError):
            pass  # a lone surrogate, say: the exact serializer below says what is wrong
    parts: list[str] = []
    _serialize(value, parts)
    return "".join(parts).encode("utf-8")


#: Integers below this print alike in Python and as ECMAScript doubles.
_SAFE_INTEGER = 2**53


def _json_module_agrees(value: Any) -> bool:
    """Whether Python's C JSON encoder writes `value` exactly as JCS does: no floats (their
    shortest forms differ, 1e21 vs 1e+21), integers within +-2**53, plain dicts whose keys are
    ASCII strings (code point order is then UTF-16 order) and lists. Its string escaping is
    ECMAScript's already. Credentials the node issues are such values, and this path is several
    times faster than `_serialize`."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -_SAFE_INTEGER < item < _SAFE_INTEGER:
                continue
            return False
        if kind is dict:
            for key, member in item.items():
                if type(key) is not str or not key.isascii():
                    return False
                stack.append(member)
            continue
        if kind is list:
            stack.extend(item)
            continue
        return False
    return True


def _serialize(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(serialize_string(value))
    elif isinstance(value, int | float):
        out.append(serialize_number(value))
    elif isinstance(value, Mapping):
        _serialize_object(value, out)
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _serialize(item, out)
        out.append("]")
    else:
        raise InvalidInput(f"{type(value).__name__} is not a JSON value", code="invalid_json")


def _serialize_object(value: Mapping[Any, Any], out: list[str]) -> None:
    if not all(isinstance(key, str) for key in value):
        raise InvalidInput("JSON object keys must be strings", code="invalid_json")
    out.append("{")
    for index, key in enumerate(sorted(value, key=_utf16_sort_key)):
        if index:
            out.append(",")
        out.append(serialize_string(key))
        out.append(":")
        _serialize(value[key], out)
    out.append("}")


def _utf16_sort_key(key: str) -> bytes:
    # Big-endian UTF-16 bytes compare exactly like sequences of UTF-16 code units.
    return key.encode("utf-16-be", "surrogatepass")


def serialize_string(value: str) -> str:
    """A JSON string literal as ECMAScript `JSON.stringify` writes it."""
    if _LONE_SURROGATE.search(value):
        raise InvalidInput("string contains a lone UTF-16 surrogate", code="invalid_json")
    escaped = _NEEDS_ESCAPE.sub(
        lambda m: _STRING_ESCAPES.get(m.group()) or f"\\u{ord(m.group()):04x}", value
    )
    return f'"{escaped}"'


def serialize_number(value: float) -> str:
    """ECMAScript `Number.prototype.toString` of `value` taken as an IEEE 754 double.

    Python integers beyond 2**53 are converted to the nearest double first, exactly as any
    JavaScript verifier would parse them.
    """
    try:
        number = float(value)
    except OverflowError:
        raise InvalidInput("integer too large for a JSON number", code="invalid_json") from None
    if not math.isfinite(number):
        raise InvalidInput("NaN and Infinity are not JSON numbers", code="invalid_json")
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    # repr() gives the shortest digits that round-trip, which is what ECMAScript requires.
    decimal_tuple = Decimal(repr(abs(number))).normalize().as_tuple()
    digits = "".join(map(str, decimal_tuple.digits))
    exponent = int(decimal_tuple.exponent)
    k = len(digits)
    n = exponent + k  # value = 0.digits * 10**n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        power = n - 1
        mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
        text = f"{mantissa}e{'+' if power >= 0 else '-'}{abs(power)}"
    return sign + text
