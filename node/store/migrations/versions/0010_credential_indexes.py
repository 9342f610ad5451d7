"""credential indexes that issuing does not write to

Every issued credential paid for five secondary index entries. Three of them bought nothing:
`ix_credential_institution_id` repeats the first column of the unique (institution_id,
status_list, status_index) constraint, which serves the same lookups; `batch_id` and
`bound_from` are NULL when a credential is issued and only set values are ever looked up
(`= x`, `IN (...)`), so their indexes now hold set values only. Both databases use such a
partial index for those lookups.

Revision ID: 0010_indexes
Revises: 0009_sealed
Create Date: 2026-12-06 15:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010_indexes'
down_revision = '0009_sealed'
branch_labels = None
depends_on = None

_SET_ONLY = {'ix_credential_batch_id': 'batch_id', 'ix_credential_bound_from': 'bound_from'}


def upgrade() -> None:
    op.drop_index('ix_credential_institution_id', table_name='credential')
    for name, column in _SET_ONLY.items():
        op.drop_index(name, table_name='credential')
        where = sa.text(f'{column} IS NOT NULL')
        op.create_index(
            name, 'credential', [column], postgresql_where=where, sqlite_where=where
        )


def downgrade() -> None:
    for name, column in _SET_ONLY.items():
        op.drop_index(name, table_name='credential')
        op.create_index(name, 'credential', [column])
    op.create_index('ix_credential_institution_id', 'credential', ['institution_id'])
