"""2-bit status lists (status_size) and the institution logo (image_url)

Existing status lists are the 1-bit revocation/suspension pairs: they get status_size 1, so
they keep being served as before but new credentials are allocated in new 2-bit lists.

Revision ID: 0003_cred
Revises: 0002_wallet
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0003_cred'
down_revision = '0002_wallet'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('statuslist', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('status_size', sa.Integer(), nullable=False, server_default='1')
        )
    with op.batch_alter_table('institution', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('image_url', sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('institution', schema=None) as batch_op:
        batch_op.drop_column('image_url')
    with op.batch_alter_table('statuslist', schema=None) as batch_op:
        batch_op.drop_column('status_size')
