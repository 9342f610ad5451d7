"""keccak256, by the fastest backend installed.

Why not `eth_utils.keccak`: every verification hashes a credential, its Merkle leaf (twice) and
each level of its receipt's path; through eth_utils' argument checks and eth_hash's pycryptodome
backend (a ctypes call) one short hash costs ~6 µs, through safe-pysha3's C type ~0.7 µs. The
digests are the same: both are the Keccak-256 Ethereum uses (not NIST SHA3-256).
"""

from __future__ import annotations

from collections.abc import Callable

_Keccak = Callable[[bytes], bytes]


def _backend() -> _Keccak:
    try:
        from sha3 import keccak_256
    except ImportError:  # pragma: no cover - safe-pysha3 is a declared dependency
        from eth_hash.auto import keccak as slow

        return slow

    def fast(data: bytes) -> bytes:
        digest: bytes = keccak_256(data).digest()
        return digest

    return fast


keccak256: _Keccak = _backend()
