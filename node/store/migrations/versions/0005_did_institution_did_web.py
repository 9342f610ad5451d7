"""institution did:web, the DID it signs as, and the DID of each status list

Revision ID: 0005_did
Revises: 0004_reg
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0005_did'
down_revision = '0004_reg'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('institution', schema=None) as batch_op:
        batch_op.add_column(sa.Column('did_web', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(
            sa.Column(
                'signs_as',
                sqlmodel.sql.sqltypes.AutoString(),
                nullable=False,
                server_default='ethr',
            )
        )
        batch_op.create_unique_constraint('uq_institution_did_web', ['did_web'])
    with op.batch_alter_table('statuslist', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issuer', sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('statuslist', schema=None) as batch_op:
        batch_op.drop_column('issuer')
    with op.batch_alter_table('institution', schema=None) as batch_op:
        batch_op.drop_constraint('uq_institution_did_web', type_='unique')
        batch_op.drop_column('signs_as')
        batch_op.drop_column('did_web')
