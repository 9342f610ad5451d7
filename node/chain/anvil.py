"""Anvil as a child process: the node's embedded chain, and the tests' chain.

A small deployment runs its own single-node chain instead of joining a public network. Anvil
(Foundry's dev node) is that chain: it automines each transaction at once and, with
`--state <file>`, reloads accounts, contracts, blocks and timestamps when restarted, so the
deployment recorded in `deployment.json` keeps pointing at live contracts.

Anvil 1.7.1 behaviour this module relies on (checked by tests/e2e/chain):
- `--state FILE` = `--load-state FILE` + `--dump-state FILE`: loaded if present, written on exit.
  The dump happens on SIGTERM/SIGINT, not on SIGKILL, hence `stop()` asks politely first;
  `--state-interval N` additionally dumps every N seconds to bound what a crash loses.
- Block numbers, hashes and timestamps continue from the dump after a restart.

The tests' chains use `--state` as is; the node's embedded chain does not (its state file is
written by the node only, see node/chain/embedded.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount

from node.errors import ChainError, ConfigurationError

#: Where `npm install` puts the anvil binary of `@foundry-rs/anvil` on linux x86-64.
BUNDLED_ANVIL = Path("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
#: The repository root (this file is node/chain/anvil.py).
REPO_ROOT = Path(__file__).resolve().parents[2]
#: Anvil's well-known development mnemonic: its accounts are funded with 10,000 ETH each.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEFAULT_CHAIN_ID = 31337


@cache
def dev_accounts(count: int = 10, mnemonic: str = DEV_MNEMONIC) -> tuple[LocalAccount, ...]:
    """The funded accounts anvil derives from `mnemonic` (BIP-44 path m/44'/60'/0'/0/i).

    For development and tests only: the default mnemonic is public, so are these keys.
    """
    Account.enable_unaudited_hdwallet_features()
    return tuple(
        Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}") for i in range(count)
    )


def find_anvil_binary() -> Path:
    """`LERNODE_ANVIL_BIN`, else the npm-installed binary in the repo, else `anvil` on PATH."""
    configured = os.environ.get("LERNODE_ANVIL_BIN")
    if configured:
        path = Path(configured)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ConfigurationError(
                f"LERNODE_ANVIL_BIN={configured} is not an executable file", code="anvil_not_found"
            )
        return path
    bundled = REPO_ROOT / BUNDLED_ANVIL
    if bundled.is_file():
        return bundled
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise ConfigurationError(
        "anvil not found: run `npm ci` in the repository, install Foundry, "
        "or set LERNODE_ANVIL_BIN",
        code="anvil_not_found",
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it; a tiny race remains, as usual)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class AnvilProcess:
    """Start, watch and stop one anvil; also a context manager.

    Anvil's output goes to a log file rather than a pipe: nobody reads the pipe while the node
    runs, and a full pipe buffer would freeze anvil. The log's tail is quoted when anvil dies.
    """

    HOST = "127.0.0.1"

    def __init__(
        self,
        *,
        state_file: Path | None = None,
        port: int | None = None,
        chain_id: int = DEFAULT_CHAIN_ID,
        state_interval: int | None = None,
        accounts: int = 10,
        mnemonic: str = DEV_MNEMONIC,
        binary: Path | None = None,
        log_file: Path | None = None,
        startup_timeout: float = 15.0,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.state_file = state_file
        self.port = port
        self.chain_id = chain_id
        self.state_interval = state_interval
        self.accounts = accounts
        self.mnemonic = mnemonic
        self.binary = binary
        self.log_file = log_file
        self.startup_timeout = startup_timeout
        self.extra_args = tuple(extra_args)
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._owns_log = False  # a temporary log we created is deleted on stop

    @property
    def rpc_url(self) -> str:
        if self.port is None:
            raise ChainError("anvil has not been started", code="anvil_not_running")
        return f"http://{self.HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def command(self) -> list[str]:
        """The anvil command line (port must be chosen)."""
        args = [
            str(self.binary or find_anvil_binary()),
            "--host", self.HOST,
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--accounts", str(self.accounts),
            "--mnemonic", self.mnemonic,
            "--silent",
        ]  # fmt: skip
        if self.state_file is not None:
            args += ["--state", str(self.state_file)]
            if self.state_interval is not None:
                args += ["--state-interval", str(self.state_interval)]
        return args + list(self.extra_args)

    def start(self) -> Self:
        """Launch anvil and return once its RPC answers; raise `ChainError` if it does not."""
        if self.is_running():
            return self
        if self.port is None:
            self.port = free_port(self.HOST)
        if self.state_file is not None:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
        if self.log_file is None and self.state_file is not None:
            self.log_file = self.state_file.with_name(self.state_file.name + ".log")
        if self.log_file is None:
            handle, name = tempfile.mkstemp(prefix="anvil-", suffix=".log")
            os.close(handle)
            self.log_file = Path(name)
            self._owns_log = True
        self._log = self.log_file.open("ab")
        self._process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal reaches the node, which stops us
            # Only prctl + getppid run in the child (EmbeddedChain); no locks, no imports.
            preexec_fn=self._child_setup(),  # noqa: PLW1509
        )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _child_setup(self) -> Callable[[], None] | None:
        """What the child runs between fork and exec (subclasses bind it to its parent)."""
        return None

    def rpc(self, method: str, params: Sequence[Any] = (), timeout: float = 30.0) -> Any:
        """One JSON-RPC request to this anvil: its `result`, or `ChainError`."""
        payload: dict[str, Any] = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": method,
            "params": list(params),
        }
        try:
            answer = requests.post(self.rpc_url, json=payload, timeout=timeout).json()
        except (requests.RequestException, ValueError) as exc:
            raise ChainError(
                f"anvil did not answer {method}: {type(exc).__name__}", code="anvil_unreachable"
            ) from exc
        if "error" in answer:
            raise ChainError(f"anvil refused {method}: {answer['error']}", code="anvil_rpc_error")
        return answer.get("result")

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def check_alive(self) -> None:
        """Raise a `ChainError` quoting anvil's last output if the process has died."""
        if self._process is None:
            raise ChainError("anvil has not been started", code="anvil_not_running")
        code = self._process.poll()
        if code is not None:
            raise ChainError(
                f"anvil exited with status {code}: {self.log_tail() or 'no output'}",
                code="anvil_exited",
            )

    def log_tail(self, max_chars: int = 600) -> str:
        if self.log_file is None or not self.log_file.exists():
            return ""
        text = self.log_file.read_bytes()[-max_chars:].decode("utf-8", "replace")
        return " | ".join(line.strip() for line in text.splitlines() if line.strip())

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM so anvil writes its state file, then SIGKILL if it does not exit in time."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._owns_log and self.log_file is not None:
            self.log_file.unlink(missing_ok=True)
            self.log_file, self._owns_log = None, False

    def restart(self) -> Self:
        """Stop and start on the same port and state file (what a node restart does)."""
        self.stop()
        return self.start()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        payload: dict[str, Any] = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_chainId",
            "params": [],
        }
        while True:
            self.check_alive()
            try:
                answer = requests.post(self.rpc_url, json=payload, timeout=1.0)
                if answer.ok and "result" in answer.json():
                    return
            except (requests.ConnectionError, requests.Timeout, ValueError):
                pass
            if time.monotonic() > deadline:
                raise ChainError(
                    f"anvil did not answer on {self.rpc_url} within {self.startup_timeout:g}s: "
                    f"{self.log_tail() or 'no output'}",
                    code="anvil_start_timeout",
                )
            time.sleep(0.02)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
