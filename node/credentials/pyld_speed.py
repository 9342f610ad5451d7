"""pyld, made fast enough for per-credential canonicalization, and safe under threads.

Profiling `canonize` on OB 3.0 credentials showed ~80% of the time in JSON-LD context
processing: pyld caches a processed context per (context, active context), but keys the active
context by a fresh UUID whenever it clones one (every type-scoped context, which OB 3.0 and
VC 2.0 use on nearly every node), so the same contexts are processed again for every node of
every credential. `_process_context` is a function of the active context (immutable once it has
its UUID: pyld freezes processed contexts), the local context, a few flags and three options, so
this module memoizes it under exactly those: a repeated call returns the very same frozen
context object, whose stable UUID then makes pyld's own caches hit below it. Output is
unchanged by construction, and `tests/interop` compares it byte for byte with jsonld.js and
stock pyld on the whole conformance corpus.

pyld's caches are `cachetools.LRUCache`s, which reorder themselves on every read and are not
thread-safe; the API verifies and signs from a thread pool. They are swapped for locked ones.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from cachetools import LRUCache
from frozendict import frozendict
from pyld import jsonld as pyld
from pyld import resolved_context

#: Distinct (active context, local context) pairs kept; an OB 3.0 credential uses a few dozen.
MEMO_SIZE = 4096


class LockedLRUCache(LRUCache):
    """`cachetools.LRUCache` whose every access holds one lock (reads reorder it too)."""

    def __init__(self, maxsize: int, getsizeof: Any = None) -> None:
        super().__init__(maxsize, getsizeof)
        self._lock = threading.RLock()

    def __getitem__(self, key: Any) -> Any:
        with self._lock:
            return super().__getitem__(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        with self._lock:
            super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        with self._lock:
            super().__delitem__(key)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return super().__contains__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        with self._lock:
            return super().get(key, default)

    def pop(self, key: Any, *args: Any) -> Any:
        with self._lock:
            return super().pop(key, *args)

    def popitem(self) -> Any:
        with self._lock:
            return super().popitem()


class _Memo:
    """A small locked LRU of processed contexts; entries keep alive what their keys name by
    `id()`, so no id can be reused by another object while its entry exists."""

    def __init__(self, size: int) -> None:
        self._entries: OrderedDict[Hashable, tuple[Any, tuple[Any, ...]]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: Hashable, value: Any, keep: tuple[Any, ...]) -> None:
        with self._lock:
            self._entries[key] = (value, keep)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


memo = _Memo(MEMO_SIZE)
_original_process_context = pyld.JsonLdProcessor._process_context


def _local_key(local_ctx: Any, keep: list[Any]) -> Hashable | None:
    """A key that is equal only for equal local contexts; None: do not memoize."""
    if isinstance(local_ctx, str):
        return ("s", local_ctx)
    if isinstance(local_ctx, frozendict):
        keep.append(local_ctx)  # immutable: its identity is its content while it lives
        return ("f", id(local_ctx))
    if isinstance(local_ctx, dict):
        try:
            return ("d", json.dumps(local_ctx, sort_keys=True, separators=(",", ":")))
        except (TypeError, ValueError):
            return None
    if isinstance(local_ctx, list):
        parts = [_local_key(item, keep) for item in local_ctx]
        return None if any(p is None for p in parts) else ("l", tuple(parts))
    if local_ctx is None or local_ctx is False:
        return ("n", local_ctx)
    return None


def _memoized_process_context(
    self: pyld.JsonLdProcessor,
    active_ctx: Any,
    local_ctx: Any,
    options: dict[str, Any],
    override_protected: bool = False,
    propagate: bool = True,
    validate_scoped: bool = True,
    cycles: set[str] | None = None,
) -> Any:
    def compute() -> Any:
        return _original_process_context(
            self,
            active_ctx,
            local_ctx,
            options,
            override_protected=override_protected,
            propagate=propagate,
            validate_scoped=validate_scoped,
            cycles=cycles,
        )

    uuid = active_ctx.get("_uuid") if isinstance(active_ctx, dict | frozendict) else None
    if uuid is None or not isinstance(active_ctx, frozendict) or not local_ctx:
        return compute()  # a mutable or empty-context call: pyld returns a fresh clone
    keep: list[Any] = [active_ctx]
    local = _local_key(local_ctx, keep)
    if local is None:
        return compute()
    loader = options.get("documentLoader")
    keep.append(loader)
    key = (
        uuid,
        local,
        override_protected,
        propagate,
        validate_scoped,
        tuple(sorted(cycles or ())),
        options.get("base"),
        options.get("processingMode"),
        id(loader),
    )
    found = memo.get(key)
    if found is not None:
        return found
    result = compute()
    if isinstance(result, frozendict):  # only immutable results may be shared
        memo.put(key, result, tuple(keep))
    return result


def install() -> None:
    """Memoize context processing and lock pyld's caches (idempotent)."""
    if pyld.JsonLdProcessor._process_context is not _memoized_process_context:
        pyld.JsonLdProcessor._process_context = _memoized_process_context
    if not isinstance(pyld._resolved_context_cache, LockedLRUCache):
        pyld._resolved_context_cache = LockedLRUCache(maxsize=pyld.RESOLVED_CONTEXT_CACHE_MAX_SIZE)
        pyld._inverse_context_cache = LockedLRUCache(maxsize=pyld.INVERSE_CONTEXT_CACHE_MAX_SIZE)
        resolved_context.LRUCache = LockedLRUCache


def uninstall() -> None:
    """Stock pyld again (tests compare the two)."""
    pyld.JsonLdProcessor._process_context = _original_process_context
