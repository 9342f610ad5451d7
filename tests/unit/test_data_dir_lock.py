"""Specifications for the data-directory lock (issue 10, item 15): one node per directory that
holds its chain or SQLite database, refused with the holder's PID; shared PostgreSQL nodes on an
external chain keep sharing one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from node.config import Settings
from node.errors import ConfigurationError
from node.wiring.datadir import claim_data_dir

LOCK_IN_CHILD = (
    "import sys; from pathlib import Path; from node.wiring.datadir import lock_data_dir\n"
    "try:\n    lock_data_dir(Path(sys.argv[1]))\nexcept Exception as e:\n"
    "    print(e.detail); sys.exit(3)\n"
)


def test_a_second_process_is_refused_naming_the_holder(tmp_path: Path) -> None:
    path = claim_data_dir(Settings(data_dir=tmp_path))
    assert path is not None and path.stat().st_mode & 0o777 == 0o600
    child = subprocess.run(
        [sys.executable, "-c", LOCK_IN_CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert child.returncode == 3, child.stderr
    assert f"PID {os.getpid()}" in child.stdout and "in use" in child.stdout


def test_a_new_data_directory_is_created_private(tmp_path: Path) -> None:
    claim_data_dir(Settings(data_dir=tmp_path / "fresh"))
    assert (tmp_path / "fresh").stat().st_mode & 0o777 == 0o700


def test_nodes_on_postgresql_and_an_external_chain_may_share_a_directory(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        rpc_url="http://127.0.0.1:8545",
        chain_id=31337,
        database_url="postgresql://u@127.0.0.1/db",
    )
    assert claim_data_dir(settings) is None
    assert not (tmp_path / "lernode.lock").exists()


def test_an_unusable_directory_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigurationError, match="not writable"):
        claim_data_dir(Settings(data_dir=tmp_path / "file" / "data"))
