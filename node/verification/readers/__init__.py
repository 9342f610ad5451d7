"""How verification reads the chain: one read model (`facts.py`), answered by the node's event
index (`indexed.py`) or by the chain in two round trips (`rpc.py`, `lens.py`)."""
