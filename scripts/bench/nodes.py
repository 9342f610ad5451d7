"""Ready nodes for the sections that drive the real services (issuance, verification, DID).

`bootstrap.prepare` gives a node on its own embedded anvil with an accredited institution, the
same path `lernode up` takes, so the figures include everything a deployment pays for.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from node.config import Settings
from node.credentials.inputs import AchievementInput, CredentialInput, LearnerInput
from node.store.models import Institution
from node.wiring.bootstrap import prepare
from node.wiring.lifecycle import settle_startup_heap
from node.wiring.runtime import Node


@contextmanager
def ready_node(
    database_url: str | None = None,
    *,
    block_time: float = 0.25,
    confirmations: int = 1,
    **overrides: Any,
) -> Iterator[tuple[Node, Institution]]:
    """A node with 1-confirmation finality and a short empty-block interval, so `drain()`
    reaches `final` quickly after the last anchor instead of waiting a default 1 s block."""
    with tempfile.TemporaryDirectory(prefix="lernode-bench-") as data_dir:
        settings = Settings(
            data_dir=Path(data_dir),
            database_url=database_url,
            confirmations=confirmations,
            embedded_block_time=block_time,
            anchor_interval=0.1,
            **overrides,
        )
        node, institution, _, _ = prepare(settings)
        settle_startup_heap()  # as a serving process does once started
        try:
            yield node, institution
        finally:
            node.close()


def sample_inputs(count: int, offset: int = 0) -> list[CredentialInput]:
    """`count` realistic course-completion badges (learner name and hashed e-mail, criteria)."""
    return [
        CredentialInput(
            learner=LearnerInput(name=f"Learner {i}", email=f"learner{i}@example.org"),
            achievement=AchievementInput(
                name="Introduction to Distributed Ledgers",
                description="Completed the 6 ECTS introductory course with a passing grade.",
                criteria_narrative="Pass the written exam and the lab assignments.",
            ),
        )
        for i in range(offset, offset + count)
    ]
