"""How deep a JSON text nests, measured without parsing it (so without recursion).

Every JSON parser worth its speed is recursive (`json.loads` in C, pyld and pydantic validation in
Python), and `py_ecc` (imported by eth-account) raises the interpreter's recursion limit to
100,000 on import. A 200 KB text nested 100,000 deep therefore overflows the C stack inside
`json.loads` and kills the process (a segfault, not an exception). The one safe moment to refuse
such input is before it is parsed: `DepthScanner` counts bracket depth outside strings over raw
bytes, incrementally (a request body arrives in chunks) and iteratively, and raises
`NestingTooDeep` the moment the depth crosses the limit.

Why counting brackets is enough: as long as a prefix of the text is a valid JSON prefix, the
scanner's idea of "inside a string" agrees with the parser's and its depth equals the parser's;
the first byte where they could disagree is a syntax error, where the parser stops before going
any deeper. Depth never drops below zero (a stray closing bracket is counted as nothing), so a
broken prefix can only make the scanner stricter. The scanner reads bytes, so JSON in UTF-8,
UTF-16 or UTF-32 (which `json.loads` accepts as bytes) is measured alike.
"""

from __future__ import annotations

import json
import re
from typing import Any

from node.errors import InvalidInput

#: Deepest nesting the node accepts in any JSON it is given. A CLR bundle inside a presentation
#: nests about 15 deep; 64 leaves room and keeps every recursive consumer far from any limit.
MAX_JSON_DEPTH = 64

#: The rest of a string body up to (not including) its closing quote or a final lone backslash.
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
#: Complete strings, removed before brackets are counted.
_COMPLETE_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
#: Maps `[`/`{` to +1 and `]`/`}` to -1 (as signed bytes) after every other byte is deleted.
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[{]}")


class NestingTooDeep(InvalidInput):
    code = "nesting_too_deep"
    title = "Nesting too deep"


def too_deep(max_depth: int) -> NestingTooDeep:
    return NestingTooDeep(
        f"the input nests deeper than {max_depth} levels of arrays and objects",
        max_depth=max_depth,
    )


class DepthScanner:
    """Feed a JSON text in chunks; `feed` raises `NestingTooDeep` once it nests too deep."""

    __slots__ = ("depth", "escaped", "in_string", "max_depth")

    def __init__(self, max_depth: int = MAX_JSON_DEPTH) -> None:
        self.max_depth = max_depth
        self.depth = 0
        self.in_string = False
        self.escaped = False

    def feed(self, data: bytes, *, last: bool = False) -> None:
        """`last`: nothing follows, so the scanner's state after `data` is not needed; then a
        text holding at most `max_depth` opening brackets in all (counted in strings too, which
        can only overcount) cannot nest deeper and is not scanned for strings at all: the
        common case, at a twentieth of the cost (a 4 KB credential: ~2 µs instead of ~40)."""
        if last and self.depth + data.count(b"[") + data.count(b"{") <= self.max_depth:
            return
        start = self._finish_string(data) if self.in_string else 0
        if self.in_string:
            return
        structure = _COMPLETE_STRING.sub(b"", data[start:])
        quote = structure.find(b'"')
        if quote >= 0:  # a string that continues in the next chunk
            self._count(structure[:quote])
            self.in_string = True
            self._finish_string(structure[quote + 1 :])
        else:
            self._count(structure)

    def _finish_string(self, data: bytes) -> int:
        """Skip the rest of the open string in `data`; the index after its closing quote."""
        position = 0
        if self.escaped and data:
            self.escaped, position = False, 1
        end = _STRING_REST.match(data, position).end()  # type: ignore[union-attr]
        if end == len(data):
            return end
        if data[end : end + 1] == b'"':
            self.in_string = False
            return end + 1
        self.escaped = True  # a lone backslash ends the chunk: it escapes the next one's first
        return len(data)

    def _count(self, segment: bytes) -> None:
        opens = segment.count(b"[") + segment.count(b"{")
        if not opens and not self.depth:
            return
        if self.depth + opens <= self.max_depth:
            closes = segment.count(b"]") + segment.count(b"}")
            if closes <= self.depth:  # cannot reach below zero in any order: the sum is exact
                self.depth += opens - closes
                return
        depth = self.depth
        for step in memoryview(segment.translate(_STEPS, _NOT_BRACKETS)).cast("b"):
            depth = max(0, depth + step)
            if depth > self.max_depth:
                raise too_deep(self.max_depth)
        self.depth = depth


def check_json_depth(text: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise `NestingTooDeep` if the JSON `text` nests deeper than `max_depth`."""
    scanner = DepthScanner(max_depth)
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    scanner.feed(data, last=True)


def loads_bounded(text: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads` that refuses (`NestingTooDeep`) before parsing a text nested too deep.

    Other failures are `json.loads`'s own (`ValueError`, `UnicodeDecodeError`).
    """
    check_json_depth(text, max_depth)
    return json.loads(text)
