"""The fault tests drive real node processes through `tests.support.processes`, and get a
PostgreSQL database of their own from `postgres_url` (tests/conftest.py)."""
