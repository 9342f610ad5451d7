"""anchor refusals: one institution's refused work (reason, count, next attempt)

Revision ID: 0008_anchor
Revises: 0007_privacy
Create Date: 2026-12-06 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0008_anchor'
down_revision = '0007_privacy'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('anchorrefusal',
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('work', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('first_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
    sa.PrimaryKeyConstraint('institution_id', 'work')
    )


def downgrade() -> None:
    op.drop_table('anchorrefusal')
