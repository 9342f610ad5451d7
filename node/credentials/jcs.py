"""RFC 8785 JSON Canonicalization Scheme (JCS).

Used for `eddsa-jcs-2022` and for `credentialHash = keccak256(JCS(credential))`, so it must agree
byte for byte with other implementations (e.g. the `canonicalize` npm package): keys sorted by
UTF-16 code units, no whitespace, strings escaped as ECMAScript `JSON.stringify` does, and numbers
serialized as ECMAScript `Number.prototype.toString` serializes IEEE 754 doubles.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

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
            # orjson writes such values as the C encoder does (sorted keys, no whitespace,
            # ECMAScript's escapes, UTF-8) at several times its speed: every verification hashes
            # its whole credential this way.
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            pass  # a lone surrogate, say: the exact serializer below says what is wrong
    parts: list[str] = []
    _serialize(value, parts)
    return "".join(parts).encode("utf-8")


#: Integers below this print alike in Python and as ECMAScript doubles.
_SAFE_INTEGER = 2**53


def _json_module_agrees(value: Any) -> bool:
    return _scan(value)[0]


def _scan(value: Any) -> tuple[bool, bool]:
    """(agrees, has numbers): whether Python's C JSON encoder (and orjson, which writes what it
    writes) writes `value` exactly as JCS does: no floats (their shortest forms differ, 1e21 vs
    1e+21), integers within +-2**53, plain dicts whose keys are ASCII strings (code point order
    is then UTF-16 order) and lists. Their string escaping is ECMAScript's already. Credentials
    the node issues are such values, and this path is several times faster than `_serialize`.
    And whether the value holds any number (one that does not agree may hold one: True)."""
    numbers = False
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            numbers = True
            if -_SAFE_INTEGER < item < _SAFE_INTEGER:
                continue
            return False, True
        if kind is dict:
            for key, member in item.items():
                if type(key) is not str or not key.isascii():
                    return False, True
                if type(member) is not str:  # most are: not stacked only to be popped
                    stack.append(member)
            continue
        if kind is list:
            stack.extend(item)
            continue
        return False, True
    return True, numbers


@dataclass(frozen=True)
class Members:
    """An object's members in canonical form, each apart: members added later (a status entry,
    a proof) join the canonical text without canonicalizing the rest again (`canonical_object`).
    """

    #: key -> the canonical JSON text of its value.
    texts: dict[str, str]
    #: Whether a number occurs anywhere in the values (False: none does).
    numbers: bool

    def with_member(self, key: str, value: Any) -> Members:
        """These members and one more (replacing any of that key)."""
        return self.with_text(key, canonical_text(value), _scan(value)[1])

    def with_text(self, key: str, text: str, numbers: bool) -> Members:
        """`with_member` for a caller that has the member's canonical text already (and knows
        whether its value holds a number): a bulk issuer's status entries, which differ only in
        their index (`status_list.status_entry_text`)."""
        return Members({**self.texts, key: text}, self.numbers or numbers)


def canonical_members(value: Mapping[str, Any]) -> Members:
    """The members of a JSON object, canonicalized once (`canonical_object` joins them into
    exactly the bytes `canonicalize` gives for the object)."""
    if not isinstance(value, Mapping):
        raise InvalidInput("expected a JSON object", code="invalid_json")
    if not all(isinstance(key, str) for key in value):
        raise InvalidInput("JSON object keys must be strings", code="invalid_json")
    agrees, numbers = _scan(dict(value)) if type(value) is not dict else _scan(value)
    if agrees:
        try:
            # orjson, as in `canonicalize`: five times the C encoder's speed per member.
            return Members({key: _orjson_text(item) for key, item in value.items()}, numbers)
        except TypeError:
            pass  # a lone surrogate: `canonical_text` says what is wrong with which member
    return Members({key: canonical_text(item) for key, item in value.items()}, numbers)


def _orjson_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def canonical_text(value: Any) -> str:
    """`canonicalize(value)` as text."""
    if _json_module_agrees(value):
        try:
            return _orjson_text(value)
        except TypeError:
            pass  # a lone surrogate: the exact serializer below refuses it
    parts: list[str] = []
    _serialize(value, parts)
    return "".join(parts)


def canonical_object(members: Mapping[str, str]) -> bytes:
    """The canonical UTF-8 bytes of the object whose members' canonical texts are `members`."""
    try:
        return canonical_object_text(members).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("string contains a lone UTF-16 surrogate", code="invalid_json") from None


def canonical_object_text(members: Mapping[str, str]) -> str:
    """`canonical_object` as text."""
    order = _member_order(tuple(members))
    return "{" + ",".join([name + members[key] for key, name in order]) + "}"


@functools.lru_cache(maxsize=1024)
def _member_order(keys: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Each key with its serialized name, in JCS order (objects of one shape share it)."""
    return tuple((key, serialize_string(key) + ":") for key in sorted(keys, key=_utf16_sort_key))


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
    # Most strings (ids, URLs, proof values) need no escape: one scan, and an ASCII string
    # (known without a scan) cannot hold a surrogate.
    if _NEEDS_ESCAPE.search(value) is None and (
        value.isascii() or not _LONE_SURROGATE.search(value)
    ):
        return f'"{value}"'
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
