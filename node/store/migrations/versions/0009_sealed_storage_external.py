"""sealed documents stored without compression attempts (PostgreSQL)

A credential's stored document is sealed (node/store/sealing.py): AES-GCM ciphertext, base64,
about 3 KB, which PostgreSQL moves out of line (TOAST) after first trying to compress it with
pglz. Ciphertext does not compress, so that attempt is wasted server CPU on every issued
credential (a few microseconds each: within the noise of a whole bulk request on a shared
machine, measurable in the server's CPU clock). EXTERNAL keeps the out-of-line storage and
skips the attempt. Values already stored are untouched (readable either way); SQLite has no such
setting, so this is a no-op there.

Revision ID: 0009_sealed
Revises: 0008_anchor
Create Date: 2026-12-06 12:40:00
"""

from __future__ import annotations

from alembic import op

revision = '0009_sealed'
down_revision = '0008_anchor'
branch_labels = None
depends_on = None


def _set_storage(storage: str) -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'ALTER TABLE credential ALTER COLUMN document SET STORAGE {storage}')


def upgrade() -> None:
    _set_storage('EXTERNAL')


def downgrade() -> None:
    _set_storage('EXTENDED')
