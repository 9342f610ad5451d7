"""Keys at rest, always encrypted.

Two kinds of key live in `DATA_DIR/keys/`:
- secp256k1 accounts (send transactions, own DIDs) in the Ethereum keystore v3 format (scrypt +
  AES-128-CTR), so standard tools (geth, ethers, foundry's `cast wallet`) can import them;
- Ed25519 assertion keys (sign credentials) as JSON: scrypt-derived key + AES-256-GCM, with the
  public key in clear so the node can publish it without decrypting.

Files are written 0600 and the directory 0700; `check_permissions` refuses to start on keys
readable by others. A secret never reaches a log: nothing here formats one into a message.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from eth_account import Account
from eth_account.signers.local import LocalAccount

from node.errors import ConfigurationError

#: scrypt cost: n=2**15 takes ~50 ms here; keys are decrypted once per start.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def write_private(path: Path, content: str) -> None:
    """Create `path` with mode 0600 from the start (never briefly world-readable)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


#: The process umask of a node: what it creates is its own user's alone (files 0600, dirs 0700),
#: including what SQLite, anvil and log handlers create without asking.
PRIVATE_UMASK = 0o077


def make_private(directory: Path, *, keep: Path | None = None) -> None:
    """`directory` 0700 and everything under it readable by its owner only (dirs 0700, files
    without group/other bits): a data directory an older node wrote with looser modes is
    brought to what docs/security.md promises. Symlinks are left alone, and so is `keep` (the
    key directory, whose loose files stop the node instead: a key others could read may have
    been copied, which the operator must hear about)."""
    for path in [directory, *directory.rglob("*")]:
        if path.is_symlink() or (keep is not None and path.is_relative_to(keep)):
            continue
        mode = path.stat().st_mode & 0o7777
        wanted = 0o700 if path.is_dir() else mode & ~0o077
        if mode != wanted:
            path.chmod(wanted)


@dataclass(frozen=True)
class Ed25519Key:
    """A decrypted Ed25519 signing key and its id in the keystore."""

    key_id: str
    private_key: Ed25519PrivateKey

    @property
    def public_bytes(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


class KeyStore:
    """Encrypted key files under one directory, unlocked with one passphrase."""

    def __init__(self, directory: Path, passphrase: str) -> None:
        if not passphrase:
            raise ConfigurationError("the key passphrase is empty", code="empty_passphrase")
        self.directory = directory
        self._passphrase = passphrase.encode()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(0o700)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot use key directory {directory}: {exc.strerror}", code="data_dir_unwritable"
            ) from None

    # -- secp256k1 accounts ------------------------------------------------------------------

    def account_path(self, name: str) -> Path:
        return self.directory / f"{name}.account.json"

    def has_account(self, name: str) -> bool:
        return self.account_path(name).exists()

    def create_account(self, name: str, private_key: str | bytes | None = None) -> LocalAccount:
        """Store a new (or the given) account under `name`; refuses to overwrite."""
        path = self.account_path(name)
        if path.exists():
            raise ConfigurationError(f"key {name!r} already exists", code="key_exists")
        account: LocalAccount = (
            Account.from_key(private_key) if private_key is not None else Account.create()
        )
        encrypted = Account.encrypt(
            account.key, self._passphrase.decode(), kdf="scrypt", iterations=SCRYPT_N
        )
        write_private(path, json.dumps(encrypted))
        return account

    def load_account(self, name: str) -> LocalAccount:
        path = self.account_path(name)
        try:
            keyfile = json.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigurationError(f"no key named {name!r}", code="key_missing") from None
        try:
            key = Account.decrypt(keyfile, self._passphrase.decode())
        except ValueError:
            raise ConfigurationError(
                f"cannot decrypt key {name!r}: wrong passphrase", code="wrong_passphrase"
            ) from None
        account: LocalAccount = Account.from_key(key)
        return account

    def account(self, name: str, import_key: str | None = None) -> LocalAccount:
        """Load `name`, creating it (from `import_key` when given) on first use."""
        if self.has_account(name):
            return self.load_account(name)
        return self.create_account(name, import_key)

    # -- Ed25519 signing keys ----------------------------------------------------------------

    def signing_key_path(self, key_id: str) -> Path:
        return self.directory / f"{key_id}.ed25519.json"

    def create_signing_key(self) -> Ed25519Key:
        key = Ed25519PrivateKey.generate()
        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        key_id = f"ed25519-{public[:8].hex()}"
        salt = secrets.token_bytes(16)
        nonce = secrets.token_bytes(12)
        ciphertext = AESGCM(self._derive(salt)).encrypt(nonce, raw, public)
        document = {
            "version": 1,
            "type": "Ed25519",
            "publicKey": _b64(public),
            "kdf": {
                "name": "scrypt",
                "n": SCRYPT_N,
                "r": SCRYPT_R,
                "p": SCRYPT_P,
                "salt": _b64(salt),
            },
            "cipher": {"name": "aes-256-gcm", "nonce": _b64(nonce), "ciphertext": _b64(ciphertext)},
        }
        write_private(self.signing_key_path(key_id), json.dumps(document, indent=2))
        return Ed25519Key(key_id, key)

    def load_signing_key(self, key_id: str) -> Ed25519Key:
        try:
            document = json.loads(self.signing_key_path(key_id).read_text())
        except FileNotFoundError:
            raise ConfigurationError(f"no signing key {key_id!r}", code="key_missing") from None
        kdf, cipher = document["kdf"], document["cipher"]
        derived = self._derive(_unb64(kdf["salt"]), n=kdf["n"], r=kdf["r"], p=kdf["p"])
        try:
            raw = AESGCM(derived).decrypt(
                _unb64(cipher["nonce"]), _unb64(cipher["ciphertext"]), _unb64(document["publicKey"])
            )
        except InvalidTag:
            raise ConfigurationError(
                f"cannot decrypt signing key {key_id!r}: wrong passphrase or tampered file",
                code="wrong_passphrase",
            ) from None
        return Ed25519Key(key_id, Ed25519PrivateKey.from_private_bytes(raw))

    def _derive(
        self, salt: bytes, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P
    ) -> bytes:
        return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(self._passphrase)

    # -- hygiene -----------------------------------------------------------------------------

    def check_permissions(self) -> None:
        """Refuse key files that group or others can read (someone copied them carelessly)."""
        for path in self.directory.iterdir():
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                raise ConfigurationError(
                    f"{path} is readable by others (mode {mode:o}); run: chmod 600 {path}",
                    code="insecure_key_permissions",
                )


def load_or_create_passphrase(data_dir: Path, configured: str | None) -> str:
    """The configured passphrase, or a generated one kept in DATA_DIR/secrets/passphrase.

    The generated file makes a zero-configuration start possible; production deployments pass
    LERNODE_KEY_PASSPHRASE (from a secret store) so the data directory alone does not unlock keys.
    """
    if configured:
        return configured
    secrets_dir = data_dir / "secrets"
    path = secrets_dir / "passphrase"
    if path.exists():
        return path.read_text().strip()
    try:
        secrets_dir.mkdir(parents=True, exist_ok=True)
        secrets_dir.chmod(0o700)
        passphrase = secrets.token_urlsafe(32)
        write_private(path, passphrase + "\n")
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write to the data directory {data_dir}: {exc.strerror}",
            code="data_dir_unwritable",
        ) from None
    return passphrase
