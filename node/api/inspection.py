"""What a request may carry before anything parses it: bounded JSON nesting, no NUL character.

Run by the body-limit middleware (limits.py) on every request, before routing, authentication
or any parse, because FastAPI parses a JSON body before it checks the API key and the parsers
are recursive (see node/credentials/json_depth.py for why that can kill the process).

- The query string is checked at once: each value, decoded, must nest at most `MAX_JSON_DEPTH`
  deep and hold no NUL (`/verify?credential=` carries JSON).
- The body is checked chunk by chunk as it streams in, so a refused body is never held whole:
  its raw bytes as a JSON text (whatever the declared type: `/v1/verify` parses any body), and,
  for forms, each field value (URL-decoded) or multipart part as a JSON text of its own, split
  by the same `python_multipart` parsers Starlette uses, so the pieces measured are exactly the
  pieces a route can parse.
- NUL (a raw 0x00 byte, `\\u0000` in JSON, `%00` in a URL) is refused everywhere: PostgreSQL
  cannot store it in text, and no identifier, name or credential needs it.

Refusals are 422 problems, `nesting_too_deep` or `nul_character`.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, unquote_to_bytes

import python_multipart
from python_multipart.multipart import parse_options_header
from starlette.datastructures import Headers
from starlette.types import Scope

from node.credentials.json_depth import MAX_JSON_DEPTH, DepthScanner, NestingTooDeep
from node.errors import InvalidInput

#: Where the body-limit middleware keeps the inspector of a request in its ASGI scope.
INSPECTOR_SCOPE_KEY = "lernode.body_inspector"
#: A NUL written as a JSON escape (a raw NUL byte is found as itself).
_ESCAPED_NUL = b"\\u0000"
#: Bytes kept from one chunk to find a `\u0000` split across two.
_NUL_OVERLAP = len(_ESCAPED_NUL) - 1


class NulCharacter(InvalidInput):
    code = "nul_character"
    title = "NUL character"

    def __init__(self, where: str) -> None:
        super().__init__(
            f"the {where} contains a NUL character (U+0000), which the node accepts in no text"
        )


def inspect_request(scope: Scope, max_depth: int = MAX_JSON_DEPTH) -> BodyInspector:
    """Check the path and query of a request now; the inspector its body chunks go through.

    Raises `NestingTooDeep` or `NulCharacter`.
    """
    if "\x00" in scope.get("path", ""):
        raise NulCharacter("path")
    query = scope.get("query_string", b"").decode("latin-1")
    for _, value in parse_qsl(query, keep_blank_values=True):
        if "\x00" in value:
            raise NulCharacter("query")
        DepthScanner(max_depth).feed(value.encode("utf-8", "surrogatepass"), last=True)
    return BodyInspector(Headers(scope=scope).get("content-type"), max_depth)


class BodyInspector:
    """Checks one request body as it streams: `feed` raises on the first offending chunk."""

    def __init__(self, content_type: str | None, max_depth: int = MAX_JSON_DEPTH) -> None:
        self.max_depth = max_depth
        #: True once the last chunk passed: the whole body, as one JSON text, nests at most
        #: `max_depth` deep and holds no NUL (see `body_depth_checked`).
        self.complete = False
        self._raw = DepthScanner(max_depth)
        self._nul = _NulFinder()
        self._form = _form_scanner(content_type, max_depth)

    def feed(self, chunk: bytes, *, last: bool = False) -> None:
        if chunk:
            self._nul.feed(chunk, "body")
            self._raw.feed(chunk, last=last)
            if self._form is not None:
                self._form.feed(chunk)
        if last:
            self.complete = True


def body_depth_checked(scope: Scope, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether the whole body of this request passed the raw depth scan, as one JSON text, at
    most `max_depth` deep: exactly what `check_json_depth` on the body would find, so a route
    parsing the body it read need not scan it again (a second scan of a 4 KB credential cost a
    few percent of a verification). False for a request that did not come through the
    body-limit middleware, or whose body was not read to its end."""
    inspector = scope.get(INSPECTOR_SCOPE_KEY)
    return (
        isinstance(inspector, BodyInspector)
        and inspector.complete
        and inspector.max_depth <= max_depth
    )


class _NulFinder:
    def __init__(self) -> None:
        self._tail = b""

    def feed(self, chunk: bytes, where: str) -> None:
        # Two substring searches, not one regex alternation: ~1 µs instead of ~17 for a 4 KB
        # credential (each `in` is one fast scan; the regex tried both at every byte).
        data = self._tail + chunk
        if b"\x00" in data or _ESCAPED_NUL in data:
            raise NulCharacter(where)
        self._tail = chunk[-_NUL_OVERLAP:]


class _FormScanner:
    """Measures each field value or part of a form as a JSON text of its own.

    The parser's callbacks cannot raise through it, so they record the first refusal and
    `feed` raises it. Input the parser rejects is left to Starlette, whose identical parser
    rejects it at the same byte, before any route can read what follows.
    """

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self.parser: python_multipart.QuerystringParser | python_multipart.MultipartParser
        self._scanner = DepthScanner(max_depth)
        self._decoder: _PercentDecoder | None = None
        self._nul = _NulFinder()
        self._refusal: InvalidInput | None = None
        self._broken = False

    def feed(self, chunk: bytes) -> None:
        if self._broken:
            return
        try:
            self.parser.write(chunk)
        except Exception:  # malformed form: Starlette's own parse fails the same way
            self._broken = True
        if self._refusal is not None:
            raise self._refusal

    def begin(self) -> None:
        self._scanner = DepthScanner(self.max_depth)
        self._nul = _NulFinder()
        self._decoder = None

    def data(self, data: bytes, start: int, end: int) -> None:
        piece = data[start:end]
        if self._decoder is not None:
            piece = self._decoder.feed(piece)
        self._check(piece)

    def field_start(self) -> None:
        self.begin()
        self._decoder = _PercentDecoder()

    def field_end(self) -> None:
        if self._decoder is not None:
            self._check(self._decoder.flush())

    def _check(self, piece: bytes) -> None:
        if self._refusal is not None:
            return
        try:
            self._nul.feed(piece, "form")
            self._scanner.feed(piece)
        except (NestingTooDeep, NulCharacter) as refusal:
            self._refusal = refusal


def _form_scanner(content_type: str | None, max_depth: int) -> _FormScanner | None:
    if not content_type:
        return None
    media_type, options = parse_options_header(content_type)
    scanner = _FormScanner(max_depth)
    if media_type == b"application/x-www-form-urlencoded":
        scanner.parser = python_multipart.QuerystringParser(
            {
                "on_field_start": scanner.field_start,
                "on_field_data": scanner.data,
                "on_field_end": scanner.field_end,
            }
        )
        return scanner
    if media_type == b"multipart/form-data" and b"boundary" in options:
        scanner.parser = python_multipart.MultipartParser(
            options[b"boundary"], {"on_part_begin": scanner.begin, "on_part_data": scanner.data}
        )
        return scanner
    return None


class _PercentDecoder:
    """URL-decodes a field value that arrives in pieces (a `%XX` may be split between two)."""

    def __init__(self) -> None:
        self._carry = b""

    def feed(self, piece: bytes) -> bytes:
        data = self._carry + piece
        cut = data.rfind(b"%", max(0, len(data) - 2))
        if cut < 0:
            cut = len(data)
        self._carry = data[cut:]
        return unquote_to_bytes(data[:cut].replace(b"+", b" "))

    def flush(self) -> bytes:
        rest, self._carry = self._carry, b""
        return unquote_to_bytes(rest)


Inspect = Callable[[Scope], BodyInspector]
