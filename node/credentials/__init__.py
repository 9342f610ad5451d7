"""Pure credentials library: JSON-LD offline loading, RDFC-1.0 / JCS canonicalization, Data
Integrity EdDSA proofs, Multikey, Merkle trees, Bitstring Status Lists, OB 3.0 / CLR 2.0 builders
and format checks. No network, database or chain access: only bundled files are read, so every
result is reproducible by any verifier holding the same contexts."""
