"""One scratch PostgreSQL database per benchmark use, dropped afterwards.

Why a database of its own: others use the same server at the same time, and the scale section
loads a million rows that must not linger.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url


def _conninfo(sqlalchemy_url: str) -> str:
    url = make_url(sqlalchemy_url)
    parts = [f"host={url.host or '127.0.0.1'}", f"port={url.port or 5432}"]
    parts.append(f"user={url.username or 'postgres'}")
    if url.password:
        parts.append(f"password={url.password}")
    parts.append(f"dbname={url.database or 'postgres'}")
    return " ".join(parts)


def describe(admin_url: str) -> str | None:
    """The server's version line, or None when it cannot be reached (the sections then skip
    PostgreSQL and say so)."""
    try:
        import psycopg

        with psycopg.connect(_conninfo(admin_url), connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return f"PostgreSQL {row[0]}" if row else None
    except Exception:
        return None


@contextmanager
def scratch_database(admin_url: str, label: str) -> Iterator[str]:
    """Create `lernode_bench_<label>_<pid>`, yield its SQLAlchemy URL, drop it (WITH FORCE: a
    pooled connection left open must not keep it alive)."""
    import psycopg

    name = f"lernode_bench_{label}_{os.getpid()}"
    with psycopg.connect(_conninfo(admin_url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_conninfo(admin_url), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
