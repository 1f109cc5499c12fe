"""a member's phone number

Optional: shared through Telegram's contact button, so the team can find a member at the
counter (the pickup lists show it).

Revision ID: d9ec83802bc6
Revises: ca3df2884b35
Create Date: 2026-12-07 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d9ec83802bc6"
down_revision: str | Sequence[str] | None = "ca3df2884b35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("phone")
