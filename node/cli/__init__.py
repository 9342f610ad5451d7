"""The `lernode` command line: the node (`up`, `deploy`), its HTTP API as an institution or
an operator uses it, and the RPC-only verifier."""
