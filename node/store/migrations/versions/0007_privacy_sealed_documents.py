"""personal data sealed per credential: data keys, CLR part links; existing rows sealed

Every stored credential document gets a data key (`credentialkey`) and is rewritten sealed
under it; revocation/suspension reasons and the holder named in collection events are sealed
the same way; the credentials each stored CLR embeds are linked (`credentialpart`) so erasure
finds them. Already-erased credentials get no key and lose their reasons. Readers still accept
plaintext, so a partially migrated row is never unreadable. Downgrade opens everything again.

Revision ID: 0007_privacy
Revises: 0006_ver
Create Date: 2026-12-06 06:10:00
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

from node.store.sealing import (
    detail_context,
    document_context,
    is_sealed,
    new_key,
    seal,
    unseal,
)

revision = '0007_privacy'
down_revision = '0006_ver'
branch_labels = None
depends_on = None

#: Rows rewritten per round trip (bounded memory on a large table).
CHUNK = 500
#: Events whose detail a caller or a holder wrote.
PERSONAL_EVENTS = ('revoke', 'suspend', 'reinstate', 'collected', 'bound')

credential = sa.table(
    'credential', sa.column('id', sa.String), sa.column('document', sa.Text),
    sa.column('kind', sa.String),
)
credentialkey = sa.table('credentialkey', sa.column('credential_id', sa.String),
                         sa.column('key', sa.String))
credentialpart = sa.table('credentialpart', sa.column('container_id', sa.String),
                          sa.column('part_id', sa.String))
credentialevent = sa.table('credentialevent', sa.column('id', sa.Integer),
                           sa.column('credential_id', sa.String), sa.column('event', sa.String),
                           sa.column('detail', sa.String))


def upgrade() -> None:
    op.create_table('credentialkey',
    sa.Column('credential_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['credential_id'], ['credential.id'], ),
    sa.PrimaryKeyConstraint('credential_id')
    )
    op.create_table('credentialpart',
    sa.Column('container_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('part_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['container_id'], ['credential.id'], ),
    sa.ForeignKeyConstraint(['part_id'], ['credential.id'], ),
    sa.PrimaryKeyConstraint('container_id', 'part_id')
    )
    with op.batch_alter_table('credentialpart', schema=None) as batch_op:
        batch_op.create_index('ix_credentialpart_part', ['part_id'], unique=False)

    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        # ANALYZE would copy sample keys into pg_statistic, where erasure cannot reach them.
        op.execute('ALTER TABLE credentialkey ALTER COLUMN key SET STATISTICS 0')
    ids = set(bind.execute(sa.select(credential.c.id)).scalars())
    keys: dict[str, str] = {}
    last = ''
    while True:
        rows = bind.execute(
            sa.select(credential.c.id, credential.c.document, credential.c.kind)
            .where(credential.c.id > last, credential.c.document.is_not(None))
            .order_by(credential.c.id).limit(CHUNK)
        ).all()
        if not rows:
            break
        last = rows[-1][0]
        for credential_id, document, kind in rows:
            if is_sealed(document):
                continue
            key = keys[credential_id] = new_key()
            bind.execute(credentialkey.insert().values(credential_id=credential_id, key=key))
            bind.execute(
                credential.update().where(credential.c.id == credential_id)
                .values(document=seal(key, document, document_context(credential_id)))
            )
            if kind == 'ClrCredential':
                for part in sorted(set(_embedded(document)) & ids):
                    bind.execute(
                        credentialpart.insert().values(container_id=credential_id, part_id=part)
                    )

    events = bind.execute(
        sa.select(credentialevent.c.id, credentialevent.c.credential_id, credentialevent.c.detail)
        .where(credentialevent.c.event.in_(PERSONAL_EVENTS), credentialevent.c.detail != '')
    ).all()
    for event_id, credential_id, detail in events:
        if is_sealed(detail):
            continue
        key = keys.get(credential_id)
        sealed = '' if key is None else seal(key, detail, detail_context(credential_id))
        bind.execute(
            credentialevent.update().where(credentialevent.c.id == event_id).values(detail=sealed)
        )


def downgrade() -> None:
    bind = op.get_bind()
    keys = dict(bind.execute(sa.select(credentialkey.c.credential_id, credentialkey.c.key)).all())
    for credential_id, document in bind.execute(
        sa.select(credential.c.id, credential.c.document).where(credential.c.document.is_not(None))
    ).all():
        plain = unseal(keys.get(credential_id), document, document_context(credential_id))
        bind.execute(
            credential.update().where(credential.c.id == credential_id).values(document=plain)
        )
    for event_id, credential_id, detail in bind.execute(
        sa.select(credentialevent.c.id, credentialevent.c.credential_id, credentialevent.c.detail)
    ).all():
        if is_sealed(detail):
            plain = unseal(keys.get(credential_id), detail, detail_context(credential_id)) or ''
            bind.execute(
                credentialevent.update().where(credentialevent.c.id == event_id)
                .values(detail=plain)
            )
    with op.batch_alter_table('credentialpart', schema=None) as batch_op:
        batch_op.drop_index('ix_credentialpart_part')
    op.drop_table('credentialpart')
    op.drop_table('credentialkey')


def _embedded(document: str) -> list[str]:
    try:
        parsed: Any = json.loads(document)
    except ValueError:
        return []
    subject = parsed.get('credentialSubject') if isinstance(parsed, dict) else None
    items = subject.get('verifiableCredential') if isinstance(subject, dict) else None
    if not isinstance(items, list):
        return []
    return [i['id'] for i in items if isinstance(i, dict) and isinstance(i.get('id'), str)]
