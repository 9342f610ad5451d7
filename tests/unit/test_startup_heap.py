"""A serving process settles what it built at startup out of the garbage collector's reach, so
no full collection walks it again on a request's time; what requests make is still collected."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from node.wiring.lifecycle import settle_startup_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_startup_objects_are_frozen_and_later_cycles_still_collected() -> None:
    built_at_startup = [{"service": i} for i in range(1_000)]
    settle_startup_heap()
    assert gc.get_freeze_count() >= len(built_at_startup)
    for generation in (0, 1, 2):  # in none that a collection walks
        assert not any(item is built_at_startup for item in gc.get_objects(generation))

    class Cycle:
        pass

    a, b = Cycle(), Cycle()
    a.other, b.other = b, a  # type: ignore[attr-defined]
    del a, b
    assert gc.collect() >= 2
